//! Handing a descriptor to a caller's unix socket, as runc does for the
//! console (the pty master), the pidfd socket and the seccomp agent: one
//! connection, one message, the descriptor attached with SCM_RIGHTS.

use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use crate::error::{Context, Error};

/// Connects to `socket` and sends `payload` with `fd`; `what` names the
/// receiver in errors ("the console socket").
pub fn send_fd(socket: &Path, what: &str, payload: &[u8], fd: BorrowedFd<'_>) -> Result<(), Error> {
    let conn = UnixStream::connect(socket).map_err(|source| Error::Io {
        context: format!("connecting to {what} {}", socket.display()),
        source,
    })?;
    sys::socket::send_with_fd(conn.as_fd(), payload, fd)
        .with_context(|| format!("sending a descriptor to {what} {}", socket.display()))
}

/// `--pidfd-socket`: a pidfd of `pid`, which cannot be confused with a
/// process that reuses the pid.
pub fn send_pidfd(socket: &Path, pid: i32) -> Result<(), Error> {
    let pidfd = sys::process::pidfd_open(pid).context("pidfd_open")?;
    send_fd(socket, "the pidfd socket", b"pidfd", pidfd.as_fd())
}
