//! maskedPaths and readonlyPaths, applied after pivot_root, so every path
//! resolves inside the container.
//!
//! Nothing here goes through /proc/self/fd: after pivot_root that is the
//! container's /proc, which a config mount (a volume over /proc/self/fd, an
//! image's /proc that is a symlink to a volume) can fill with symlinks of
//! its choosing, and a mask or read-only bind would land on the decoy
//! instead. The mounts are made detached and attached to the descriptor of
//! their target with move_mount, which no path lookup can redirect.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use sys::mount::{self as m, MountAttr};

/// Opens `path` in the container's root (this process's `/`, after
/// pivot_root): symlinks stay inside it and magic links are refused; the
/// last component is not followed.
pub fn open_in_container(
    path: &Path,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> sys::Result<OwnedFd> {
    open_following_in_container(path, flags | libc::O_NOFOLLOW, mode)
}

/// [`open_in_container`], following a last component that is a symlink
/// (inside the root too).
pub fn open_following_in_container(
    path: &Path,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> sys::Result<OwnedFd> {
    let root = sys::fs::openat(None, Path::new("/"), libc::O_PATH | libc::O_DIRECTORY, 0)?;
    sys::fs::open_in_root(root.as_fd(), path, flags, mode)
}

/// Hides `path`: a directory under an empty read-only tmpfs, a file under
/// /dev/null. A path that does not exist needs no hiding.
pub fn mask(path: &Path) -> sys::Result<()> {
    let target = match open_in_container(path, libc::O_PATH, 0) {
        Err(e) if e.errno() == libc::ENOENT => return Ok(()),
        other => other?,
    };
    let is_dir = sys::fs::fstat(target.as_fd())?.st_mode & libc::S_IFMT == libc::S_IFDIR;
    let tree = if is_dir {
        m::detached_fs(c"tmpfs", m::MOUNT_ATTR_RDONLY)?
    } else {
        m::open_tree_clone_fd(null_device()?.as_fd(), false)?
    };
    m::move_mount_to(tree.as_fd(), target.as_fd())
}

/// The container's /dev/null, only if it really is the null device: a
/// rootfs could plant a file (or a symlink, CVE-2025-31133) there to be
/// shown in place of /proc/kcore or to have the mask land elsewhere.
fn null_device() -> sys::Result<OwnedFd> {
    let null = open_in_container(Path::new("/dev/null"), libc::O_PATH, 0)?;
    let st = sys::fs::fstat(null.as_fd())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != libc::makedev(1, 3) {
        return Err(sys::Error::new(
            "mask: /dev/null is not the null device",
            libc::EINVAL,
        ));
    }
    Ok(null)
}

/// Binds `path` (and the mounts below it) onto itself read-only; missing
/// paths are skipped. The flags are set on the detached copy, so the path
/// is never writable through the new mount, not even for a moment.
pub fn make_readonly(path: &Path) -> sys::Result<()> {
    let target = match open_in_container(path, libc::O_PATH, 0) {
        Err(e) if e.errno() == libc::ENOENT => return Ok(()),
        other => other?,
    };
    let tree = m::open_tree_clone_fd(target.as_fd(), true)?;
    m::set_tree_attr(tree.as_fd(), &readonly(), true)?;
    m::move_mount_to(tree.as_fd(), target.as_fd())
}

/// Makes the mount at `path` read-only, keeping its other flags (the
/// locked ones of a user namespace among them).
pub fn remount_readonly(path: &Path) -> sys::Result<()> {
    let fd = sys::fs::openat(None, path, libc::O_PATH | libc::O_DIRECTORY, 0)?;
    m::set_tree_attr(fd.as_fd(), &readonly(), false)
}

fn readonly() -> MountAttr {
    MountAttr {
        attr_set: m::MOUNT_ATTR_RDONLY,
        ..Default::default()
    }
}
