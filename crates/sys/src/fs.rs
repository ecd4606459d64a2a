//! File-descriptor based file system calls.
//!
//! Container paths are always resolved with `openat2(RESOLVE_IN_ROOT)` against
//! a descriptor of the container's root, so a symlink in the rootfs can never
//! lead outside it (CVE-2021-30465 and friends).

use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::{check, check_long, retry, Error, Result};

/// Converts a path to a C string; an interior NUL is `EINVAL`.
pub fn cstr(op: &'static str, path: impl AsRef<OsStr>) -> Result<CString> {
    let path = path.as_ref();
    CString::new(path.as_bytes()).map_err(|_| Error::new(op, libc::EINVAL).with_path(path))
}

/// The magic link that names `fd` for path-based calls such as `mount(2)`.
pub fn proc_fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn owned(fd: libc::c_int) -> OwnedFd {
    // SAFETY: callers pass a descriptor the kernel just returned to us, which
    // nothing else owns yet.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// `openat(dirfd, path, flags | O_CLOEXEC, mode)`; `None` means `AT_FDCWD`.
pub fn openat(
    dir: Option<BorrowedFd<'_>>,
    path: &Path,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> Result<OwnedFd> {
    let c = cstr("open", path)?;
    let dirfd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    retry(|| {
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call
        // and `dirfd` is either AT_FDCWD or a descriptor borrowed for the call.
        let fd = unsafe { libc::openat(dirfd, c.as_ptr(), flags | libc::O_CLOEXEC, mode) };
        check(fd, "open").map(owned)
    })
    .map_err(|e| e.with_path(path))
}

/// Opens `path` relative to `root` as if `root` were `/`: `..` and absolute
/// symlinks stop at `root`, and magic links are refused.
pub fn open_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> Result<OwnedFd> {
    openat2(
        Some(root),
        path,
        flags,
        mode,
        libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
    )
}

/// `openat2(dir, path, {flags | O_CLOEXEC, mode, resolve})`; `None` means
/// `AT_FDCWD`.
pub fn openat2(
    dir: Option<BorrowedFd<'_>>,
    path: &Path,
    flags: libc::c_int,
    mode: libc::mode_t,
    resolve: u64,
) -> Result<OwnedFd> {
    let c = cstr("openat2", path)?;
    let dirfd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: open_how is a plain C struct for which all-zero is a valid value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = if flags & (libc::O_CREAT | libc::O_TMPFILE) != 0 {
        mode as u64
    } else {
        0
    };
    how.resolve = resolve;
    retry(|| {
        // SAFETY: `how` is a fully initialised open_how whose size we pass,
        // `c` is NUL-terminated and outlives the call, and `dirfd` is
        // AT_FDCWD or a live descriptor borrowed for the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dirfd,
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        check_long(fd, "openat2").map(|fd| owned(fd as libc::c_int))
    })
    .map_err(|e| e.with_path(path))
}

/// `mkdirat(dir, name, mode)`; `EEXIST` is returned as an error for the caller to judge.
pub fn mkdirat(dir: BorrowedFd<'_>, name: &Path, mode: libc::mode_t) -> Result<()> {
    let c = cstr("mkdir", name)?;
    // SAFETY: `c` is NUL-terminated and `dir` is a live descriptor for the call.
    let ret = unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode) };
    check(ret, "mkdir").map(drop).map_err(|e| e.with_path(name))
}

/// `mknodat(dir, name, mode, makedev(major, minor))`.
pub fn mknodat(
    dir: BorrowedFd<'_>,
    name: &Path,
    mode: libc::mode_t,
    major: u32,
    minor: u32,
) -> Result<()> {
    let c = cstr("mknod", name)?;
    let dev = libc::makedev(major, minor);
    // SAFETY: `c` is NUL-terminated and `dir` is a live descriptor for the call.
    let ret = unsafe { libc::mknodat(dir.as_raw_fd(), c.as_ptr(), mode, dev) };
    check(ret, "mknod").map(drop).map_err(|e| e.with_path(name))
}

