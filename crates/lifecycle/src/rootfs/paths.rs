//! maskedPaths and readonlyPaths, applied after pivot_root, so every path
//! resolves inside the container.

use std::os::fd::AsFd;
use std::path::Path;

use super::mounts::remount;

/// Hides `path`: a directory under an empty read-only tmpfs, a file under
/// /dev/null. A path that does not exist needs no hiding.
pub fn mask(path: &Path) -> sys::Result<()> {
    let fd = match sys::fs::openat(None, path, libc::O_PATH | libc::O_NOFOLLOW, 0) {
        Err(e) if e.errno() == libc::ENOENT => return Ok(()),
        other => other?,
    };
    let is_dir = sys::fs::fstat(fd.as_fd())?.st_mode & libc::S_IFMT == libc::S_IFDIR;
    let target = sys::fs::proc_fd_path(fd.as_fd());
    if is_dir {
        return sys::mount::mount(
            Some(Path::new("tmpfs")),
            &target,
            Some("tmpfs"),
            libc::MS_RDONLY,
            None,
        );
    }
    // Bind only a /dev/null that really is the null device: a rootfs could
    // plant a file there to be shown in place of /proc/kcore.
    let null = sys::fs::openat(
        None,
        Path::new("/dev/null"),
        libc::O_PATH | libc::O_NOFOLLOW,
        0,
    )?;
    let st = sys::fs::fstat(null.as_fd())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != libc::makedev(1, 3) {
        return Err(sys::Error::new(
            "mask: /dev/null is not the null device",
            libc::EINVAL,
        ));
    }
    sys::mount::mount(
        Some(&sys::fs::proc_fd_path(null.as_fd())),
        &target,
        None,
        libc::MS_BIND,
        None,
    )
}

/// Binds `path` onto itself read-only; missing paths are skipped.
pub fn make_readonly(path: &Path) -> sys::Result<()> {
    let fd = match sys::fs::openat(None, path, libc::O_PATH | libc::O_NOFOLLOW, 0) {
        Err(e) if e.errno() == libc::ENOENT => return Ok(()),
        other => other?,
    };
    let at = sys::fs::proc_fd_path(fd.as_fd());
    sys::mount::mount(Some(&at), &at, None, libc::MS_BIND | libc::MS_REC, None)?;
    remount_readonly(path, true)
}

/// Remounts the mount at `path` read-only, keeping its locked flags.
pub fn remount_readonly(path: &Path, recursive: bool) -> sys::Result<()> {
    let fd = sys::fs::openat(None, path, libc::O_PATH, 0)?;
    let rec = if recursive { libc::MS_REC } else { 0 };
    remount(fd.as_fd(), libc::MS_RDONLY | rec)
}
