//! Which descriptors the container's process inherits.

use crate::error::{Context, Error};

/// Marks every fd from 3 up close-on-exec, then clears the flag on exactly
/// the descriptors the caller passed with --preserve-fds (`inherited`,
/// recorded before the runtime opened anything), so execve leaves stdio and
/// those. A runtime descriptor that landed in a gap of the range (the state
/// lock, a namespace fd) stays close-on-exec.
pub fn close_on_exec(inherited: &[std::os::fd::RawFd]) -> Result<(), Error> {
    sys::fs::cloexec_from(3).context("marking descriptors close-on-exec")?;
    for &fd in inherited {
        sys::fs::set_cloexec(fd, false).with_context(|| format!("preserving fd {fd}"))?;
    }
    Ok(())
}
