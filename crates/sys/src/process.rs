//! Processes: clone3, wait, kill, credentials and execve.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::{check, check_long, retry, Error, Result};

/// clone3 flag: start the child in the cgroup `clone_args.cgroup` names.
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Proof that this process has a single thread, the condition that makes a
/// fork-like clone sound. Made by [`SingleThreaded::check`], and handed to
/// every child of [`fork_child`] (a clone copies only the calling thread),
/// so a child need not read /proc again: after setns into another mount
/// namespace, /proc may be another pid namespace's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SingleThreaded(());

impl SingleThreaded {
    /// Checks that this process has exactly one thread.
    pub fn check() -> Result<SingleThreaded> {
        match thread_count() {
            Some(1) => Ok(SingleThreaded(())),
            _ => Err(Error::new(
                "clone3 (the runtime must be single-threaded)",
                libc::EDEADLK,
            )),
        }
    }
}

/// Which side of a fork-like clone we are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fork {
    /// In the parent, with the child's pid.
    Parent(libc::pid_t),
    /// In the child, which has one thread.
    Child(SingleThreaded),
}

/// A fork-like `clone3`: the child continues on a copy-on-write copy of the
/// caller's stack, in the new namespaces that `flags` asks for, and (with
/// `cgroup`) starts life inside that cgroup.
///
/// # Safety
/// The caller must be single-threaded: the child gets only the calling thread,
/// so any lock another thread held (in the allocator, stdio, ...) would stay
/// locked forever in the child. The child must leave only through
/// [`exit_now`] or a successful `execve`, never by returning into code that
/// the parent would also run.
unsafe fn clone3(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> Result<Fork> {
    // SAFETY: clone_args is plain data and all-zero is a valid value.
    let mut args: libc::clone_args = unsafe { std::mem::zeroed() };
    args.flags = flags;
    args.exit_signal = libc::SIGCHLD as u64;
    if let Some(cg) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = cg.as_raw_fd() as u64;
    }
    // SAFETY: `args` is a fully initialised clone_args whose size we pass.
    // A zero stack makes the child run on a copy of our stack, like fork; the
    // caller guarantees the single-threaded invariant stated above.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut libc::clone_args,
            std::mem::size_of::<libc::clone_args>(),
        )
    };
    match check_long(ret, "clone3")? {
        0 => Ok(Fork::Child(SingleThreaded(()))),
        pid => Ok(Fork::Parent(pid as libc::pid_t)),
    }
}

/// A fork-like clone into new namespaces (`flags`, CLONE_NEW*), optionally
/// straight into a cgroup, by a process proven single-threaded.
pub fn fork_child(
    _one: SingleThreaded,
    flags: u64,
    cgroup: Option<BorrowedFd<'_>>,
) -> Result<Fork> {
    // SAFETY: `SingleThreaded` exists only in a process checked to have one
    // thread, or in a clone child, which has one: no lock can be held by a
    // thread the child would not have.
    unsafe { clone3(flags, cgroup) }
}

/// The number of threads of this process (/proc/self/stat field 20).
fn thread_count() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(17)?.parse().ok()
}

/// How a child ended, as `waitpid` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `exit(code)`.
    Code(i32),
    /// Killed by a signal.
    Signal(i32),
}

impl Exit {
    /// The shell's convention: the code, or 128 + the signal number.
    pub fn status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

/// Waits for `pid` (or any child with -1). `Ok(None)` with `nohang` means no
/// child has changed state yet.
pub fn waitpid(pid: libc::pid_t, nohang: bool) -> Result<Option<(libc::pid_t, Exit)>> {
    let flags = if nohang { libc::WNOHANG } else { 0 };
    loop {
        let mut status = 0;
        let ret = retry(|| {
            // SAFETY: `status` is a valid out-pointer for the call.
            check(unsafe { libc::waitpid(pid, &mut status, flags) }, "waitpid")
        })?;
        if ret == 0 {
            return Ok(None);
        }
        if libc::WIFEXITED(status) {
            return Ok(Some((ret, Exit::Code(libc::WEXITSTATUS(status)))));
        }
        if libc::WIFSIGNALED(status) {
            return Ok(Some((ret, Exit::Signal(libc::WTERMSIG(status)))));
        }
        // Stopped or continued: not an exit; keep waiting.
    }
}

/// The effective uid and gid of this process.
pub fn effective_ids() -> (u32, u32) {
    // SAFETY: geteuid and getegid have no preconditions and cannot fail.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// Whether this process runs in a user namespace other than the initial
/// one (whose uid_map is the identity over all ids): rootless podman runs
/// the runtime as root of such a namespace. Read once per process (several
/// steps of a create ask, and each read is three syscalls); the answer is
/// the runtime's as it started, before any setns.
pub fn in_user_namespace() -> bool {
    static IN_USERNS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IN_USERNS.get_or_init(|| match std::fs::read_to_string("/proc/self/uid_map") {
        Ok(map) => map.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"],
        Err(_) => false,
    })
}

/// Whether the runtime lacks the initial user namespace's root: a user
/// other than root, or root of a user namespace (rootless podman runs us
/// so). Such a runtime cannot program the host's cgroups or devices.
pub fn unprivileged() -> bool {
    effective_ids().0 != 0 || in_user_namespace()
}

/// `kill(pid, sig)`.
pub fn kill(pid: libc::pid_t, sig: i32) -> Result<()> {
    // SAFETY: kill has no memory effects; the caller chose `pid`.
    check(unsafe { libc::kill(pid, sig) }, "kill").map(drop)
}

/// `setsid()`.
pub fn setsid() -> Result<()> {
    // SAFETY: setsid has no memory effects.
    check(unsafe { libc::setsid() }, "setsid").map(drop)
}

/// Makes this process the reaper of its orphaned descendants.
pub fn set_child_subreaper() -> Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer and has no memory effects.
    let ret = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    check(ret, "prctl(PR_SET_CHILD_SUBREAPER)").map(drop)
}

/// `setresuid(uid, uid, uid)` as a raw syscall: glibc's wrapper would try to
/// broadcast the change to threads, and the child of clone3 has no libc
/// thread bookkeeping we can trust.
pub fn setresuid(uid: u32) -> Result<()> {
    // SAFETY: the syscall takes three integers and only changes credentials.
    let ret = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
    check_long(ret, "setresuid").map(drop)
}

/// `setresgid(gid, gid, gid)` as a raw syscall (see [`setresuid`]).
pub fn setresgid(gid: u32) -> Result<()> {
    // SAFETY: the syscall takes three integers and only changes credentials.
    let ret = unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) };
    check_long(ret, "setresgid").map(drop)
}

