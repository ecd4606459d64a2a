//! process.terminal with --console-socket: a pty from the container's
//! devpts, its master sent to the caller, its other end the process's
//! controlling terminal, stdio and (for the init) /dev/console.

mod common;

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::thread::JoinHandle;

use common::*;
use serde_json::json;

/// Accepts one connection on `sock` and returns the descriptor it carries.
fn console_receiver(sock: PathBuf) -> JoinHandle<OwnedFd> {
    let listener = UnixListener::bind(&sock).unwrap();
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 256];
        let (_, fd) = sys::socket::recv_with_fd(conn.as_fd(), &mut buf).unwrap();
        fd.expect("the pty master")
    })
}

/// Everything the terminal printed, until its last user closed it.
fn read_all(master: OwnedFd) -> String {
    let mut f = std::fs::File::from(master);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // EIO: the other end is closed.
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).replace("\r\n", "\n")
}

/// Creates `id` with a console socket, starts it and returns what its
/// terminal printed until the init ended.
fn init_terminal_output(b: &Bundle, id: &str) -> String {
    let sock = b.root.join("console.sock");
    let _ = std::fs::remove_file(&sock);
    let receiver = console_receiver(sock.clone());
    b.corten(&[
        "create",
        "--console-socket",
        sock.to_str().unwrap(),
        "--bundle",
        &b.dir_str(),
        id,
    ])
    .ok();
    let master = receiver.join().unwrap();
    b.start(id);
    let out = read_all(master);
    b.wait_status(id, "stopped");
    out
}

#[test]
fn the_init_gets_a_pty_from_the_console_socket_with_its_size() {
    let mut b = Bundle::new("tty-init");
    b.config_mut(|c| {
        c["process"]["terminal"] = json!(true);
        c["process"]["consoleSize"] = json!({"height": 30, "width": 100});
    });
    b.set_sh(
        "stty size; tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo stdio-is-tty; \
         grep -c ' /dev/console ' /proc/self/mountinfo; ps -o tty= -p $$ 2>/dev/null; exit 3",
    );
    let id = b.id();
    let out = init_terminal_output(&b, &id);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"30 100"), "consoleSize: {out}");
    assert!(
        lines.get(1).is_some_and(|l| l.starts_with("/dev/pts/")),
        "tty: {out}"
    );
    assert_eq!(lines.get(2), Some(&"stdio-is-tty"), "{out}");
    assert_eq!(lines.get(3), Some(&"1"), "/dev/console is bound: {out}");
    b.delete(&id);
    b.assert_clean(&id);
}

/// Runs `sh -c script` in `id` with `exec -t -d` and `flags` and returns
/// what its terminal printed. A console socket goes with a detached exec,
/// as runc requires.
fn exec_terminal_output(b: &Bundle, id: &str, flags: &[&str], script: &str) -> String {
    let sock = b.root.join("exec-console.sock");
    let _ = std::fs::remove_file(&sock);
    let receiver = console_receiver(sock.clone());
    let mut args = vec![
        "exec",
        "-t",
        "-d",
        "--console-socket",
        sock.to_str().unwrap(),
    ];
    args.extend_from_slice(flags);
    args.extend([id, "sh", "-c", script]);
    b.corten(&args).ok();
    read_all(receiver.join().unwrap())
}

#[test]
fn exec_tty_gets_its_own_pty() {
    let mut b = Bundle::new("tty-exec");
    b.set_args(&[PROBE, "wait-signal"]);
    let id = b.id();
    b.create(&id);
    b.start(&id);
    let printed = exec_terminal_output(&b, &id, &[], "tty; [ -t 0 ] && echo stdin-is-tty");
    let lines: Vec<&str> = printed.lines().collect();
    assert!(
        lines.first().is_some_and(|l| l.starts_with("/dev/pts/")),
        "{printed}"
    );
    assert_eq!(lines.get(1), Some(&"stdin-is-tty"), "{printed}");
    b.delete_force(&id);
    b.assert_clean(&id);
}

#[test]
fn terminal_and_console_socket_go_together() {
    let mut b = Bundle::new("tty-rules");
    let create = |b: &Bundle, id: &str, flags: &[&str]| {
        let dir = b.dir_str();
        let mut args = vec!["create"];
        args.extend_from_slice(flags);
        args.extend(["--bundle", &dir, id]);
        b.corten(&args)
    };
    b.config_mut(|c| c["process"]["terminal"] = json!(true));
    let id = b.id();
    create(&b, &id, &[]).fails_with(
        1,
        "cannot allocate tty if runc will detach without setting console socket",
    );
    b.assert_clean(&id);
    b.config_mut(|c| c["process"]["terminal"] = json!(false));
    let sock = b.root.join("unused.sock");
    create(&b, &id, &["--console-socket", sock.to_str().unwrap()]).fails_with(
        1,
        "cannot use console socket if runc will not detach or allocate tty",
    );
    b.assert_clean(&id);
    // A foreground run joins the caller's terminal: a console socket is
    // refused there too.
    b.config_mut(|c| c["process"]["terminal"] = json!(true));
    let dir = b.dir_str();
    b.corten(&[
        "run",
        "--console-socket",
        sock.to_str().unwrap(),
        "-b",
        &dir,
        &id,
    ])
    .fails_with(
        1,
        "cannot use console socket if runc will not detach or allocate tty",
    );
    b.assert_clean(&id);
    // A console socket nobody listens on: the create fails and is undone.
    b.config_mut(|c| c["process"]["terminal"] = json!(true));
    create(&b, &id, &["--console-socket", sock.to_str().unwrap()]).fails_with(1, "unused.sock");
    b.assert_clean(&id);
}

