//! The `tmpcopyup` mount option: a tmpfs mounted over a directory of the
//! image starts with a copy of what it hides (podman's volumes use it).
//!
//! The copy walks the hidden directory through descriptors with
//! O_NOFOLLOW: a symlink in the image is copied as a symlink, never
//! followed, so nothing outside the rootfs is read or written.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Directory depth at which the copy gives up (a loop of bind mounts in
/// an image could otherwise recurse without end).
const MAX_DEPTH: usize = 128;

/// Copies the contents of `from` into `to`, keeping modes, owners, times
/// of nothing else (as runc), symlinks as links and device nodes as nodes.
pub fn copy_tree(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> sys::Result<()> {
    copy_dir(from, to, 0)
}

fn copy_dir(from: BorrowedFd<'_>, to: BorrowedFd<'_>, depth: usize) -> sys::Result<()> {
    if depth > MAX_DEPTH {
        return Err(sys::Error::new(
            "tmpcopyup: directory tree too deep",
            libc::ELOOP,
        ));
    }
    let entries = std::fs::read_dir(sys::fs::proc_fd_path(from))
        .map_err(|e| sys::Error::new("readdir", e.raw_os_error().unwrap_or(libc::EIO)))?;
    for entry in entries {
        let entry =
            entry.map_err(|e| sys::Error::new("readdir", e.raw_os_error().unwrap_or(libc::EIO)))?;
        let name = entry.file_name();
        let name = Path::new(&name);
        if name.as_os_str().as_bytes().contains(&b'/') {
            continue;
        }
        copy_entry(from, to, name, depth)?;
    }
    Ok(())
}

fn copy_entry(
    from: BorrowedFd<'_>,
    to: BorrowedFd<'_>,
    name: &Path,
    depth: usize,
) -> sys::Result<()> {
    let st = sys::fs::fstatat_nofollow(from, name)?;
    let perm = st.st_mode & 0o7777;
    match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => {
            sys::fs::mkdirat(to, name, perm)?;
            let src = open_nofollow(from, name, libc::O_RDONLY | libc::O_DIRECTORY)?;
            let dst = open_nofollow(to, name, libc::O_RDONLY | libc::O_DIRECTORY)?;
            copy_dir(src.as_fd(), dst.as_fd(), depth + 1)?;
        }
        libc::S_IFREG => {
            let src = open_nofollow(from, name, libc::O_RDONLY)?;
            let dst = sys::fs::openat(
                Some(to),
                name,
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
                perm,
            )?;
            let mut r = std::fs::File::from(src);
            let mut w = std::fs::File::from(dst);
            std::io::copy(&mut r, &mut w).map_err(|e| {
                sys::Error::new("copy", e.raw_os_error().unwrap_or(libc::EIO)).with_path(name)
            })?;
        }
        libc::S_IFLNK => {
            let target = sys::fs::readlinkat(from, name)?;
            sys::fs::symlinkat(&target, to, name)?;
        }
        // FIFOs, sockets and device nodes: the same kind of node.
        kind => {
            let (major, minor) = (libc::major(st.st_rdev), libc::minor(st.st_rdev));
            sys::fs::mknodat(to, name, kind | perm, major, minor)?;
        }
    }
    // Our own new entry, named through the directory we hold.
    sys::fs::fchownat_nofollow(to, name, st.st_uid, st.st_gid)?;
    // mkdir and open apply the umask (0 in the init) but not setuid bits
    // through chown, which clears them: set the mode again last.
    if st.st_mode & libc::S_IFMT != libc::S_IFLNK {
        let fd = open_nofollow(to, name, libc::O_PATH)?;
        chmod_path(fd.as_fd(), perm)?;
    }
    Ok(())
}

fn open_nofollow(dir: BorrowedFd<'_>, name: &Path, flags: libc::c_int) -> sys::Result<OwnedFd> {
    sys::fs::openat(Some(dir), name, flags | libc::O_NOFOLLOW, 0)
}

/// chmod of an O_PATH descriptor (fchmod refuses those) through its magic link.
fn chmod_path(fd: BorrowedFd<'_>, mode: libc::mode_t) -> sys::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        sys::fs::proc_fd_path(fd),
        std::fs::Permissions::from_mode(mode),
    )
    .map_err(|e| sys::Error::new("chmod", e.raw_os_error().unwrap_or(libc::EIO)))
}
