//! seccomp(2): installing a filter, probing what the kernel supports, and
//! the user-notification ioctls a listener uses.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::{check, check_long, retry, Error, Result};

/// `struct sock_filter`: one classic BPF instruction.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// `struct sock_fprog`.
#[repr(C)]
struct SockFprog {
    len: libc::c_ushort,
    filter: *const SockFilter,
}

const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;

pub const FLAG_TSYNC: u32 = 1 << 0;
pub const FLAG_LOG: u32 = 1 << 1;
pub const FLAG_SPEC_ALLOW: u32 = 1 << 2;
pub const FLAG_NEW_LISTENER: u32 = 1 << 3;
pub const FLAG_WAIT_KILLABLE_RECV: u32 = 1 << 5;

fn seccomp(op: libc::c_uint, flags: libc::c_uint, arg: *const libc::c_void) -> libc::c_long {
    // SAFETY: every caller passes for `arg` null or a pointer to the struct
    // `op` reads (a sock_fprog whose filter outlives the call, or a u32),
    // and the kernel only reads through it.
    unsafe { libc::syscall(libc::SYS_seccomp, op, flags, arg) }
}

/// Installs `prog` on the calling thread with `flags`. Returns the
/// notification listener when `flags` has [`FLAG_NEW_LISTENER`].
///
/// Without flags this is `prctl(PR_SET_SECCOMP)`, which kernels before
/// seccomp(2) (3.17) also have. The caller must have no_new_privs set or
/// CAP_SYS_ADMIN in its user namespace (kernel rule).
pub fn set_mode_filter(prog: &[SockFilter], flags: u32) -> Result<Option<OwnedFd>> {
    let len = libc::c_ushort::try_from(prog.len())
        .map_err(|_| Error::new("seccomp(SET_MODE_FILTER)", libc::E2BIG))?;
    let fprog = SockFprog {
        len,
        filter: prog.as_ptr(),
    };
    let arg = (&fprog as *const SockFprog).cast();
    if flags == 0 {
        // SAFETY: `fprog` points at `prog`, which lives across the call; the
        // kernel copies the program in.
        let ret = unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER as libc::c_ulong,
                arg,
            )
        };
        check(ret, "prctl(PR_SET_SECCOMP)")?;
        return Ok(None);
    }
    let ret = check_long(
        seccomp(SECCOMP_SET_MODE_FILTER, flags, arg),
        "seccomp(SET_MODE_FILTER)",
    )?;
    if flags & FLAG_NEW_LISTENER == 0 {
        return Ok(None);
    }
    // SAFETY: with NEW_LISTENER the return value is a new fd that only this
    // call's caller holds.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as libc::c_int) }))
}

/// Whether the kernel knows a SECCOMP_SET_MODE_FILTER flag. A known flag
/// with a null program fails with EFAULT, an unknown one with EINVAL, and
/// nothing is installed either way.
pub fn flag_supported(flag: u32) -> bool {
    // WAIT_KILLABLE_RECV is only valid beside NEW_LISTENER.
    let probe = if flag == FLAG_WAIT_KILLABLE_RECV {
        flag | FLAG_NEW_LISTENER
    } else {
        flag
    };
    let ret = seccomp(SECCOMP_SET_MODE_FILTER, probe, std::ptr::null());
    ret == -1 && crate::last_errno() == libc::EFAULT
}

/// `struct seccomp_notif`: a syscall a filter handed to the listener.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Notif {
    pub id: u64,
    pub pid: u32,
    pub flags: u32,
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

/// `struct seccomp_notif_resp`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NotifResp {
    pub id: u64,
    pub val: i64,
    pub error: i32,
    pub flags: u32,
}

/// Let the syscall run as if no filter had stopped it.
pub const NOTIF_FLAG_CONTINUE: u32 = 1;

// _IOWR('!', 0, struct seccomp_notif) and _IOWR('!', 1, struct seccomp_notif_resp).
const IOCTL_NOTIF_RECV: libc::c_ulong = 0xc050_2100;
const IOCTL_NOTIF_SEND: libc::c_ulong = 0xc018_2101;

/// Waits for the next notification on a listener.
pub fn notif_recv(listener: BorrowedFd<'_>) -> Result<Notif> {
    retry(|| {
        // The kernel requires the buffer zeroed.
        let mut n = Notif::default();
        // SAFETY: `n` is a writable seccomp_notif of the size the ioctl's
        // number encodes; `listener` is live for the call.
        let ret = unsafe { libc::ioctl(listener.as_raw_fd(), IOCTL_NOTIF_RECV, &mut n) };
        check(ret, "ioctl(SECCOMP_IOCTL_NOTIF_RECV)").map(|_| n)
    })
}

/// Answers a notification.
pub fn notif_send(listener: BorrowedFd<'_>, resp: &NotifResp) -> Result<()> {
    retry(|| {
        let mut r = *resp;
        // SAFETY: `r` is a seccomp_notif_resp of the size the ioctl's number
        // encodes; `listener` is live for the call.
        let ret = unsafe { libc::ioctl(listener.as_raw_fd(), IOCTL_NOTIF_SEND, &mut r) };
        check(ret, "ioctl(SECCOMP_IOCTL_NOTIF_SEND)").map(drop)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_sizes_match_the_kernel() {
        assert_eq!(std::mem::size_of::<SockFilter>(), 8);
        assert_eq!(std::mem::size_of::<Notif>(), 0x50);
        assert_eq!(std::mem::size_of::<NotifResp>(), 0x18);
    }

    #[test]
    fn probes_answer_without_installing() {
        assert!(flag_supported(FLAG_TSYNC));
        assert!(!flag_supported(1 << 30));
    }
}
