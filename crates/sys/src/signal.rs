//! Signal masks and dispositions.

use crate::{check, Result};

/// A set of signals.
#[derive(Clone, Copy)]
pub struct SigSet(libc::sigset_t);

impl SigSet {
    /// Every signal.
    pub fn all() -> Self {
        // SAFETY: sigset_t is plain data; sigfillset initialises it fully.
        let mut s: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `s` is a valid sigset_t out-pointer.
        unsafe { libc::sigfillset(&mut s) };
        SigSet(s)
    }

    /// No signal.
    pub fn empty() -> Self {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it fully.
        let mut s: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `s` is a valid sigset_t out-pointer.
        unsafe { libc::sigemptyset(&mut s) };
        SigSet(s)
    }
}

/// Replaces the signal mask of this thread, returning the old one.
pub fn set_mask(set: &SigSet) -> Result<SigSet> {
    let mut old = SigSet::empty();
    // SAFETY: both pointers are valid sigset_t for the call.
    let ret = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &set.0, &mut old.0) };
    if ret != 0 {
        return Err(crate::Error::new("sigprocmask", ret));
    }
    Ok(old)
}

/// Waits for one signal of `set` (which must be blocked) and returns it.
pub fn wait(set: &SigSet) -> Result<i32> {
    loop {
        // SAFETY: `set` is a valid sigset_t; a null siginfo pointer is allowed.
        let ret = unsafe { libc::sigwaitinfo(&set.0, std::ptr::null_mut()) };
        match check(ret, "sigwaitinfo") {
            Err(e) if e.errno() == libc::EINTR => continue,
            other => return other,
        }
    }
}

/// A signal ignored by [`ignore`]; dropping it puts the old disposition back.
pub struct Ignored {
    sig: i32,
    old: libc::sigaction,
}

/// Ignores `sig` for as long as the returned value lives. An ignored
/// signal is discarded when generated, not left pending for later.
pub fn ignore(sig: i32) -> Result<Ignored> {
    // SAFETY: sigaction is plain data; all-zero is an empty mask and no flags.
    let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
    new.sa_sigaction = libc::SIG_IGN;
    // SAFETY: as above; the kernel fills it in.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid sigaction structs for the call.
    let ret = unsafe { libc::sigaction(sig, &new, &mut old) };
    check(ret, "sigaction")?;
    Ok(Ignored { sig, old })
}

impl Drop for Ignored {
    fn drop(&mut self) {
        // SAFETY: `old` is what the kernel reported for this signal, so it
        // is a valid disposition for it; the old-action pointer may be null.
        unsafe { libc::sigaction(self.sig, &self.old, std::ptr::null_mut()) };
    }
}

/// Resets `sig` to its default action.
pub fn set_default(sig: i32) -> Result<()> {
    // SAFETY: SIG_DFL is a valid disposition for every catchable signal.
    let ret = unsafe { libc::signal(sig, libc::SIG_DFL) };
    if ret == libc::SIG_ERR {
        return Err(crate::Error::new("signal", crate::last_errno()));
    }
    Ok(())
}

extern "C" fn exit_on_signal(sig: libc::c_int) {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(128 + sig) }
}

/// Makes `sig` end the process with status 128+sig. A pid-namespace init gets
/// no default action for signals sent from outside, so without a handler a
/// parked container init would ignore `kill` (pid_namespaces(7)). Handlers
/// reset to the default on execve.
pub fn exit_on(sig: i32) -> Result<()> {
    // SAFETY: the handler only calls the async-signal-safe _exit.
    let ret = unsafe { libc::signal(sig, exit_on_signal as *const () as libc::sighandler_t) };
    if ret == libc::SIG_ERR {
        return Err(crate::Error::new("signal", crate::last_errno()));
    }
    Ok(())
}

/// A close-on-exec, non-blocking signalfd for `set` (which the caller keeps
/// blocked), so signals can be waited for beside descriptors.
pub fn signalfd(set: &SigSet) -> Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: `set.0` is a valid sigset for the call; -1 asks for a new fd.
    let fd = unsafe { libc::signalfd(-1, &set.0, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    let fd = crate::check(fd, "signalfd")?;
    // SAFETY: signalfd returned a new descriptor nobody else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// The next pending signal of a signalfd, if any.
pub fn read_signalfd(fd: std::os::fd::BorrowedFd<'_>) -> Result<Option<i32>> {
    use std::os::fd::AsRawFd;
    // SAFETY: signalfd_siginfo is plain data; all-zero is valid.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: `info` is writable for `size` bytes; `fd` is live for the call.
    let n = unsafe {
        libc::read(
            fd.as_raw_fd(),
            (&mut info as *mut libc::signalfd_siginfo).cast(),
            size,
        )
    };
    if n == -1 {
        let errno = crate::last_errno();
        if errno == libc::EAGAIN {
            return Ok(None);
        }
        return Err(crate::Error::new("read(signalfd)", errno));
    }
    Ok((n as usize == size).then_some(info.ssi_signo as i32))
}

/// Waits until one of `fds` is readable (or hung up), at most `timeout_ms`
/// (-1: no limit); returns, per fd, whether it is. Retries EINTR.
pub fn poll_readable(fds: &[std::os::fd::BorrowedFd<'_>], timeout_ms: i32) -> Result<Vec<bool>> {
    use std::os::fd::AsRawFd;
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    crate::retry(|| {
        // SAFETY: `p` is a valid array of `p.len()` pollfds for the call.
        let n = unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, timeout_ms) };
        crate::check(n, "poll").map(drop)
    })?;
    Ok(p.iter().map(|x| x.revents != 0).collect())
}