/// `symlinkat(target, dir, name)`.
pub fn symlinkat(target: &Path, dir: BorrowedFd<'_>, name: &Path) -> Result<()> {
    let t = cstr("symlink", target)?;
    let c = cstr("symlink", name)?;
    // SAFETY: both strings are NUL-terminated and `dir` is live for the call.
    let ret = unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), c.as_ptr()) };
    check(ret, "symlink")
        .map(drop)
        .map_err(|e| e.with_path(name))
}

/// `readlinkat(dir, name)`.
pub fn readlinkat(dir: BorrowedFd<'_>, name: &Path) -> Result<PathBuf> {
    let c = cstr("readlink", name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: `buf` is writable for its length, `c` is NUL-terminated and
    // `dir` is live for the call.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            c.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    let n = check_long(n as libc::c_long, "readlink").map_err(|e| e.with_path(name))?;
    buf.truncate(n as usize);
    Ok(PathBuf::from(
        <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(buf),
    ))
}

/// `fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW)` on a node we created
/// ourselves in a directory we hold.
pub fn fchownat_nofollow(dir: BorrowedFd<'_>, name: &Path, uid: u32, gid: u32) -> Result<()> {
    let c = cstr("chown", name)?;
    // SAFETY: `c` is NUL-terminated and `dir` is live for the call.
    let ret = unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            c.as_ptr(),
            uid,
            gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    check(ret, "chown").map(drop).map_err(|e| e.with_path(name))
}

/// `unlinkat(dir, name, 0)`.
pub fn unlinkat(dir: BorrowedFd<'_>, name: &Path) -> Result<()> {
    let c = cstr("unlink", name)?;
    // SAFETY: `c` is NUL-terminated and `dir` is live for the call.
    let ret = unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) };
    check(ret, "unlink")
        .map(drop)
        .map_err(|e| e.with_path(name))
}

/// `fchown(fd, uid, gid)` on a file we created ourselves.
pub fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> Result<()> {
    // SAFETY: `fd` is a live descriptor borrowed for the call.
    check(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) }, "chown").map(drop)
}

/// `fchmod(fd, mode)` on a file we created ourselves.
pub fn fchmod(fd: BorrowedFd<'_>, mode: libc::mode_t) -> Result<()> {
    // SAFETY: `fd` is a live descriptor borrowed for the call.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), mode) }, "chmod").map(drop)
}

