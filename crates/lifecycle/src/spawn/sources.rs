//! The runtime's part of [`crate::rootfs::sources`]: it enters the init's
//! mount namespace for as long as the bind sources take to clone, and
//! sends the copies over.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use super::sync::{Channel, Message};
use crate::error::{Context, Error};
use crate::spec::Bundle;

/// Clones every bind source in the mount namespace of `pid` and sends the
/// copies to it.
pub fn hand_over(
    chan: &Channel,
    pid: i32,
    bundle: &Bundle,
    idmap_userns: &[Option<OwnedFd>],
) -> Result<(), Error> {
    let trees = in_mount_namespace_of(pid, || {
        crate::rootfs::sources::clone_all(bundle, idmap_userns)
    })?;
    for (i, tree) in &trees {
        chan.send_with_fd(&Message::MountSource(*i), tree.as_fd())
            .context("sync: sending a bind source")?;
    }
    chan.send(&Message::MountSourcesSent)
        .context("sync: bind sources sent")
}

/// Runs `f` in the mount namespace of `pid`, then returns to the runtime's
/// own, its root and its cwd (setns moves both to the namespace's root: a
/// runtime started in a chroot must stay there). The runtime is single
/// threaded here, as setns into a mount namespace requires.
fn in_mount_namespace_of<T>(pid: i32, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    // The runtime's own /proc, in the host's mount namespace.
    let own = sys::fs::openat(
        None,
        Path::new("/proc/thread-self/ns/mnt"),
        libc::O_RDONLY,
        0,
    )
    .context("opening the runtime's mount namespace")?;
    let dir = |p: &str| sys::fs::openat(None, Path::new(p), libc::O_PATH | libc::O_DIRECTORY, 0);
    let root = dir("/").context("opening the runtime's root")?;
    let cwd = dir(".").context("opening the runtime's cwd")?;
    let init = sys::process::pidfd_open(pid).context("opening the init's pidfd")?;
    sys::ns::setns(init.as_fd(), libc::CLONE_NEWNS)
        .context("entering the container's mount namespace")?;
    let result = f();
    // Every later path of the runtime (its state, the cgroups) is the
    // host's: a runtime that cannot come back must not go on.
    sys::ns::setns(own.as_fd(), libc::CLONE_NEWNS)
        .context("returning to the runtime's mount namespace")?;
    sys::fs::fchdir(root.as_fd()).context("returning to the runtime's root")?;
    sys::fs::chroot(Path::new(".")).context("returning to the runtime's root")?;
    sys::fs::fchdir(cwd.as_fd()).context("returning to the runtime's cwd")?;
    result
}
