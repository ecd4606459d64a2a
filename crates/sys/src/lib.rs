//! Every system call corten makes goes through this crate.
//!
//! Each wrapper names the operation (and the path, where there is one) in its
//! error, takes and returns owned or borrowed file descriptors, and retries
//! `EINTR` where the call allows it. `unsafe` lives here and nowhere else: each
//! block states the invariant that makes it sound.

pub mod bpf;
pub mod caps;
mod error;
pub mod fs;
pub mod mount;
pub mod netlink;
pub mod ns;
pub mod process;
pub mod procfs;
pub mod sched;
pub mod seccomp;
pub mod signal;
pub mod socket;
pub mod tty;

pub use error::{Error, Result};

/// The C `errno` value of the last failed libc call on this thread.
fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Turns a libc return value into a `Result`, capturing `errno` for `-1`.
fn check(ret: libc::c_int, op: &'static str) -> Result<libc::c_int> {
    if ret == -1 {
        Err(Error::new(op, last_errno()))
    } else {
        Ok(ret)
    }
}

/// Like [`check`] for calls made through `libc::syscall`, which return `c_long`.
fn check_long(ret: libc::c_long, op: &'static str) -> Result<libc::c_long> {
    if ret == -1 {
        Err(Error::new(op, last_errno()))
    } else {
        Ok(ret)
    }
}

/// Retries `f` while it fails with `EINTR`.
fn retry<T>(mut f: impl FnMut() -> Result<T>) -> Result<T> {
    loop {
        match f() {
            Err(e) if e.errno() == libc::EINTR => continue,
            other => return other,
        }
    }
}
