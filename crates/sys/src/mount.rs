//! mount(2), umount2(2), pivot_root(2) and mount_setattr(2).

use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use crate::fs::cstr;
use crate::{check, check_long, Result};

/// `mount(source, target, fstype, flags, data)`. Targets are usually
/// `/proc/self/fd/N` magic links of descriptors resolved inside the rootfs.
pub fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> Result<()> {
    let src = source.map(|s| cstr("mount", s)).transpose()?;
    let tgt = cstr("mount", target)?;
    let fst = fstype.map(|s| cstr("mount", s)).transpose()?;
    let dat = data
        .filter(|d| !d.is_empty())
        .map(|s| cstr("mount", s))
        .transpose()?;
    let ptr = |c: &Option<std::ffi::CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is either null (allowed by mount(2) for source,
    // fstype and data) or a NUL-terminated string that outlives the call.
    let ret = unsafe { libc::mount(ptr(&src), tgt.as_ptr(), ptr(&fst), flags, ptr(&dat).cast()) };
    check(ret, "mount")
        .map(drop)
        .map_err(|e| e.with_path(target))
}

/// `umount2(target, flags)`.
pub fn umount(target: &Path, flags: libc::c_int) -> Result<()> {
    let c = cstr("umount", target)?;
    // SAFETY: `c` is NUL-terminated and outlives the call.
    check(unsafe { libc::umount2(c.as_ptr(), flags) }, "umount")
        .map(drop)
        .map_err(|e| e.with_path(target))
}

/// `pivot_root(new_root, put_old)`; called as `pivot_root(".", ".")` after
/// `fchdir` to the new root, which stacks the old root on top of the new one.
pub fn pivot_root(new_root: &Path, put_old: &Path) -> Result<()> {
    let n = cstr("pivot_root", new_root)?;
    let o = cstr("pivot_root", put_old)?;
    // SAFETY: both strings are NUL-terminated and outlive the call.
    let ret = unsafe { libc::syscall(libc::SYS_pivot_root, n.as_ptr(), o.as_ptr()) };
    check_long(ret, "pivot_root").map(drop)
}

/// Attributes for [`mount_setattr`], as the kernel's `struct mount_attr`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MountAttr {
    /// MOUNT_ATTR_* flags to set.
    pub attr_set: u64,
    /// MOUNT_ATTR_* flags to clear.
    pub attr_clr: u64,
    /// Propagation type (MS_SHARED, ...), 0 to leave it.
    pub propagation: u64,
    /// User namespace fd for MOUNT_ATTR_IDMAP.
    pub userns_fd: u64,
}

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR__ATIME: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;
const AT_RECURSIVE: libc::c_uint = 0x8000;

/// A detached copy of the mount at `path` (with `recursive`, of the mounts
/// below it too): a mount in no namespace, reached only through the
/// returned descriptor until [`move_mount_to`] attaches it.
pub fn open_tree_clone(path: &Path, recursive: bool) -> Result<std::os::fd::OwnedFd> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let c = cstr("open_tree", path)?;
    let rec = if recursive { AT_RECURSIVE } else { 0 };
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | rec;
    // SAFETY: `c` is NUL-terminated and outlives the call; open_tree returns
    // a new descriptor that we take ownership of below.
    let ret = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c.as_ptr(), flags) };
    let fd = check_long(ret, "open_tree").map_err(|e| e.with_path(path))?;
    // SAFETY: open_tree succeeded, so `fd` is a new descriptor nobody else owns.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as libc::c_int) })
}

/// A detached copy of the mount `fd` refers to (the part of it below the
/// file or directory `fd` is, as a bind mount takes), and with `recursive`
/// of the mounts below. Nothing is resolved by path: the mount a container
/// could redirect by swapping a symlink is never looked up again.
pub fn open_tree_clone_fd(fd: BorrowedFd<'_>, recursive: bool) -> Result<std::os::fd::OwnedFd> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let rec = if recursive { AT_RECURSIVE } else { 0 };
    let flags = OPEN_TREE_CLONE
        | libc::O_CLOEXEC as libc::c_uint
        | libc::AT_EMPTY_PATH as libc::c_uint
        | rec;
    let empty = c"";
    // SAFETY: the empty path with AT_EMPTY_PATH makes open_tree act on `fd`,
    // which is live for the call; it returns a new descriptor we own below.
    let ret = unsafe { libc::syscall(libc::SYS_open_tree, fd.as_raw_fd(), empty.as_ptr(), flags) };
    let fd = check_long(ret, "open_tree")?;
    // SAFETY: open_tree succeeded, so `fd` is a new descriptor nobody else owns.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as libc::c_int) })
}

