//! Thin safe wrappers around the few libc calls the probe needs.
//!
//! Every function here returns what the kernel said, or `None`/`Err` when the
//! call failed; none of them looks anything up through NSS.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};

pub struct Ids {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
}

pub fn ids() -> Ids {
    // SAFETY: these calls take no arguments, cannot fail and touch no memory of ours.
    unsafe {
        Ids {
            pid: libc::getpid(),
            ppid: libc::getppid(),
            uid: libc::getuid(),
            euid: libc::geteuid(),
            gid: libc::getgid(),
            egid: libc::getegid(),
        }
    }
}

/// Supplementary groups (getgroups(2)).
pub fn groups() -> Option<Vec<u32>> {
    // SAFETY: with size 0 the list pointer is not accessed; only the count is returned.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let len = usize::try_from(n).ok()?;
    let mut list = vec![0 as libc::gid_t; len];
    // SAFETY: `list` holds exactly `n` writable gid_t elements, and `n` is what we pass.
    let got = unsafe { libc::getgroups(n, list.as_mut_ptr()) };
    list.truncate(usize::try_from(got).ok()?);
    Some(list)
}

/// Reads the umask by setting it and restoring it (only used when
/// /proc/self/status has no `Umask:` line).
pub fn umask_fallback() -> u32 {
    // SAFETY: umask(2) always succeeds; the old mask is restored right after.
    let old = unsafe { libc::umask(0) };
    // SAFETY: as above, this restores the mask the process had.
    unsafe { libc::umask(old) };
    old
}

/// `(hostname, domainname)` from uname(2).
pub fn uname() -> Option<(String, String)> {
    // SAFETY: utsname is a plain struct of c_char arrays, for which all-zero bytes are valid.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname for the duration of the call.
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    Some((c_chars(&u.nodename), c_chars(&u.domainname)))
}

fn c_chars(buf: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Whether `path` is on a read-only mount (statvfs(3) ST_RDONLY).
pub fn is_readonly(path: &Path) -> Option<bool> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is a plain struct of integers, for which all-zero bytes are valid.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated string and `st` a writable statvfs, both live for the call.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some(st.f_flag & libc::ST_RDONLY != 0)
}

pub const RLIMITS: &[(&str, libc::__rlimit_resource_t)] = &[
    ("RLIMIT_AS", libc::RLIMIT_AS),
    ("RLIMIT_CORE", libc::RLIMIT_CORE),
    ("RLIMIT_CPU", libc::RLIMIT_CPU),
    ("RLIMIT_DATA", libc::RLIMIT_DATA),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
    ("RLIMIT_NICE", libc::RLIMIT_NICE),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
    ("RLIMIT_RSS", libc::RLIMIT_RSS),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
    ("RLIMIT_STACK", libc::RLIMIT_STACK),
];

/// `[soft, hard]` of one resource (getrlimit(2)); RLIM_INFINITY is u64::MAX.
pub fn getrlimit(resource: libc::__rlimit_resource_t) -> Option<[u64; 2]> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a valid, writable rlimit for the duration of the call.
    if unsafe { libc::getrlimit(resource, &mut r) } != 0 {
        return None;
    }
    Some([r.rlim_cur, r.rlim_max])
}

/// Linux's encoding of device numbers (what glibc's major()/minor() do).
pub fn major(dev: u64) -> u64 {
    ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0fff)
}

pub fn minor(dev: u64) -> u64 {
    ((dev >> 12) & 0xffff_ff00) | (dev & 0x00ff)
}

static CAUGHT: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    CAUGHT.store(sig, Ordering::SeqCst);
}

/// Installs a handler for each of `signals`, calls `ready`, then sleeps until
/// one of them arrives and returns its number.
///
/// The signals are blocked while the handlers are installed and `ready` runs,
/// so one sent as soon as `ready` has said so is not lost: sigsuspend(2)
/// unblocks them atomically.
pub fn wait_for_signal(signals: &[libc::c_int], ready: impl FnOnce()) -> io::Result<i32> {
    // SAFETY: sigset_t is plain data; it is initialised by sigemptyset before any other use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable sigset_t.
    unsafe { libc::sigemptyset(&mut set) };
    for &s in signals {
        // SAFETY: `set` was initialised by sigemptyset; `s` is a signal number.
        unsafe { libc::sigaddset(&mut set, s) };
    }
    // SAFETY: `set` is initialised and `old` is writable; both outlive the call.
    if unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old) } != 0 {
        return Err(io::Error::last_os_error());
    }
    for &s in signals {
        // SAFETY: sigaction is plain data; all fields are set below or valid as zero.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: `sa.sa_mask` is a writable sigset_t inside `sa`.
        unsafe { libc::sigemptyset(&mut sa.sa_mask) };
        // SAFETY: `sa` is fully initialised and names a handler that is
        // async-signal-safe (it only stores to an atomic); the old action is not wanted.
        if unsafe { libc::sigaction(s, &sa, std::ptr::null_mut()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    ready();
    let mut wait_mask = old;
    for &s in signals {
        // SAFETY: `wait_mask` is a copy of the initialised mask returned by sigprocmask.
        unsafe { libc::sigdelset(&mut wait_mask, s) };
    }
    loop {
        // SAFETY: `wait_mask` is an initialised sigset_t; sigsuspend always returns -1/EINTR
        // after a handler ran, and the previous mask (our signals blocked) is restored.
        unsafe { libc::sigsuspend(&wait_mask) };
        let sig = CAUGHT.load(Ordering::SeqCst);
        if sig != 0 {
            return Ok(sig);
        }
    }
}

/// Makes raw syscall `nr` with up to six arguments; returns the result or
/// the errno.
pub fn raw_syscall(nr: libc::c_long, args: [u64; 6]) -> Result<i64, i32> {
    // SAFETY: the caller (a test) picks the syscall and its arguments; the
    // tests only pass calls whose pointer arguments are null or unused.
    let ret = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]) };
    if ret == -1 {
        Err(io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(ret)
    }
}
