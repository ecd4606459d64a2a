//! Signal state across the park and the execve.

use crate::error::{Context, Error};

/// Signals whose default action ends a process.
const TERMINATING: &[i32] = &[
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
    libc::SIGPIPE,
];

/// While parked, the init may be pid 1 of a pid namespace, which ignores
/// signals it has no handler for: give `kill` of a created container its
/// effect. Then unblock everything the runtime had blocked.
pub fn prepare_for_park() -> Result<(), Error> {
    for sig in TERMINATING {
        sys::signal::exit_on(*sig).context("installing signal handler")?;
    }
    sys::signal::set_mask(&sys::signal::SigSet::empty()).context("unblocking signals")?;
    Ok(())
}

/// Handlers reset to the default on execve, but ignored signals stay
/// ignored: Rust's runtime ignores SIGPIPE, which the container must not
/// inherit.
pub fn reset_before_exec() -> Result<(), Error> {
    sys::signal::set_default(libc::SIGPIPE).context("resetting SIGPIPE")
}
