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
    let open_dir = |p: &Path| open_in_root(root, p, libc::O_PATH | libc::O_DIRECTORY, 0);
    // Most paths exist, or lack only their last parts: find the deepest
    // existing one from the end (one lookup for an existing path, where a
    // walk from the top paid one per component).
    let names: Vec<&std::ffi::OsStr> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    let mut have = names.len();
    let mut dir = loop {
        let cur: PathBuf = std::iter::once(Component::RootDir.as_os_str())
            .chain(names[..have].iter().copied())
            .collect();
        match open_dir(&cur) {
            Ok(fd) => break fd,
            Err(e) if e.errno() == libc::ENOENT && have > 0 => have -= 1,
            Err(e) => return Err(e),
        }
    };
    let mut cur: PathBuf = std::iter::once(Component::RootDir.as_os_str())
        .chain(names[..have].iter().copied())
        .collect();
    for name in &names[have..] {
        cur.push(name);
        match sys::fs::mkdirat(dir.as_fd(), Path::new(name), mode) {
            Ok(()) => {}
            Err(e) if e.errno() == libc::EEXIST => {
                // A dangling symlink (or a racing mkdir): create what it
                // points to, if anything.
                if let Ok(target) = sys::fs::readlinkat(dir.as_fd(), Path::new(name)) {
                    *links += 1;
                    if *links > MAX_LINKS {
                        return Err(sys::Error::new("mkdir", libc::ELOOP).with_path(&cur));
                    }
                    let resolved = if target.is_absolute() {
                        target
                    } else {
                        // Relative to where the link really is: `cur` may
                        // have come through other links.
                        let parent = path_in_root(root, dir.as_fd()).unwrap_or_else(|| {
                            cur.parent().unwrap_or(Path::new("/")).to_path_buf()
                        });
                        parent.join(target)
                    };
                    mkdir_all_inner(root, &normalize(&resolved), mode, links)?;
                }
            }
            Err(e) => return Err(e),
        }
        dir = open_dir(&cur)?;
    }
    Ok(dir)
}

/// Where directory `dir` is inside `root`, as the kernel names both.
fn path_in_root(root: BorrowedFd<'_>, dir: BorrowedFd<'_>) -> Option<PathBuf> {
    let root = std::fs::read_link(sys::fs::proc_fd_path(root)).ok()?;
    let dir = std::fs::read_link(sys::fs::proc_fd_path(dir)).ok()?;
    Some(Path::new("/").join(dir.strip_prefix(&root).ok()?))
}

/// Creates an empty file at `path` inside `root` (for bind mounts of files),
/// making its parents; whatever exists there is kept. A dangling symlink
/// gets its target created, followed inside the root with its parents, as
/// runc does (`/etc/x -> /foo/bar/x`).
pub fn create_file(root: BorrowedFd<'_>, path: &Path) -> sys::Result<()> {
    let mut path = normalize(path);
    let mut links = 0;
    loop {
        let Some(name) = path.file_name().map(PathBuf::from) else {
            return Ok(()); // the root itself
        };
        let parent = path.parent().unwrap_or(Path::new("/"));
        let dir = mkdir_all_inner(root, parent, 0o755, &mut links)?;
        // Looked at, not opened: opening an image's FIFO or device node
        // could block or act on it.
        match sys::fs::fstatat_nofollow(dir.as_fd(), &name) {
            Ok(st) if st.st_mode & libc::S_IFMT != libc::S_IFLNK => return Ok(()),
            Ok(_) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(sys::Error::new("create", libc::ELOOP).with_path(&path));
                }
                let target = sys::fs::readlinkat(dir.as_fd(), &name)?;
                let at = path_in_root(root, dir.as_fd()).unwrap_or_else(|| parent.to_path_buf());
                path = normalize(&at.join(target));
            }
            Err(e) if e.errno() == libc::ENOENT => {
                let flags = libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_RDONLY;
                return match sys::fs::openat(Some(dir.as_fd()), &name, flags, 0o644) {
                    // Made meanwhile by someone else: it exists.
                    Err(e) if e.errno() == libc::EEXIST => Ok(()),
                    other => other.map(drop),
                };
            }
            Err(e) => return Err(e),
        }
    }
}

/// Parents (created inside the root) for many entries of one directory
/// (/dev's nodes and links): the last one is kept open, not resolved again.
pub struct Parents<'r> {
    root: BorrowedFd<'r>,
    last: Option<(PathBuf, OwnedFd)>,
}

