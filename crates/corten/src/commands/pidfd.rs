//! `--pidfd-socket`: a pidfd of the new process, sent over a unix socket
//! (SCM_RIGHTS), for callers that must not confuse it with a reused pid.

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use lifecycle::Error;

pub fn send(socket: &Path, pid: i32) -> Result<(), Error> {
    let pidfd = sys::process::pidfd_open(pid).map_err(|source| Error::Sys {
        context: "pidfd_open".into(),
        source,
    })?;
    let conn = UnixStream::connect(socket).map_err(|source| Error::Io {
        context: format!("connecting to the pidfd socket {}", socket.display()),
        source,
    })?;
    sys::socket::send_with_fd(conn.as_fd(), b"pidfd", pidfd.as_fd()).map_err(|source| Error::Sys {
        context: format!("sending a pidfd to {}", socket.display()),
        source,
    })
}
