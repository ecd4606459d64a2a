//! Which descriptors the container's process inherits.

use std::os::fd::RawFd;

use crate::error::{Context, Error};

/// Closes every descriptor the runtime brought into this child (the
/// cgroup directory opened for CLONE_INTO_CGROUP, namespace files, the
/// procfs handle, the state lock...), keeping stdio, the caller's
/// --preserve-fds (`inherited`) and `keep` (the sync socket, exec.fifo).
///
/// CVE-2024-21626's class: a directory descriptor still open while the
/// container's cwd is entered or its executable looked up (`PATH` entries
/// and `args[0]` come from the image) is a way out through
/// `/proc/self/fd/N/..`; close-on-exec is too late, the lookup comes
/// first. What stays open is not a directory: a socket or a fifo cannot be
/// walked through.
///
/// Nothing that owns a closed descriptor may be used or dropped after this
/// call: the child only goes on to execve or to exit.
pub fn close_runtime_fds(inherited: &[RawFd], keep: &[RawFd]) -> Result<(), Error> {
    let all: Vec<RawFd> = inherited.iter().chain(keep).copied().collect();
    sys::fs::close_all_except_before_exec(&all).context("closing the runtime's descriptors")
}

/// Marks every fd from 3 up close-on-exec, then clears the flag on exactly
/// the descriptors the caller passed with --preserve-fds (`inherited`,
/// recorded before the runtime opened anything), so execve leaves stdio and
/// those. A runtime descriptor that landed in a gap of the range (the state
/// lock, a namespace fd) stays close-on-exec.
pub fn close_on_exec(inherited: &[RawFd]) -> Result<(), Error> {
    sys::fs::cloexec_from(3).context("marking descriptors close-on-exec")?;
    for &fd in inherited {
        sys::fs::set_cloexec(fd, false).with_context(|| format!("preserving fd {fd}"))?;
    }
    Ok(())
}