/// `fstat(fd)`.
pub fn fstat(fd: BorrowedFd<'_>) -> Result<libc::stat> {
    // SAFETY: stat is plain data; all-zero is valid and the kernel fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer and `fd` is live for the call.
    check(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) }, "stat")?;
    Ok(st)
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`.
pub fn fstatat_nofollow(dir: BorrowedFd<'_>, name: &Path) -> Result<libc::stat> {
    let c = cstr("stat", name)?;
    // SAFETY: stat is plain data; all-zero is valid and the kernel fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer, `c` is NUL-terminated and `dir`
    // is live for the call.
    let ret = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    check(ret, "stat").map_err(|e| e.with_path(name))?;
    Ok(st)
}

/// The filesystem type (statfs f_type) of `path`.
pub fn fs_type(path: &Path) -> Result<i64> {
    let c = cstr("statfs", path)?;
    // SAFETY: statfs is plain data; all-zero is valid and the kernel fills it.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is NUL-terminated and `st` a valid out-pointer for the call.
    check(unsafe { libc::statfs(c.as_ptr(), &mut st) }, "statfs").map_err(|e| e.with_path(path))?;
    Ok(st.f_type as i64)
}

/// The filesystem type (statfs f_type) of the file `fd` refers to.
pub fn fd_fs_type(fd: BorrowedFd<'_>) -> Result<i64> {
    // SAFETY: statfs is plain data; all-zero is valid and the kernel fills it.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer and `fd` is live for the call.
    check(unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) }, "statfs")?;
    Ok(st.f_type as i64)
}

/// `fstatvfs(fd)` mount flags (`ST_RDONLY`, `ST_NOSUID`, ...).
pub fn mount_flags_of(fd: BorrowedFd<'_>) -> Result<u64> {
    // SAFETY: statvfs is plain data; all-zero is valid and the kernel fills it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer and `fd` is live for the call.
    let ret = unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) };
    check(ret, "statvfs")?;
    Ok(st.f_flag)
}

/// `mkfifo(path, mode)`.
pub fn mkfifo(path: &Path, mode: libc::mode_t) -> Result<()> {
    let c = cstr("mkfifo", path)?;
    // SAFETY: `c` is NUL-terminated and outlives the call.
    check(unsafe { libc::mkfifo(c.as_ptr(), mode) }, "mkfifo")
        .map(drop)
        .map_err(|e| e.with_path(path))
}

/// Takes an exclusive POSIX record lock on the whole file `fd` (open for
/// writing), waiting for it if `wait`; `Ok(false)` when it is held and
/// `wait` is false. Record locks belong to the process: a fork-like child
/// does not inherit them, so a container init never holds its state lock.
pub fn lock_record(fd: BorrowedFd<'_>, wait: bool) -> Result<bool> {
    // SAFETY: flock is plain data; all-zero is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    let cmd = if wait { libc::F_SETLKW } else { libc::F_SETLK };
    let r = retry(|| {
        // SAFETY: `fl` is a valid flock for the call and `fd` is live.
        check(
            unsafe { libc::fcntl(fd.as_raw_fd(), cmd, &fl) },
            "fcntl(F_SETLK)",
        )
    });
    match r {
        Ok(_) => Ok(true),
        Err(e) if !wait && matches!(e.errno(), libc::EAGAIN | libc::EACCES) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `fchdir(fd)`.
pub fn fchdir(fd: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: `fd` is a live descriptor borrowed for the call.
    check(unsafe { libc::fchdir(fd.as_raw_fd()) }, "fchdir").map(drop)
}

/// `chdir(path)`.
pub fn chdir(path: &Path) -> Result<()> {
    let c = cstr("chdir", path)?;
    // SAFETY: `c` is NUL-terminated and outlives the call.
    check(unsafe { libc::chdir(c.as_ptr()) }, "chdir")
        .map(drop)
        .map_err(|e| e.with_path(path))
}

/// `chroot(path)`.
pub fn chroot(path: &Path) -> Result<()> {
    let c = cstr("chroot", path)?;
    // SAFETY: `c` is NUL-terminated and outlives the call.
    check(unsafe { libc::chroot(c.as_ptr()) }, "chroot")
        .map(drop)
        .map_err(|e| e.with_path(path))
}

/// The current directory as the kernel reports it. A directory outside the
/// process's root comes back from the kernel prefixed with "(unreachable)".
pub fn getcwd() -> Result<PathBuf> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: `buf` is writable for `buf.len()` bytes for the whole call.
    let ret = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
    let len = check_long(ret, "getcwd")? as usize;
    // The raw syscall returns the length including the trailing NUL.
    buf.truncate(len.saturating_sub(1));
    Ok(PathBuf::from(
        <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(buf),
    ))
}

/// Sets the process umask, returning the previous one.
pub fn umask(mask: libc::mode_t) -> libc::mode_t {
    // SAFETY: umask cannot fail and touches only this process's umask.
    unsafe { libc::umask(mask) }
}

/// Marks every descriptor from `first` up as close-on-exec.
pub fn cloexec_from(first: RawFd) -> Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on the
    // descriptors in range; no descriptor is closed under an owner's feet.
    let ret = unsafe {
        libc::close_range(
            first as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_int,
        )
    };
    check(ret, "close_range").map(drop)
}

/// Closes every descriptor from 3 up except those in `keep`, for a child
/// that goes on only to execve or to exit.
///
/// Descriptors owned elsewhere in this process (an `OwnedFd`, a `File`)
/// are closed under their owners' feet, so none of them may be used or
/// dropped afterwards (a debug build aborts on the drop of a closed fd).
pub fn close_all_except_before_exec(keep: &[RawFd]) -> Result<()> {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|&fd| fd >= 3).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut first: libc::c_uint = 3;
    for fd in keep
        .iter()
        .map(|&fd| fd as libc::c_uint)
        .chain([libc::c_uint::MAX])
    {
        if fd > first {
            // SAFETY: close_range touches no memory; the range holds no
            // descriptor the caller keeps, and the caller's owners of the
            // others never use them again (see the doc comment).
            let ret = unsafe { libc::close_range(first, fd - 1, 0) };
            check(ret, "close_range")?;
        }
        first = fd.saturating_add(1);
    }
    Ok(())
}

/// Sets or clears `FD_CLOEXEC` on `fd`.
pub fn set_cloexec(fd: RawFd, on: bool) -> Result<()> {
    // SAFETY: F_GETFD/F_SETFD only read and set descriptor flags; an fd that
    // is not open yields EBADF.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFD) }, "fcntl")?;
    let new = if on {
        flags | libc::FD_CLOEXEC
    } else {
        flags & !libc::FD_CLOEXEC
    };
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, new) }, "fcntl").map(drop)
}

/// `memfd_create(name, MFD_CLOEXEC)`: an anonymous file, e.g. to collect a
/// child's output without a pipe that could fill up.
pub fn memfd(name: &std::ffi::CStr) -> Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated and outlives the call.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    check(fd, "memfd_create").map(owned)
}

/// `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)`.
pub fn memfd_sealable(name: &std::ffi::CStr) -> Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated and outlives the call.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    check(fd, "memfd_create").map(owned)
}

/// Seals `fd` against any further change of its content or size, and
/// against changes of the seals themselves.
pub fn seal_all(fd: BorrowedFd<'_>) -> Result<()> {
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: F_ADD_SEALS takes an integer and only changes the file's seals.
    check(
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) },
        "fcntl(F_ADD_SEALS)",
    )
    .map(drop)
}

/// The seals of `fd` (0 for a file that cannot be sealed).
pub fn seals_of(fd: BorrowedFd<'_>) -> i32 {
    // SAFETY: F_GET_SEALS only reads the seals; it fails harmlessly on other files.
    let ret = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
    ret.max(0)
}

/// Whether `fd` is an open descriptor of this process.
pub fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD on any integer is harmless; it fails with EBADF when closed.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// One of this process's standard descriptors (0, 1, 2), if it is open.
pub fn stdio(fd: RawFd) -> Option<BorrowedFd<'static>> {
    // SAFETY: only 0..=2 are borrowed, and only while open; the runtime
    // never closes its stdio, and a caller that dup2()s over one keeps the
    // number valid.
    ((0..=2).contains(&fd) && is_open(fd)).then(|| unsafe { BorrowedFd::borrow_raw(fd) })
}

/// Duplicates `fd` to the lowest free descriptor `>= min`, close-on-exec.
/// Used to keep our own descriptors out of the range `--preserve-fds` hands
/// to the container.
pub fn dup_at_least(fd: BorrowedFd<'_>, min: RawFd) -> Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC creates a new descriptor that we take ownership of.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
    check(new, "fcntl(F_DUPFD_CLOEXEC)").map(owned)
}

/// `read(2)` retried on EINTR.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize> {
    retry(|| {
        // SAFETY: `buf` is writable for its length and `fd` is live for the call.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        check_long(n as libc::c_long, "read").map(|n| n as usize)
    })
}

/// `write(2)` retried on EINTR.
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<usize> {
    retry(|| {
        // SAFETY: `buf` is readable for its length and `fd` is live for the call.
        let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
        check_long(n as libc::c_long, "write").map(|n| n as usize)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn open_in_root_keeps_symlinks_inside() {
        let dir = std::env::temp_dir().join(format!("corten-sys-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("root/etc")).unwrap();
        std::fs::write(dir.join("root/etc/marker"), "inside").unwrap();
        // An absolute symlink that would escape on the host.
        std::os::unix::fs::symlink("/etc", dir.join("root/link")).unwrap();
        let root = openat(None, &dir.join("root"), libc::O_PATH | libc::O_DIRECTORY, 0).unwrap();
        let fd = open_in_root(root.as_fd(), Path::new("link/marker"), libc::O_RDONLY, 0).unwrap();
        let mut buf = [0u8; 16];
        let n = read(fd.as_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"inside");
        let up = open_in_root(
            root.as_fd(),
            Path::new("../../../etc/marker"),
            libc::O_RDONLY,
            0,
        );
        assert!(up.is_ok(), "dot-dot must stop at the root");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn getcwd_reports_current_directory() {
        let cwd = getcwd().unwrap();
        assert_eq!(cwd, std::env::current_dir().unwrap());
    }
}
