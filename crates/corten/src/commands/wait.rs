//! Waiting for a foreground process (`run`, `exec`): every signal the
//! runtime gets goes to the process, and its exit status comes back.

use sys::signal::SigSet;

/// Blocks every signal, so none meant for the process is lost between its
/// start and the wait; returns the old mask.
pub fn block_all() -> sys::Result<SigSet> {
    sys::signal::set_mask(&SigSet::all())
}

/// Forwards every signal to `pid` until it exits; returns its status.
pub fn forwarding_signals(pid: i32) -> sys::Result<i32> {
    let all = SigSet::all();
    loop {
        // The process may have exited before we got here.
        if let Some(status) = reap(pid)? {
            return Ok(status);
        }
        let sig = sys::signal::wait(&all)?;
        if sig == libc::SIGCHLD {
            continue;
        }
        // ESRCH: it is exiting; the SIGCHLD follows.
        let _ = sys::process::kill(pid, sig);
    }
}

/// Reaps every exited child; `pid`'s status when it is among them.
pub fn reap(pid: i32) -> sys::Result<Option<i32>> {
    loop {
        match sys::process::waitpid(-1, true) {
            Ok(Some((p, exit))) if p == pid => return Ok(Some(exit.status())),
            Ok(Some(_)) => continue,
            Ok(None) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}
