//! Namespaces: unshare(2) and setns(2).

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::{check, Result};

/// `unshare(flags)`.
pub fn unshare(flags: libc::c_int) -> Result<()> {
    // SAFETY: unshare takes an integer and touches no memory of ours.
    check(unsafe { libc::unshare(flags) }, "unshare").map(drop)
}

/// `setns(fd, nstype)`: joins the namespace `fd` refers to.
pub fn setns(fd: BorrowedFd<'_>, nstype: libc::c_int) -> Result<()> {
    // SAFETY: `fd` is a live descriptor borrowed for the call; setns touches
    // no memory of ours.
    check(unsafe { libc::setns(fd.as_raw_fd(), nstype) }, "setns").map(drop)
}

/// `sethostname(name)`.
pub fn sethostname(name: &str) -> Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes for the call.
    let ret = unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) };
    check(ret, "sethostname").map(drop)
}

/// `setdomainname(name)`.
pub fn setdomainname(name: &str) -> Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes for the call.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    check(ret, "setdomainname").map(drop)
}
