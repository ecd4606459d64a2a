//! The sync channel's socket: an AF_UNIX SOCK_SEQPACKET pair, so that each
//! message arrives whole and a peer's exit reads as end-of-file; and what
//! the D-Bus client needs of its stream socket.

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

/// How many bytes written to a stream socket its peer has not read yet
/// (SIOCOUTQ): zero once the peer has taken everything sent.
pub fn unread_output(fd: BorrowedFd<'_>) -> Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ writes one int through the pointer, which is valid
    // and lives for the call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCOUTQ, &mut n as *mut libc::c_int) };
    check(ret, "ioctl(SIOCOUTQ)")?;
    Ok(usize::try_from(n).unwrap_or(0))
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

/// Room for one descriptor's control message.
#[repr(C)]
union OneFdCmsg {
    buf: [u8; 24],
    _align: libc::cmsghdr,
}

/// Sends one message carrying `passed` as SCM_RIGHTS.
pub fn send_with_fd(fd: BorrowedFd<'_>, msg: &[u8], passed: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
    let mut cmsg = OneFdCmsg { buf: [0; 24] };
    debug_assert!(space <= std::mem::size_of::<OneFdCmsg>());
    let mut iov = libc::iovec {
        iov_base: msg.as_ptr() as *mut libc::c_void,
        iov_len: msg.len(),
    };
    // SAFETY: an all-zero msghdr is a valid empty header.
    let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
    hdr.msg_iov = &mut iov;
    hdr.msg_iovlen = 1;
    // SAFETY: the union's bytes are plain data, and `cmsg` outlives `hdr`.
    hdr.msg_control = unsafe { cmsg.buf.as_mut_ptr() }.cast();
    hdr.msg_controllen = space;
    // SAFETY: `hdr` has a control buffer of `space` bytes, room for one
    // header and one int, so CMSG_FIRSTHDR is non-null and CMSG_DATA is
    // inside the buffer.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&hdr);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>(), passed.as_raw_fd());
    }
    retry(|| {
        // SAFETY: `hdr` points at `iov` (over `msg`) and `cmsg`, all live
        // for the call; the kernel only reads them.
        let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &hdr, libc::MSG_NOSIGNAL) };
        check_long(n as libc::c_long, "sendmsg").map(drop)
    })
}

/// Receives one message into `buf`, and the descriptor it carries if any
/// (close-on-exec). 0 bytes and no descriptor means the peer is gone.
pub fn recv_with_fd(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<(usize, Option<OwnedFd>)> {
    let mut cmsg = OneFdCmsg { buf: [0; 24] };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid empty header.
    let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
    hdr.msg_iov = &mut iov;
    hdr.msg_iovlen = 1;
    // SAFETY: the union's bytes are plain data, and `cmsg` outlives `hdr`.
    hdr.msg_control = unsafe { cmsg.buf.as_mut_ptr() }.cast();
    hdr.msg_controllen = std::mem::size_of::<OneFdCmsg>();
    let n = retry(|| {
        // SAFETY: `hdr` points at `iov` (over `buf`) and `cmsg`, writable
        // and live for the call.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut hdr, libc::MSG_CMSG_CLOEXEC) };
        check_long(n as libc::c_long, "recvmsg").map(|n| n as usize)
    })?;
    let mut passed = Vec::new();
    // SAFETY: the kernel filled `hdr`'s control buffer; CMSG_FIRSTHDR and
    // CMSG_NXTHDR stay within msg_controllen, and each int of an
    // SCM_RIGHTS payload (cmsg_len past the header) is a descriptor the
    // kernel just installed for us, which we now own.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&hdr);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c);
                let header = data.offset_from(c.cast::<u8>()) as usize;
                let count = ((*c).cmsg_len as usize).saturating_sub(header)
                    / std::mem::size_of::<libc::c_int>();
                for i in 0..count {
                    let raw = std::ptr::read_unaligned(data.cast::<libc::c_int>().add(i));
                    passed.push(OwnedFd::from_raw_fd(raw));
                }
            }
            c = libc::CMSG_NXTHDR(&hdr, c);
        }
    }
    // One descriptor is the protocol: more (closed on drop) or a truncated
    // control message is a peer we do not trust.
    if passed.len() > 1 || hdr.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(crate::Error::new("recvmsg", libc::EPROTO));
    }
    Ok((n, passed.pop()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn a_descriptor_crosses_with_its_message() {
        let (a, b) = seqpacket_pair().unwrap();
        let null = std::fs::File::open("/dev/null").unwrap();
        send_with_fd(a.as_fd(), b"hello", null.as_fd()).unwrap();
        let mut buf = [0u8; 16];
        let (n, fd) = recv_with_fd(b.as_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert!(fd.is_some());
        send(a.as_fd(), b"plain").unwrap();
        let (n, fd) = recv_with_fd(b.as_fd(), &mut buf).unwrap();
        assert_eq!((&buf[..n], fd.is_none()), (&b"plain"[..], true));
    }
}
