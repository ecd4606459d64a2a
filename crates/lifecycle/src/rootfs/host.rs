//! A container without a mount namespace makes its mounts on the host,
//! under the rootfs (runc does the same, and leaves them there). They all
//! sit on the one bind of the rootfs onto itself that the init makes, so
//! the runtime records that mount's id once the init is ready and detaches
//! it at delete, which takes every mount above it along; a mount that was
//! there before (another runtime's, the user's) is never the one recorded.

use std::path::Path;

use crate::error::{Context, Error};

/// The id of the topmost mount at `path`, from /proc/self/mountinfo.
pub fn top_mount_id(path: &Path) -> Result<Option<u64>, Error> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").context("reading mountinfo")?;
    Ok(top_mount_id_in(&text, path))
}

/// mountinfo escapes space, tab, newline and backslash in octal.
fn escape(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            ' ' | '\t' | '\n' | '\\' => out.push_str(&format!("\\{:03o}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn top_mount_id_in(mountinfo: &str, path: &Path) -> Option<u64> {
    // Later lines are mounted later: the last at a mount point is on top.
    mount_ids_at(mountinfo, path).last().copied()
}

/// Detaches the mount `id` at `rootfs` with everything mounted above it:
/// a mount stacked on it (by the container, or a second container on the
/// same rootfs) is detached first, each detach taking the top one.
pub fn release(rootfs: &Path, id: u64) -> Result<(), Error> {
    for _ in 0..64 {
        let text = std::fs::read_to_string("/proc/self/mountinfo").context("reading mountinfo")?;
        if !mount_ids_at(&text, rootfs).contains(&id) {
            return Ok(());
        }
        sys::mount::umount(rootfs, libc::MNT_DETACH).with_context(|| {
            format!("unmounting the container's mounts at {}", rootfs.display())
        })?;
    }
    Err(Error::Failed(format!(
        "{}: the container's rootfs mount is still there under 64 others",
        rootfs.display()
    )))
}

/// The ids of the mounts at `path`, bottom first.
fn mount_ids_at(mountinfo: &str, path: &Path) -> Vec<u64> {
    let want = escape(path);
    mountinfo
        .lines()
        .filter(|l| l.split(' ').nth(4) == Some(want.as_str()))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_mount_at_a_point_is_on_top() {
        let info = "\
22 1 8:1 / / rw - ext4 /dev/sda1 rw
40 22 8:1 /b/rootfs /b/rootfs rw - ext4 /dev/sda1 rw
41 40 0:5 / /b/rootfs/proc rw - proc proc rw
42 22 8:1 /b/rootfs /b/rootfs rw - ext4 /dev/sda1 rw
50 22 8:1 /x\\040y /x\\040y rw - ext4 /dev/sda1 rw
";
        assert_eq!(top_mount_id_in(info, Path::new("/b/rootfs")), Some(42));
        assert_eq!(top_mount_id_in(info, Path::new("/x y")), Some(50));
        assert_eq!(top_mount_id_in(info, Path::new("/b")), None);
    }
}
