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

/// The mount point of the mount `path` is on (the longest mount point
/// that contains it), from this namespace's mountinfo.
pub fn mount_point_of(path: &Path) -> Result<std::path::PathBuf, Error> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").context("reading mountinfo")?;
    Ok(mount_point_in(&text, path))
}

fn mount_point_in(mountinfo: &str, path: &Path) -> std::path::PathBuf {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape)
        .filter(|mp| path.starts_with(mp))
        .max_by_key(|mp| mp.components().count())
        .unwrap_or_else(|| "/".into())
}

/// The inverse of [`escape`]: `\NNN` octal to the byte.
pub(super) fn unescape(field: &str) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push(d.iter().fold(0u8, |v, c| v.wrapping_mul(8) + (c - b'0')));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    std::ffi::OsString::from_vec(out).into()
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
    fn the_mount_a_path_is_on_is_the_longest_mount_point_containing_it() {
        let info = "\
22 1 8:1 / / rw - ext4 /dev/sda1 rw
30 22 8:1 /v /var/lib rw - ext4 /dev/sda1 rw
31 22 8:1 /v /var/lib2 rw - ext4 /dev/sda1 rw
50 22 8:1 /x\\040y /x\\040y rw - ext4 /dev/sda1 rw
";
        let at = |p: &str| mount_point_in(info, Path::new(p));
        assert_eq!(at("/var/lib/c/rootfs"), Path::new("/var/lib"));
        assert_eq!(at("/var/lib2"), Path::new("/var/lib2"));
        assert_eq!(at("/var/lib3/x"), Path::new("/"));
        assert_eq!(at("/x y/r"), Path::new("/x y"));
    }

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
