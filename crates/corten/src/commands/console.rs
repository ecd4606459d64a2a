//! A foreground `run` or `exec` with a terminal and no console socket: the
//! caller's own terminal is joined to the pty (raw mode, window size,
//! signals passed on) until the process exits.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

use sys::signal::SigSet;

/// Copies between the caller's stdio and the pty master, forwards every
/// signal but SIGCHLD and SIGWINCH to `pid` (signals are blocked by the
/// caller), and returns `pid`'s exit status.
pub fn attach_and_wait(pid: i32, master: OwnedFd) -> sys::Result<i32> {
    let stdin = std::io::stdin();
    let stdin_tty = sys::tty::is_terminal(stdin.as_fd());
    // The caller's terminal goes raw, so keys reach the container as typed;
    // restored however this ends.
    let _raw = stdin_tty
        .then(|| sys::tty::make_raw(stdin.as_fd()).ok())
        .flatten()
        .map(|attrs| RawGuard { attrs });
    copy_size(&master);
    let signals = sys::signal::signalfd(&SigSet::all())?;
    // Keys typed go to the master through a File of its own (one dup).
    let mut to_master = std::fs::File::from(sys::fs::dup_at_least(master.as_fd(), 3)?);
    let mut stdin_open = true;
    let mut master_open = true;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut fds = vec![signals.as_fd()];
        if master_open {
            fds.push(master.as_fd());
        }
        if stdin_open {
            fds.push(stdin.as_fd());
        }
        let ready = sys::signal::poll_readable(&fds, -1)?;
        if ready[0] {
            while let Some(sig) = sys::signal::read_signalfd(signals.as_fd())? {
                match sig {
                    libc::SIGCHLD => {
                        if let Some(status) = super::wait::reap(pid)? {
                            drain(&master, &mut buf);
                            return Ok(status);
                        }
                    }
                    libc::SIGWINCH => copy_size(&master),
                    sig => {
                        let _ = sys::process::kill(pid, sig);
                    }
                }
            }
        }
        let mut i = 1;
        if master_open {
            if ready[i] {
                master_open = pump(master.as_fd(), &mut std::io::stdout(), &mut buf);
            }
            i += 1;
        }
        if stdin_open && ready[i] {
            stdin_open = pump(stdin.as_fd(), &mut to_master, &mut buf);
        }
    }
}

/// One read from `from`, written whole to `to`; false once `from` is done.
fn pump(from: std::os::fd::BorrowedFd<'_>, to: &mut impl Write, buf: &mut [u8]) -> bool {
    match sys::fs::read(from, buf) {
        Ok(0) => false,
        Ok(n) => {
            let _ = to.write_all(&buf[..n]).and_then(|()| to.flush());
            true
        }
        // EIO: the pty's last user closed it.
        Err(e) => e.errno() == libc::EAGAIN || e.errno() == libc::EINTR,
    }
}

/// What is still buffered in the pty once the process is gone.
fn drain(master: &OwnedFd, buf: &mut [u8]) {
    let mut out = std::io::stdout();
    while sys::signal::poll_readable(&[master.as_fd()], 0)
        .map(|r| r[0])
        .unwrap_or(false)
    {
        if !pump(master.as_fd(), &mut out, buf) {
            break;
        }
    }
}

/// The caller's window size, onto the pty.
fn copy_size(master: &OwnedFd) {
    let out = std::io::stdout();
    if let Ok((rows, cols)) = sys::tty::size(out.as_fd()) {
        let _ = sys::tty::set_size(master.as_fd(), rows, cols);
    }
}

struct RawGuard {
    attrs: sys::tty::Attrs,
}

impl Drop for RawGuard {
    fn drop(&mut self) {
        let _ = sys::tty::restore(std::io::stdin().as_fd(), &self.attrs);
    }
}
