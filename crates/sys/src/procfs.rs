//! A procfs the runtime opened and verified itself.
//!
//! Writes the runtime makes to /proc on a container's behalf (sysctls, the
//! LSM label, oom_score_adj) must land in the file they name. A path such as
//! `/proc/sys/net/...` resolved in the container's mount namespace can be
//! redirected by the container's own mounts or symlinks to a file of its
//! choosing, a host file among them (CVE-2025-52881, and CVE-2019-16884 for
//! the LSM label). So /proc is opened once, in the runtime's mount namespace
//! before the container has one, checked to be a procfs at its root, and
//! every later lookup is relative to that descriptor, may not cross into
//! another mount (an overmount, however it got there) and may not follow a
//! magic link.
//!
//! Which namespace a /proc/sys file speaks for is decided by the process
//! that opens it (its net, ipc and uts namespaces), not by the procfs
//! instance, so the host's procfs serves a container's sysctls.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use crate::{Error, Result};

/// statfs f_type of procfs.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// The inode number of a procfs root directory.
const PROC_ROOT_INO: u64 = 1;

/// Whether the file `fd` refers to is on a procfs.
pub fn is_procfs(fd: BorrowedFd<'_>) -> Result<bool> {
    Ok(crate::fs::fd_fs_type(fd)? == PROC_SUPER_MAGIC)
}

/// A verified descriptor of a procfs root.
#[derive(Debug)]
pub struct ProcFs {
    root: OwnedFd,
}

impl ProcFs {
    /// Opens `/proc` of this mount namespace and checks it is a procfs root
    /// (statfs type and inode), not a directory or a mount put there.
    pub fn open() -> Result<ProcFs> {
        let root = crate::fs::openat(
            None,
            Path::new("/proc"),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            0,
        )?;
        let fs_type = crate::fs::fd_fs_type(root.as_fd())?;
        let ino = crate::fs::fstat(root.as_fd())?.st_ino;
        if fs_type != PROC_SUPER_MAGIC || ino != PROC_ROOT_INO {
            return Err(Error::new("verify procfs", libc::EXDEV).with_path("/proc"));
        }
        Ok(ProcFs { root })
    }

    /// Opens `path` (relative, e.g. `sys/net/ipv4/ip_forward` or
    /// `self/attr/exec`) on this procfs: never across a mount, never
    /// through a magic link, never above the procfs root.
    pub fn open_file(&self, path: &Path, flags: libc::c_int) -> Result<OwnedFd> {
        crate::fs::openat2(
            Some(self.root.as_fd()),
            path,
            flags | libc::O_NOCTTY,
            0,
            libc::RESOLVE_BENEATH | libc::RESOLVE_NO_XDEV | libc::RESOLVE_NO_MAGICLINKS,
        )
        .map_err(|e| e.with_path(Path::new("/proc").join(path)))
    }

    /// Writes `value` to the file at `path` in one write(2), as the proc
    /// files the runtime sets expect.
    pub fn write(&self, path: &Path, value: &[u8]) -> Result<()> {
        let fd = self.open_file(path, libc::O_WRONLY)?;
        let n = crate::fs::write(fd.as_fd(), value)
            .map_err(|e| e.with_path(Path::new("/proc").join(path)))?;
        if n != value.len() {
            return Err(Error::new("write", libc::EIO).with_path(Path::new("/proc").join(path)));
        }
        Ok(())
    }

    /// Whether `path` exists on this procfs.
    pub fn exists(&self, path: &Path) -> bool {
        self.open_file(path, libc::O_PATH).is_ok()
    }

    /// The procfs root, for descriptor-relative calls.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_and_reads_beneath_its_root() {
        let proc = ProcFs::open().unwrap();
        // "self" is a plain symlink inside the procfs: allowed.
        let fd = proc
            .open_file(Path::new("self/status"), libc::O_RDONLY)
            .unwrap();
        let mut buf = [0u8; 5];
        crate::fs::read(fd.as_fd(), &mut buf).unwrap();
        assert_eq!(&buf, b"Name:");
        // A magic link is refused, even one that stays on the host.
        let e = proc
            .open_file(Path::new("self/cwd/Cargo.toml"), libc::O_RDONLY)
            .unwrap_err();
        assert_eq!(e.errno(), libc::ELOOP, "{e}");
        assert!(proc
            .open_file(Path::new("../etc/passwd"), libc::O_RDONLY)
            .is_err());
    }
}
