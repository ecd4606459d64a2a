//! `--no-pivot`: the rootfs is moved onto `/` and chrooted into, so the
//! host's mounts stay in the container's mount namespace beneath it.
//!
//! The kernel lets a user namespace mount a new procfs or sysfs only where
//! one is already fully visible in its mount namespace (mount_too_revealing:
//! the filesystem's root mounted, nothing locked covering anything but an
//! empty directory). The container's own /proc and /sys have masks over
//! them; the host's, left under the rootfs, have none, and would let a
//! process that reaches the namespace's root (setns, a leaked descriptor)
//! mount an unmasked procfs. So, as runc's msMoveRoot does, every full
//! procfs and sysfs mount outside the rootfs is detached first, or covered
//! with a tmpfs where it may not be detached (a mount locked by a user
//! namespace).

use std::path::{Path, PathBuf};

use crate::error::{Context, Error};

/// Detaches (or covers) every full procfs and sysfs mount of this mount
/// namespace outside `rootfs`. Reads this thread's mountinfo through the
/// runtime's own procfs.
pub fn hide_host_procfs(proc: &sys::procfs::ProcFs, rootfs: &Path) -> Result<(), Error> {
    use std::io::Read;
    let fd = proc
        .open_file(Path::new("thread-self/mountinfo"), libc::O_RDONLY)
        .context("opening mountinfo")?;
    let mut text = String::new();
    std::fs::File::from(fd)
        .read_to_string(&mut text)
        .context("reading mountinfo")?;
    for point in revealing_mounts(&text, rootfs) {
        // A slave first: the detach must not propagate to the host.
        match sys::mount::mount(None, &point, None, libc::MS_SLAVE | libc::MS_REC, None) {
            // Gone with a mount detached before it (/proc/sys/fs/binfmt_misc
            // under /proc).
            Err(e) if e.errno() == libc::ENOENT => continue,
            other => other.with_context(|| format!("making {} a slave", point.display()))?,
        }
        match sys::mount::umount(&point, libc::MNT_DETACH) {
            Err(e) if e.errno() == libc::EINVAL || e.errno() == libc::EPERM => {
                sys::mount::mount(Some(Path::new("tmpfs")), &point, Some("tmpfs"), 0, None)
                    .with_context(|| format!("covering {}", point.display()))?;
            }
            other => other.with_context(|| format!("detaching {}", point.display()))?,
        }
    }
    Ok(())
}

/// The mount points of the full procfs and sysfs mounts (their
/// filesystem's root mounted) outside `rootfs`, in mountinfo's order.
fn revealing_mounts(mountinfo: &str, rootfs: &Path) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let fstype = right.split(' ').next()?;
            let (root, point) = (*left.get(3)?, super::host::unescape(left.get(4)?));
            let full = root == "/" && (fstype == "proc" || fstype == "sysfs");
            (full && !point.starts_with(rootfs)).then_some(point)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_full_procfs_and_sysfs_outside_the_rootfs() {
        let info = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
50 27 0:21 /sys /mnt/procsys ro,relatime - proc proc rw
51 27 0:40 / /mnt/other\\040proc rw - proc proc rw
72 27 254:0 /b/rootfs /b/rootfs rw - ext4 /dev/vda rw
73 72 0:41 / /b/rootfs/proc rw - proc proc rw
78 72 0:45 / /b/rootfs/sys ro - sysfs sysfs ro
79 27 0:46 / /b/rootfs2/proc rw - proc proc rw
";
        assert_eq!(
            revealing_mounts(info, Path::new("/b/rootfs")),
            [
                PathBuf::from("/proc"),
                PathBuf::from("/sys"),
                PathBuf::from("/mnt/other proc"),
                PathBuf::from("/b/rootfs2/proc"),
            ]
        );
    }
}
