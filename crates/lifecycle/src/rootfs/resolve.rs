//! Creating paths inside the rootfs without ever leaving it.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use sys::fs::open_in_root;

/// Symlinks followed while creating one path, as the kernel's own limit.
const MAX_LINKS: usize = 40;

/// Opens `path` inside `root` as O_PATH (following symlinks inside the root).
pub fn open(root: BorrowedFd<'_>, path: &Path) -> sys::Result<OwnedFd> {
    open_in_root(root, path, libc::O_PATH, 0)
}

/// `mkdir -p` inside `root`. A symlink on the way is followed inside the
/// root, and a dangling one gets its target created, as runc does.
pub fn mkdir_all(root: BorrowedFd<'_>, path: &Path, mode: libc::mode_t) -> sys::Result<OwnedFd> {
    let mut links = 0;
    mkdir_all_inner(root, &normalize(path), mode, &mut links)
}

fn mkdir_all_inner(
    root: BorrowedFd<'_>,
    path: &Path,
    mode: libc::mode_t,
    links: &mut usize,
) -> sys::Result<OwnedFd> {
    let mut cur = PathBuf::from("/");
    let mut dir = open_in_root(root, &cur, libc::O_PATH | libc::O_DIRECTORY, 0)?;
    for comp in path.components() {
        let Component::Normal(name) = comp else {
            continue;
        };
        cur.push(name);
        match open_in_root(root, &cur, libc::O_PATH | libc::O_DIRECTORY, 0) {
            Ok(fd) => dir = fd,
            Err(e) if e.errno() == libc::ENOENT => {
                match sys::fs::mkdirat(dir.as_fd(), Path::new(name), mode) {
                    Ok(()) => {}
                    Err(e) if e.errno() == libc::EEXIST => {
                        // A dangling symlink: create what it points to.
                        let target = sys::fs::readlinkat(dir.as_fd(), Path::new(name))?;
                        *links += 1;
                        if *links > MAX_LINKS {
                            return Err(sys::Error::new("mkdir", libc::ELOOP).with_path(&cur));
                        }
                        let parent = cur.parent().unwrap_or(Path::new("/")).to_path_buf();
                        let resolved = if target.is_absolute() {
                            target
                        } else {
                            parent.join(target)
                        };
                        mkdir_all_inner(root, &normalize(&resolved), mode, links)?;
                    }
                    Err(e) => return Err(e),
                }
                dir = open_in_root(root, &cur, libc::O_PATH | libc::O_DIRECTORY, 0)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(dir)
}

/// Creates an empty file at `path` inside `root` (for bind mounts of files),
/// making its parents; an existing file is kept.
pub fn create_file(root: BorrowedFd<'_>, path: &Path) -> sys::Result<()> {
    let path = normalize(path);
    if let Some(parent) = path.parent() {
        mkdir_all(root, parent, 0o755)?;
    }
    open_in_root(root, &path, libc::O_CREAT | libc::O_RDONLY, 0o644).map(drop)
}

/// Splits `path` into its parent (created inside `root`) and its file name.
pub fn parent_and_name(root: BorrowedFd<'_>, path: &Path) -> sys::Result<(OwnedFd, PathBuf)> {
    let path = normalize(path);
    let name = path
        .file_name()
        .map(PathBuf::from)
        .ok_or_else(|| sys::Error::new("resolve", libc::EINVAL).with_path(&path))?;
    let parent = mkdir_all(root, path.parent().unwrap_or(Path::new("/")), 0o755)?;
    Ok((parent, name))
}

/// Lexically removes `.` and `..` (a `..` at the top stays at the top, as
/// it would at a real root).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for comp in path.components() {
        match comp {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_stays_at_the_top() {
        assert_eq!(
            normalize(Path::new("/../../etc/./x/../y")),
            PathBuf::from("/etc/y")
        );
        assert_eq!(normalize(Path::new("a/b")), PathBuf::from("/a/b"));
    }

    #[test]
    fn mkdir_all_follows_dangling_symlinks_inside_the_root() {
        let base = std::env::temp_dir().join(format!("corten-resolve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("root")).unwrap();
        let host_dir = base.join("host-dir");
        std::os::unix::fs::symlink(&host_dir, base.join("root/evil")).unwrap();
        let root = sys::fs::openat(
            None,
            &base.join("root"),
            libc::O_PATH | libc::O_DIRECTORY,
            0,
        )
        .unwrap();
        mkdir_all(root.as_fd(), Path::new("/evil/sub"), 0o755).unwrap();
        assert!(!host_dir.exists(), "must not create anything on the host");
        assert!(base
            .join("root")
            .join(host_dir.strip_prefix("/").unwrap())
            .join("sub")
            .is_dir());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