/// Runs `corten ARGS` under script(1), which gives it a terminal of its
/// own, with `input` typed into it; returns (status, what it printed).
fn under_a_terminal(b: &Bundle, args: &[&str], input: &str) -> (i32, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut cmd = format!("{} --root {}", bin().display(), b.root_str());
    for a in args {
        cmd.push_str(&format!(" '{a}'"));
    }
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        // After the container is up and reading.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let _ = stdin.write_all(input.as_bytes());
        std::thread::sleep(std::time::Duration::from_secs(3));
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
    )
}

#[test]
fn foreground_run_and_exec_attach_the_callers_terminal() {
    let mut b = Bundle::new("tty-fg");
    b.config_mut(|c| c["process"]["terminal"] = json!(true));
    b.set_sh("tty; read x; echo got=$x; exit 4");
    let id = b.id();
    let (status, out) = under_a_terminal(&b, &["run", "--bundle", &b.dir_str(), &id], "hello\n");
    assert_eq!(status, 4, "{out}");
    assert!(out.contains("/dev/pts/"), "{out}");
    assert!(out.contains("got=hello"), "{out}");
    b.assert_clean(&id);
    // exec -t in the foreground, in a container without a terminal.
    b.config_mut(|c| c["process"]["terminal"] = json!(false));
    b.set_args(&[PROBE, "wait-signal"]);
    let id = b.id();
    b.create(&id);
    b.start(&id);
    let (status, out) = under_a_terminal(
        &b,
        &[
            "exec",
            "-t",
            &id,
            "sh",
            "-c",
            "tty; read y; echo exec-got=$y; exit 6",
        ],
        "world\n",
    );
    assert_eq!(status, 6, "{out}");
    assert!(out.contains("exec-got=world"), "{out}");
    b.delete_force(&id);
    b.assert_clean(&id);
}

/// CVE-2025-52565's class: an image (no /dev mount of the config's) whose
/// /dev/console is a symlink to a file the pty bind would then cover, here
/// /proc/sys/kernel/core_pattern. The console must be a file of the
/// container's own, the pty attached by descriptor.
#[test]
fn dev_console_that_is_a_symlink_is_refused() {
    if skip_if_runc("runc 1.1.5 predates the CVE-2025-52565 fix") {
        return;
    }
    let mut b = Bundle::new("tty-consolelink");
    let dev = b.rootfs.join("dev");
    let _ = std::fs::remove_dir_all(&dev);
    std::fs::create_dir_all(&dev).unwrap();
    std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", dev.join("console")).unwrap();
    b.config_mut(|c| {
        c["process"]["terminal"] = json!(true);
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["destination"] != "/dev");
    });
    let sock = b.root.join("console.sock");
    let _listener = UnixListener::bind(&sock).unwrap();
    let id = b.id();
    b.corten(&[
        "create",
        "--console-socket",
        sock.to_str().unwrap(),
        "--bundle",
        &b.dir_str(),
        &id,
    ])
    .fails_with(1, "/dev/console");
    b.assert_clean(&id);
}

/// Owner and mode of the process's terminal, as `uid:gid mode`.
const TTY_OWNER: &str = "stat -c '%u:%g %a' $(tty); exit 0";

#[test]
fn terminal_belongs_to_the_process_user() {
    let mut b = Bundle::new("tty-owner");
    b.config_mut(|c| {
        c["process"]["terminal"] = json!(true);
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [5]});
    });
    b.set_sh(TTY_OWNER);
    let id = b.id();
    let init = init_terminal_output(&b, &id);
    b.delete(&id);

    b.config_mut(|c| c["process"]["terminal"] = json!(false));
    b.set_args(&[PROBE, "wait-signal"]);
    b.create(&id);
    b.start(&id);
    let exec = exec_terminal_output(&b, &id, &["--user", "1001:1002"], TTY_OWNER);
    // The group is devpts' (gid=5, tty), as runc leaves it.
    assert_eq!(init.trim(), "1000:5 620", "the init's terminal");
    assert_eq!(exec.trim(), "1001:5 620", "the exec process's terminal");
    b.delete_force(&id);
    b.assert_clean(&id);
}