/// `setgroups(groups)` as a raw syscall (see [`setresuid`]).
pub fn setgroups(groups: &[u32]) -> Result<()> {
    // SAFETY: the pointer and length describe `groups` for the call.
    let ret = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    check_long(ret, "setgroups").map(drop)
}

/// Replaces this process image. Returns only on failure.
pub fn execve(path: &CString, argv: &[CString], envp: &[CString]) -> Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: `path` and every element are NUL-terminated strings owned by the
    // caller for the call; both arrays are NULL-terminated as execve requires.
    unsafe { libc::execve(path.as_ptr(), a.as_ptr(), e.as_ptr()) };
    Error::new("execve", crate::last_errno())
}

/// Replaces this process image with the program in `fd` (execveat with
/// AT_EMPTY_PATH). Returns only on failure.
pub fn fexecve(fd: BorrowedFd<'_>, argv: &[CString], envp: &[CString]) -> Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    let empty = c"";
    // SAFETY: `fd` is live, the path is an empty NUL-terminated string, and
    // both arrays are NULL-terminated arrays of strings the caller owns for
    // the duration of the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            empty.as_ptr(),
            a.as_ptr(),
            e.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Error::new("execveat", crate::last_errno())
}

/// Marks this process (non-)dumpable. A non-dumpable process's /proc files
/// (exe, fd, mem) are closed to anyone without CAP_SYS_PTRACE over it.
pub fn set_dumpable(on: bool) -> Result<()> {
    // SAFETY: PR_SET_DUMPABLE takes an integer and has no memory effects.
    let ret = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, libc::c_ulong::from(on), 0, 0, 0) };
    check(ret, "prctl(PR_SET_DUMPABLE)").map(drop)
}

/// Asks for SIGKILL when the parent exits (0: no signal).
pub fn set_parent_death_signal(sig: i32) -> Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes an integer and has no memory effects.
    let ret = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) };
    check(ret, "prctl(PR_SET_PDEATHSIG)").map(drop)
}

/// Ends the process at once, without running destructors or atexit handlers:
/// the only way out of a cloned child, which must not unwind into code its
/// parent also runs or flush buffers it shares with the parent.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and releases nothing the parent owns.
    unsafe { libc::_exit(code) }
}

/// Gives this process a new session keyring named `name`, as runc does per
/// container, so containers do not share the caller's keys. `Ok(false)`
/// when the kernel has no keyrings (ENOSYS) or refuses them here (EACCES,
/// EPERM in some user namespaces), which runc also tolerates.
pub fn join_session_keyring(name: &std::ffi::CStr) -> Result<bool> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: the keyctl operation takes a NUL-terminated name that
    // outlives the call and creates a keyring for this process only.
    let ret =
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    match check_long(ret, "keyctl(KEYCTL_JOIN_SESSION_KEYRING)") {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.errno(), libc::ENOSYS | libc::EACCES | libc::EPERM) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Clock ticks per second (USER_HZ), the unit of /proc and cpuacct.stat times.
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf takes an integer and has no memory effects.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 {
        v as u64
    } else {
        100
    }
}

/// Whether the process `pid` exists (it may be a zombie).
pub fn exists(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 performs only the existence and permission check.
    unsafe { libc::kill(pid, 0) == 0 || crate::last_errno() == libc::EPERM }
}

/// `pidfd_open(pid)`: a close-on-exec handle that keeps naming this one
/// process, even after its pid is reused.
pub fn pidfd_open(pid: libc::pid_t) -> Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and touches no memory of ours.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = check_long(ret, "pidfd_open")?;
    // SAFETY: a successful pidfd_open returns a new descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_count_is_read() {
        assert!(thread_count().is_some_and(|n| n >= 1));
    }

    #[test]
    fn exit_status_follows_the_shell() {
        assert_eq!(Exit::Code(3).status(), 3);
        assert_eq!(Exit::Signal(9).status(), 137);
    }
}
