//! The sync channel's socket: an AF_UNIX SOCK_SEQPACKET pair, so that each
//! message arrives whole and a peer's exit reads as end-of-file.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::{check, check_long, retry, Result};

/// A connected, close-on-exec SOCK_SEQPACKET pair.
pub fn seqpacket_pair() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid out-array of two ints.
    let ret = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    check(ret, "socketpair")?;
    // SAFETY: socketpair succeeded, so both fds are new and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Whether the peer of a connected socket has closed its end (checked
/// without waiting or consuming anything).
pub fn peer_closed(fd: BorrowedFd<'_>) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: `p` is one valid pollfd for the call; a zero timeout never blocks.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & (libc::POLLHUP | libc::POLLRDHUP | libc::POLLERR) != 0
}

/// Sends one message.
pub fn send(fd: BorrowedFd<'_>, msg: &[u8]) -> Result<()> {
    retry(|| {
        // SAFETY: `msg` is readable for its length; `fd` is live for the call.
        let n = unsafe {
            libc::send(
                fd.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        check_long(n as libc::c_long, "send").map(drop)
    })
}

/// Receives one message into `buf`; 0 bytes means the peer is gone.
pub fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize> {
    retry(|| {
        // SAFETY: `buf` is writable for its length; `fd` is live for the call.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        check_long(n as libc::c_long, "recv").map(|n| n as usize)
    })
}
