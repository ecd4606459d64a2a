//! A mount of type "cgroup": the container's view of the cgroup hierarchies.
//!
//! On a cgroup2-only host that is one cgroup2 mount. On v1 and hybrid hosts
//! (v1 controllers plus cgroup2 at /sys/fs/cgroup/unified, as here) it is a
//! tmpfs holding one mount per hierarchy: a fresh instance inside a cgroup
//! namespace (which shows the namespace's root), or else a bind of the
//! container's own cgroup directory, as runc does.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use sys::mount::mount;

use super::mounts::{remount, MountOptions};
use super::resolve;
use crate::error::{Context, Error};

/// One cgroup hierarchy mounted on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hierarchy {
    mount_point: PathBuf,
    fstype: String,
    /// Controllers or name=..., comma-separated, for a fresh v1 mount.
    options: String,
}

/// Mounts the cgroup view at `dest`.
pub fn mount_hierarchies(
    root: BorrowedFd<'_>,
    dest: &Path,
    opts: &MountOptions,
    fstype: &str,
    in_cgroupns: bool,
) -> Result<(), Error> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").context("reading mountinfo")?;
    let hierarchies = hierarchies(&mountinfo);
    let own_cgroups =
        std::fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
    let flags = opts.flags & !(libc::MS_REMOUNT | libc::MS_BIND | libc::MS_REC);
    let target = resolve::mkdir_all(root, dest, 0o755).context("creating mount target")?;
    let unified_only = fstype == "cgroup2"
        || hierarchies.iter().all(|h| h.fstype == "cgroup2")
            && hierarchies
                .iter()
                .any(|h| h.mount_point == Path::new("/sys/fs/cgroup"));
    if unified_only {
        return mount(
            Some(Path::new("cgroup2")),
            &sys::fs::proc_fd_path(target.as_fd()),
            Some("cgroup2"),
            flags,
            None,
        )
        .context("mounting cgroup2");
    }
    // The tmpfs stays writable until the hierarchies' directories exist.
    mount(
        Some(Path::new("tmpfs")),
        &sys::fs::proc_fd_path(target.as_fd()),
        Some("tmpfs"),
        flags & !libc::MS_RDONLY,
        Some("mode=755"),
    )
    .context("mounting tmpfs for cgroups")?;
    for h in hierarchies
        .iter()
        .filter(|h| h.mount_point.starts_with("/sys/fs/cgroup"))
    {
        let Some(name) = h.mount_point.file_name() else {
            continue;
        };
        let sub = dest.join(name);
        let fd = resolve::mkdir_all(root, &sub, 0o755).context("creating cgroup mount point")?;
        let at = sys::fs::proc_fd_path(fd.as_fd());
        if in_cgroupns {
            let data = if h.fstype == "cgroup2" {
                None
            } else {
                Some(h.options.as_str())
            };
            mount(
                Some(Path::new(&h.fstype)),
                &at,
                Some(&h.fstype),
                flags,
                data,
            )
            .with_context(|| format!("mounting cgroup hierarchy {}", name.to_string_lossy()))?;
        } else {
            let own = own_path(&own_cgroups, h);
            let source = h.mount_point.join(own.strip_prefix("/").unwrap_or(&own));
            mount(Some(&source), &at, None, libc::MS_BIND | libc::MS_REC, None)
                .with_context(|| format!("binding cgroup {}", source.display()))?;
            let mounted = resolve::open(root, &sub).context("opening cgroup mount")?;
            remount(mounted.as_fd(), flags).context("remounting cgroup bind")?;
        }
        // Co-mounted controllers (cpu,cpuacct) get a link per controller.
        let name = name.to_string_lossy();
        if name.contains(',') {
            let parent = resolve::mkdir_all(root, dest, 0o755).context("opening cgroup tmpfs")?;
            for part in name.split(',') {
                match sys::fs::symlinkat(Path::new(name.as_ref()), parent.as_fd(), Path::new(part))
                {
                    Err(e) if e.errno() != libc::EEXIST => {
                        return Err(e).context("linking controller")
                    }
                    _ => {}
                }
            }
        }
    }
    if flags & libc::MS_RDONLY != 0 {
        let fd = resolve::open(root, dest).context("opening cgroup tmpfs")?;
        mount(
            None,
            &sys::fs::proc_fd_path(fd.as_fd()),
            None,
            libc::MS_REMOUNT | flags,
            Some("mode=755"),
        )
        .context("making the cgroup tmpfs read-only")?;
    }
    Ok(())
}

/// The cgroup mounts of a mountinfo text.
fn hierarchies(mountinfo: &str) -> Vec<Hierarchy> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        if left.len() < 5 || right.len() < 3 || !right[0].starts_with("cgroup") {
            continue;
        }
        let options = right[2]
            .split(',')
            .filter(|o| {
                !matches!(*o, "rw" | "ro")
                    && !o.starts_with("release_agent")
                    && *o != "clone_children"
            })
            .collect::<Vec<_>>()
            .join(",");
        out.push(Hierarchy {
            mount_point: PathBuf::from(left[4]),
            fstype: right[0].to_string(),
            options,
        });
    }
    out
}

/// This process's path in hierarchy `h`, from /proc/self/cgroup.
fn own_path(proc_cgroup: &str, h: &Hierarchy) -> PathBuf {
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (
            parts.next(),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("/"),
        );
        let matches = if h.fstype == "cgroup2" {
            controllers.is_empty()
        } else {
            let mine: Vec<&str> = h.options.split(',').collect();
            !controllers.is_empty() && controllers.split(',').all(|c| mine.contains(&c))
        };
        if matches {
            return PathBuf::from(path);
        }
    }
    PathBuf::from("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup rw,cpu,cpuacct
";

    #[test]
    fn finds_hierarchies_with_their_controllers() {
        let h = hierarchies(MOUNTINFO);
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].fstype, "cgroup2");
        assert_eq!(h[1].options, "xattr,name=systemd");
        assert_eq!(
            h[2].mount_point,
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct")
        );
        assert_eq!(h[2].options, "cpu,cpuacct");
    }

    #[test]
    fn own_path_matches_the_right_line() {
        let h = hierarchies(MOUNTINFO);
        let cg = "12:cpu,cpuacct:/a/b\n1:name=systemd:/s\n0::/u\n";
        assert_eq!(own_path(cg, &h[0]), PathBuf::from("/u"));
        assert_eq!(own_path(cg, &h[2]), PathBuf::from("/a/b"));
    }
}