impl<'r> Parents<'r> {
    pub fn new(root: BorrowedFd<'r>) -> Self {
        Parents { root, last: None }
    }

    /// The parent of `path` (created inside the root) and its file name.
    pub fn get(&mut self, path: &Path) -> sys::Result<(BorrowedFd<'_>, PathBuf)> {
        let path = normalize(path);
        let name = path
            .file_name()
            .map(PathBuf::from)
            .ok_or_else(|| sys::Error::new("resolve", libc::EINVAL).with_path(&path))?;
        let parent = path.parent().unwrap_or(Path::new("/"));
        let fd = match self.last.take() {
            Some((p, fd)) if p == parent => fd,
            _ => mkdir_all(self.root, parent, 0o755)?,
        };
        let kept: &(PathBuf, OwnedFd) = self.last.insert((parent.to_path_buf(), fd));
        Ok((kept.1.as_fd(), name))
    }
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
    fn mkdir_all_makes_what_is_missing_and_opens_the_leaf() {
        use std::os::unix::fs::MetadataExt;
        let base = std::env::temp_dir().join(format!("corten-mkdirall-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("a/b")).unwrap();
        std::os::unix::fs::symlink("/a", base.join("link")).unwrap();
        std::fs::write(base.join("file"), "").unwrap();
        let root = sys::fs::openat(None, &base, libc::O_PATH | libc::O_DIRECTORY, 0).unwrap();
        let ino = |fd: &OwnedFd| {
            let p = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(fd));
            std::fs::metadata(p).unwrap().ino()
        };
        for (path, made) in [
            ("/a/b", "a/b"),         // all there
            ("/a/b/c/d", "a/b/c/d"), // the last two missing
            ("/link/x/../y", "a/y"), // through a symlink, `..` lexical
            ("/../../new", "new"),   // cannot climb out
        ] {
            let fd = mkdir_all(root.as_fd(), Path::new(path), 0o755).unwrap();
            let made = base.join(made);
            assert!(made.is_dir(), "{path}");
            assert_eq!(ino(&fd), std::fs::metadata(&made).unwrap().ino(), "{path}");
        }
        let e = mkdir_all(root.as_fd(), Path::new("/file/sub"), 0o755).unwrap_err();
        assert_eq!(e.errno(), libc::ENOTDIR);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn create_file_makes_a_dangling_symlinks_target_inside_the_root() {
        let base = std::env::temp_dir().join(format!("corten-mkfile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("root/etc")).unwrap();
        let host_file = base.join("host/file");
        std::os::unix::fs::symlink("/foo/bar/here", base.join("root/etc/abs")).unwrap();
        std::os::unix::fs::symlink("../rel/f", base.join("root/etc/rel")).unwrap();
        std::os::unix::fs::symlink(&host_file, base.join("root/etc/host")).unwrap();
        std::os::unix::fs::symlink("loop", base.join("root/etc/loop")).unwrap();
        let root = sys::fs::openat(None, &base.join("root"), libc::O_PATH, 0).unwrap();
        for (link, made) in [
            ("/etc/abs", "root/foo/bar/here"),
            ("/etc/rel", "root/rel/f"),
            ("/etc/new", "root/etc/new"),
            ("/etc/abs", "root/foo/bar/here"), // exists now: kept
        ] {
            create_file(root.as_fd(), Path::new(link)).unwrap();
            assert!(base.join(made).is_file(), "{link}");
        }
        create_file(root.as_fd(), Path::new("/etc/host")).unwrap();
        assert!(!host_file.exists(), "must not create anything on the host");
        let e = create_file(root.as_fd(), Path::new("/etc/loop")).unwrap_err();
        assert_eq!(e.errno(), libc::ELOOP);
        std::fs::remove_dir_all(&base).unwrap();
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
        // Review: a relative link is taken from where it really is (/deep/dir),
        // not from the path that led to it (/d).
        std::fs::create_dir_all(base.join("root/deep/dir")).unwrap();
        std::os::unix::fs::symlink("deep/dir", base.join("root/d")).unwrap();
        std::os::unix::fs::symlink("../b", base.join("root/deep/dir/l")).unwrap();
        mkdir_all(root.as_fd(), Path::new("/d/l/w"), 0o755).unwrap();
        assert!(base.join("root/deep/b/w").is_dir());
        assert!(!base.join("root/b").exists());
        assert!(base
            .join("root")
            .join(host_dir.strip_prefix("/").unwrap())
            .join("sub")
            .is_dir());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
