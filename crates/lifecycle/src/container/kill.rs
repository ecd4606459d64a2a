//! `kill`: signal a container's init, or all its processes.

use std::collections::HashMap;

use crate::error::Error;
use crate::state::{Status, Store};

/// Signals container `id`. With `all`, every descendant of the init too.
pub fn kill(store: &Store, id: &str, signal: i32, all: bool) -> Result<(), Error> {
    let state = store.read(id)?;
    let status = crate::state::status_of(&store.dir(id), state.as_ref());
    let state = match (status, state) {
        (Status::Created | Status::Running | Status::Paused, Some(s)) => s,
        // runc: --all reaches what is left in the cgroup of a stopped
        // container (a shared pid namespace's other processes, which
        // containerd's shim signals once the main process has exited).
        (Status::Stopped, Some(s)) if all => {
            if let Some(p) = &s.cgroup {
                for pid in crate::cgroup::procs(p).unwrap_or_default() {
                    let _ = sys::process::kill(pid, signal);
                }
            }
            return Ok(());
        }
        _ => return Err(Error::NotRunning),
    };
    if all {
        // Every process of the cgroup, or without one the init's
        // descendants (children first, so a parent cannot refill the list).
        let pids = match &state.cgroup {
            Some(p) => crate::cgroup::procs(p)?,
            None => descendants(state.init_pid).into_iter().rev().collect(),
        };
        for pid in pids.into_iter().filter(|p| *p != state.init_pid) {
            let _ = sys::process::kill(pid, signal);
        }
    }
    match sys::process::kill(state.init_pid, signal) {
        Err(e) if e.errno() == libc::ESRCH => Err(Error::NotRunning),
        other => other.map_err(|source| Error::Sys {
            context: "kill".into(),
            source,
        }),
    }
}

/// Every descendant of `pid`, parents before children.
pub(crate) fn descendants(pid: i32) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if let Some(ppid) = rest
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<i32>().ok())
        {
            children.entry(ppid).or_default().push(p);
        }
    }
    let mut out = Vec::new();
    let mut queue = vec![pid];
    while let Some(p) = queue.pop() {
        for &c in children.get(&p).into_iter().flatten() {
            out.push(c);
            queue.push(c);
        }
    }
    out
}

/// Parses a signal as runc does: a number, or a name with or without "SIG".
pub fn parse_signal(s: &str) -> Result<i32, Error> {
    if let Ok(n) = s.parse::<i32>() {
        // 0 checks that the init exists, as kill(1).
        if (0..=64).contains(&n) {
            return Ok(n);
        }
        return Err(Error::Config(format!("invalid signal {s:?}")));
    }
    let name = s.to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    let n = match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ILL" => libc::SIGILL,
        "TRAP" => libc::SIGTRAP,
        "ABRT" | "IOT" => libc::SIGABRT,
        "BUS" => libc::SIGBUS,
        "FPE" => libc::SIGFPE,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "SEGV" => libc::SIGSEGV,
        "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE,
        "ALRM" => libc::SIGALRM,
        "TERM" => libc::SIGTERM,
        "STKFLT" => libc::SIGSTKFLT,
        "CHLD" | "CLD" => libc::SIGCHLD,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        "TSTP" => libc::SIGTSTP,
        "TTIN" => libc::SIGTTIN,
        "TTOU" => libc::SIGTTOU,
        "URG" => libc::SIGURG,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        "VTALRM" => libc::SIGVTALRM,
        "PROF" => libc::SIGPROF,
        "WINCH" => libc::SIGWINCH,
        "IO" | "POLL" => libc::SIGIO,
        "PWR" => libc::SIGPWR,
        "SYS" => libc::SIGSYS,
        _ => return parse_rt(name).ok_or_else(|| Error::Config(format!("unknown signal {s:?}"))),
    };
    Ok(n)
}

/// RTMIN, RTMIN+N, RTMAX-N.
fn parse_rt(name: &str) -> Option<i32> {
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    // Checked: "RTMIN+2147483647" must be an unknown signal, not an overflow.
    let n = if let Some(rest) = name.strip_prefix("RTMIN") {
        min.checked_add(if rest.is_empty() {
            0
        } else {
            rest.strip_prefix('+')?.parse::<i32>().ok()?
        })?
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        max.checked_sub(if rest.is_empty() {
            0
        } else {
            rest.strip_prefix('-')?.parse::<i32>().ok()?
        })?
    } else {
        return None;
    };
    (min..=max).contains(&n).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("KILL").unwrap(), 9);
        assert_eq!(parse_signal("SIGTERM").unwrap(), 15);
        assert_eq!(parse_signal("sigusr1").unwrap(), libc::SIGUSR1);
        assert_eq!(parse_signal("RTMIN+1").unwrap(), libc::SIGRTMIN() + 1);
        assert!(parse_signal("NOPE").is_err());
        assert_eq!(parse_signal("0").unwrap(), 0);
        assert!(parse_signal("-1").is_err());
        assert!(parse_signal("65").is_err());
    }

    /// RTMIN plus a huge offset overflowed i32: a panic (an abort of
    /// `corten kill`) in a debug build.
    #[test]
    fn rtmin_plus_a_huge_offset_is_unknown_not_an_overflow() {
        assert!(parse_signal("RTMIN+2147483647").is_err());
        assert!(parse_signal("SIGRTMAX--2147483648").is_err());
        assert_eq!(parse_signal("RTMAX-1").unwrap(), libc::SIGRTMAX() - 1);
    }

    #[test]
    fn descendants_finds_a_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let d = descendants(std::process::id() as i32);
        assert!(d.contains(&(child.id() as i32)));
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
