//! `probe`: runs inside a container and reports what the process really sees.
//!
//! Subcommands (argv[1]):
//!
//! | command              | does                                                            |
//! |----------------------|-----------------------------------------------------------------|
//! | `report`             | prints one JSON object (ids, namespaces, mounts, fds, caps, ...) |
//! | `exit N`             | exits with status N                                             |
//! | `wait-signal`        | prints `ready`, waits for TERM/INT/HUP/USR1/USR2/QUIT, prints `signal N`, exits 100+N |
//! | `sleep SECS`         | sleeps (default signal actions, so SIGTERM kills it)            |
//! | `stat PATH`          | prints lstat(2) of PATH as JSON                                 |
//! | `cat PATH`           | prints the file                                                 |
//! | `write PATH TEXT`    | creates/truncates PATH and writes TEXT                          |
//! | `ls PATH`            | prints the directory's entries, sorted, one a line              |
//!
//! Unknown subcommand or bad arguments: message on stderr, exit 2.
//!
//! The binary is built with `#![no_main]`: Rust's usual start-up code would set
//! SIGPIPE to SIG_IGN (visible in `SigIgn`) and reopen closed fds 0-2 on
//! /dev/null (visible in `fds`, and fatal in a rootfs without /dev/null),
//! which would hide exactly what the probe is meant to see. It must also work
//! statically linked and in an empty rootfs, so it does no NSS lookups.

#![cfg_attr(not(test), no_main)]

mod mountinfo;
mod report;
mod sys;

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

/// The C entry point; see the module docs for why std's `main` is not used.
/// std::env::args_os still works: on Linux std records argv from `.init_array`.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    let args: Vec<OsString> = std::env::args_os().collect();
    let code = run(&args);
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

const USAGE: &str =
    "usage: probe report | exit N | wait-signal | sleep SECS | stat PATH | cat PATH \
                     | write PATH TEXT | ls PATH | syscall NR [ARG...]";

fn usage_error(msg: &str) -> i32 {
    eprintln!("probe: {msg}\n{USAGE}");
    2
}

fn fail(what: &str, path: &Path, e: std::io::Error) -> i32 {
    eprintln!("probe: {what} {}: {e}", path.display());
    1
}

fn print_json(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

fn run(args: &[OsString]) -> i32 {
    let cmd = args.get(1).map(|a| a.to_string_lossy().into_owned());
    let rest = args.get(2..).unwrap_or(&[]);
    let path = rest.first().map(Path::new);
    match (cmd.as_deref(), rest.len()) {
        (Some("report"), 0) => {
            print_json(&report::report());
            0
        }
        (Some("exit"), 1) => match rest[0].to_str().and_then(|s| s.parse::<i32>().ok()) {
            Some(n) => n,
            None => usage_error("exit: N must be an integer"),
        },
        (Some("wait-signal"), 0) => wait_signal(),
        (Some("sleep"), 1) => match rest[0].to_str().and_then(|s| s.parse::<f64>().ok()) {
            Some(secs) if secs.is_finite() && secs >= 0.0 => {
                std::thread::sleep(Duration::from_secs_f64(secs));
                0
            }
            _ => usage_error("sleep: SECS must be a non-negative number"),
        },
        (Some("stat"), 1) => stat(path.unwrap_or(Path::new(""))),
        (Some("cat"), 1) => {
            let p = path.unwrap_or(Path::new(""));
            match std::fs::read(p) {
                Ok(data) => {
                    let mut out = std::io::stdout().lock();
                    match out.write_all(&data).and_then(|()| out.flush()) {
                        Ok(()) => 0,
                        Err(e) => fail("cat: writing", Path::new("stdout"), e),
                    }
                }
                Err(e) => fail("cat:", p, e),
            }
        }
        (Some("write"), 2) => {
            let p = path.unwrap_or(Path::new(""));
            match std::fs::write(p, rest[1].as_bytes()) {
                Ok(()) => 0,
                Err(e) => fail("write:", p, e),
            }
        }
        (Some("ls"), 1) => ls(path.unwrap_or(Path::new(""))),
        (Some("syscall"), 1..=7) => syscall(rest),
        (
            Some(
                c @ ("report" | "exit" | "wait-signal" | "sleep" | "stat" | "cat" | "write" | "ls"
                | "syscall"),
            ),
            _,
        ) => usage_error(&format!("{c}: wrong number of arguments")),
        (Some(c), _) => usage_error(&format!("unknown subcommand {c:?}")),
        (None, _) => usage_error("missing subcommand"),
    }
}

fn wait_signal() -> i32 {
    let signals = [
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGQUIT,
    ];
    let ready = || {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(b"ready\n");
        let _ = out.flush();
    };
    match sys::wait_for_signal(&signals, ready) {
        Ok(sig) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "signal {sig}");
            let _ = out.flush();
            100 + sig
        }
        Err(e) => {
            eprintln!("probe: wait-signal: {e}");
            1
        }
    }
}

fn stat(path: &Path) -> i32 {
    match std::fs::symlink_metadata(path) {
        Ok(md) => {
            let mut m = report::stat_json(path, &md);
            m.insert("exists".into(), json!(true));
            print_json(&Value::Object(m));
            0
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            print_json(&json!({
                "exists": false, "kind": null, "mode": null, "uid": null, "gid": null,
                "major": null, "minor": null, "size": null, "link": null,
            }));
            0
        }
        Err(e) => fail("stat:", path, e),
    }
}

fn ls(path: &Path) -> i32 {
    let entries = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) => return fail("ls:", path, e),
    };
    let mut names = Vec::new();
    for e in entries {
        match e {
            Ok(e) => names.push(e.file_name()),
            Err(e) => return fail("ls:", path, e),
        }
    }
    names.sort();
    let mut out = std::io::stdout().lock();
    for n in names {
        let _ = out.write_all(n.as_bytes());
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
    0
}

/// `syscall NR [ARG...]`: makes the raw call and prints
/// {"ret": N} or {"errno": N}, so tests see what a seccomp filter decided.
fn syscall(args: &[OsString]) -> i32 {
    let parse = |a: &OsString| {
        let s = a.to_string_lossy();
        match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => s.parse::<u64>().ok(),
        }
    };
    let Some(nr) = parse(&args[0]) else {
        return usage_error("syscall: NR must be a number");
    };
    let mut call = [0u64; 6];
    for (slot, a) in call.iter_mut().zip(&args[1..]) {
        match parse(a) {
            Some(v) => *slot = v,
            None => return usage_error("syscall: arguments must be numbers"),
        }
    }
    match sys::raw_syscall(nr as libc::c_long, call) {
        Ok(ret) => print_json(&json!({ "ret": ret })),
        Err(errno) => print_json(&json!({ "errno": errno })),
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_str(args: &[&str]) -> i32 {
        let v: Vec<OsString> = std::iter::once("probe")
            .chain(args.iter().copied())
            .map(Into::into)
            .collect();
        run(&v)
    }

    #[test]
    fn dispatch() {
        assert_eq!(run_str(&["exit", "7"]), 7);
        assert_eq!(run_str(&["exit"]), 2);
        assert_eq!(run_str(&["exit", "x"]), 2);
        assert_eq!(run_str(&["bogus"]), 2);
        assert_eq!(run_str(&[]), 2);
        assert_eq!(run_str(&["cat", "/nonexistent/x"]), 1);
    }
}