/// A parameter of a new filesystem's context (fsconfig): a flag such as
/// "ro" (the superblock's), or a key with a value such as ("source", "tmpfs").
pub enum FsParam<'a> {
    Flag(&'a std::ffi::CStr),
    String(&'a std::ffi::CStr, &'a std::ffi::CStr),
}

/// A new, detached mount of a filesystem of type `fstype` (fsopen, fsconfig
/// with `params`, and fsmount) with `attrs` (MOUNT_ATTR_*), for mounts made
/// after pivot_root, when no path through /proc may be trusted to name a
/// target.
pub fn detached_fs(
    fstype: &std::ffi::CStr,
    params: &[FsParam<'_>],
    attrs: u64,
) -> Result<std::os::fd::OwnedFd> {
    const FSCONFIG_SET_FLAG: libc::c_uint = 0;
    const FSCONFIG_SET_STRING: libc::c_uint = 1;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const FSOPEN_CLOEXEC: libc::c_uint = 1;
    const FSMOUNT_CLOEXEC: libc::c_uint = 1;
    // SAFETY: `fstype` is NUL-terminated; fsopen returns a new descriptor.
    let ret = unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) };
    let fsfd = check_long(ret, "fsopen")? as libc::c_int;
    // SAFETY: fsopen succeeded: `fsfd` is a new descriptor we own.
    let fsfd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fsfd) };
    for param in params {
        let (cmd, key, value) = match param {
            FsParam::Flag(key) => (FSCONFIG_SET_FLAG, key, std::ptr::null()),
            FsParam::String(key, value) => (FSCONFIG_SET_STRING, key, value.as_ptr()),
        };
        // SAFETY: `key` and `value` (when not null) are NUL-terminated and
        // live for the call; SET_FLAG takes a null value and aux 0, as
        // SET_STRING does aux; `fsfd` is live.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fsfd.as_raw_fd(),
                cmd,
                key.as_ptr(),
                value as *const libc::c_void,
                0,
            )
        };
        check_long(ret, "fsconfig")?;
    }
    // SAFETY: FSCONFIG_CMD_CREATE takes no key, value or aux; `fsfd` is live.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fsfd.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    check_long(ret, "fsconfig")?;
    // SAFETY: `fsfd` is a configured filesystem context, live for the call;
    // fsmount returns a new descriptor we own below.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            fsfd.as_raw_fd(),
            FSMOUNT_CLOEXEC,
            attrs as libc::c_uint,
        )
    };
    let fd = check_long(ret, "fsmount")?;
    // SAFETY: fsmount succeeded, so `fd` is a new descriptor nobody else owns.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as libc::c_int) })
}

/// A detached, read-only bind mount of `path` (a file or a directory): a
/// mount in no namespace, which no one can remount.
pub fn detached_readonly_bind(path: &Path) -> Result<std::os::fd::OwnedFd> {
    let fd = open_tree_clone(path, false)?;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        ..Default::default()
    };
    mount_setattr(std::os::fd::AsFd::as_fd(&fd), &attr, 0)?;
    Ok(fd)
}

/// Sets `attr` on the detached tree `fd` (and below it with `recursive`).
pub fn set_tree_attr(fd: BorrowedFd<'_>, attr: &MountAttr, recursive: bool) -> Result<()> {
    mount_setattr(fd, attr, if recursive { AT_RECURSIVE } else { 0 })
}

/// MOUNT_ATTR_IDMAP: files appear with ids mapped through `userns_fd`.
pub const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// Attaches the detached mount `tree` on the directory or file `target`.
pub fn move_mount_to(tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> Result<()> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    let empty = c"";
    // SAFETY: both descriptors are live for the call and both paths are the
    // empty string, which the EMPTY_PATH flags make refer to them.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            empty.as_ptr(),
            target.as_raw_fd(),
            empty.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    check_long(ret, "move_mount").map(drop)
}

/// Applies `attr` to the mount at `fd` and every mount below it.
pub fn mount_setattr_recursive(fd: BorrowedFd<'_>, attr: &MountAttr) -> Result<()> {
    mount_setattr(fd, attr, AT_RECURSIVE)
}

fn mount_setattr(fd: BorrowedFd<'_>, attr: &MountAttr, flags: libc::c_uint) -> Result<()> {
    let empty = c"";
    // SAFETY: `attr` is a repr(C) mirror of struct mount_attr whose size we
    // pass; the empty path with AT_EMPTY_PATH makes the call act on `fd`,
    // which is live for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_EMPTY_PATH as libc::c_uint | flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    check_long(ret, "mount_setattr").map(drop)
}
