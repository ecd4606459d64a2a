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

/// The container's root (after pivot_root) for the masks and read-only
/// paths, opened once, with its /dev/null once a file needs masking.
pub struct Paths {
    root: OwnedFd,
    null: Option<OwnedFd>,
}

impl Paths {
    pub fn open() -> sys::Result<Paths> {
        let root = sys::fs::openat(None, Path::new("/"), libc::O_PATH | libc::O_DIRECTORY, 0)?;
        Ok(Paths { root, null: None })
    }

    /// `path` inside the root, symlinks followed there as runc's mount
    /// follows them (a loop is an error, as with runc and crun); `None`
    /// when it does not exist, a dangling link included (nothing to hide or
    /// protect).
    fn target(&self, path: &Path) -> sys::Result<Option<OwnedFd>> {
        match sys::fs::open_in_root(self.root.as_fd(), path, libc::O_PATH, 0) {
            Err(e) if e.errno() == libc::ENOENT => Ok(None),
            other => other.map(Some),
        }
    }

    /// Hides `path`: a directory under an empty read-only tmpfs, a file
    /// under /dev/null. A path that does not exist needs no hiding.
    pub fn mask(&mut self, path: &Path) -> sys::Result<()> {
        let Some(target) = self.target(path)? else {
            return Ok(());
        };
        let is_dir = sys::fs::fstat(target.as_fd())?.st_mode & libc::S_IFMT == libc::S_IFDIR;
        let tree = if is_dir {
            // runc's mask: source "tmpfs", read-only superblock and mount.
            let params = [
                m::FsParam::String(c"source", c"tmpfs"),
                m::FsParam::Flag(c"ro"),
            ];
            m::detached_fs(c"tmpfs", &params, m::MOUNT_ATTR_RDONLY)?
        } else {
            if self.null.is_none() {
                self.null = Some(null_device(self.root.as_fd())?);
            }
            let null = self.null.as_ref().map(|n| n.as_fd());
            m::open_tree_clone_fd(null.expect("opened above"), false)?
        };
        m::move_mount_to(tree.as_fd(), target.as_fd())
    }

    /// Binds `path` (and the mounts below it) onto itself read-only;
    /// missing paths are skipped. The flags are set on the detached copy,
    /// so the path is never writable through the new mount, not even for a
    /// moment.
    pub fn make_readonly(&self, path: &Path) -> sys::Result<()> {
        let Some(target) = self.target(path)? else {
            return Ok(());
        };
        let tree = m::open_tree_clone_fd(target.as_fd(), true)?;
        m::set_tree_attr(tree.as_fd(), &readonly(), true)?;
        m::move_mount_to(tree.as_fd(), target.as_fd())
    }

    /// Makes the mount at `path` itself read-only, in place (its submounts
    /// keep their flags), as runc remounts a read-only /dev.
    pub fn mount_readonly(&self, path: &Path) -> sys::Result<()> {
        match self.target(path)? {
            Some(target) => m::set_tree_attr(target.as_fd(), &readonly(), false),
            None => Ok(()),
        }
    }

    /// Makes the root mount read-only, keeping its other flags (the locked
    /// ones of a user namespace among them).
    pub fn root_readonly(&self) -> sys::Result<()> {
        m::set_tree_attr(self.root.as_fd(), &readonly(), false)
    }
}

/// The container's /dev/null, only if it really is the null device: a
/// rootfs could plant a file (or a symlink, CVE-2025-31133) there to be
/// shown in place of /proc/kcore or to have the mask land elsewhere.
fn null_device(root: std::os::fd::BorrowedFd<'_>) -> sys::Result<OwnedFd> {
    let flags = libc::O_PATH | libc::O_NOFOLLOW;
    let null = sys::fs::open_in_root(root, Path::new("/dev/null"), flags, 0)?;
    let st = sys::fs::fstat(null.as_fd())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != libc::makedev(1, 3) {
        return Err(sys::Error::new(
            "mask: /dev/null is not the null device",
            libc::EINVAL,
        ));
    }
    Ok(null)
}

fn readonly() -> MountAttr {
    MountAttr {
        attr_set: m::MOUNT_ATTR_RDONLY,
        ..Default::default()
    }
}
