//! Regression tests named after the CVEs of other runtimes that corten's
//! design must rule out.

mod common;

use std::fs;
use std::io::Write;

use common::*;

/// CVE-2019-5736: a container that reaches the runtime binary through
/// /proc/PID/exe (its own init before execve, or a parked init in a shared
/// pid namespace) must not be able to overwrite it. corten's inits run from
/// a read-only detached bind mount of the binary (or a sealed memfd copy):
/// not even root on the host can write it through /proc/PID/exe.
#[test]
fn cve_2019_5736_init_exe_cannot_be_written() {
    if is_runc() {
        return;
    }
    let mut b = Bundle::new("cve5736");
    b.set_args(&["true"]);
    let id = b.id();
    b.create(&id).ok();
    let pid = b.state(&id)["pid"].as_i64().unwrap();
    let exe = format!("/proc/{pid}/exe");
    // The attack's shape: hold the binary open, wait until no process
    // executes it any more (no ETXTBSY), then write through the fd.
    let held = fs::File::open(&exe).unwrap();
    b.start(&id);
    b.wait_status(&id, "stopped");
    let again = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&held));
    // A read-only detached mount refuses the open (EROFS); a sealed memfd,
    // the fallback, lets the open through and refuses the write (EPERM).
    let written = fs::OpenOptions::new()
        .write(true)
        .open(&again)
        .and_then(|mut f| f.write_all(b"#!/bin/sh\necho pwned\n"));
    let err = written.expect_err("the init's binary must not be writable");
    assert!(
        matches!(err.raw_os_error(), Some(libc::EROFS | libc::EPERM)),
        "refused as read-only or sealed: {err}"
    );
    b.delete(&id);
    b.assert_clean(&id);
}
