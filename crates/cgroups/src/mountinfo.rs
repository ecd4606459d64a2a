//! Where the cgroup hierarchies are mounted and where a process sits in them.

use std::path::{Path, PathBuf};

/// One cgroup hierarchy mounted on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub mount_point: PathBuf,
    /// "cgroup" (v1) or "cgroup2".
    pub fstype: String,
    /// v1: the controllers and name=... of the mount, comma-separated.
    pub options: String,
}

impl Hierarchy {
    /// The v1 controllers (and name=...) of this hierarchy.
    pub fn controllers(&self) -> impl Iterator<Item = &str> {
        self.options.split(',').filter(|o| !o.is_empty())
    }

    /// Whether this v1 hierarchy carries `controller`.
    pub fn has(&self, controller: &str) -> bool {
        self.fstype == "cgroup" && self.controllers().any(|c| c == controller)
    }
}

/// The cgroup mounts of a mountinfo text.
pub fn hierarchies(mountinfo: &str) -> Vec<Hierarchy> {
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
            .filter(|o| right[0] == "cgroup" || !o.is_empty())
            .collect::<Vec<_>>()
            .join(",");
        let options = if right[0] == "cgroup2" {
            String::new()
        } else {
            options
        };
        out.push(Hierarchy {
            mount_point: PathBuf::from(left[4]),
            fstype: right[0].to_string(),
            options,
        });
    }
    out
}

/// The host's hierarchies, from /proc/self/mountinfo.
pub fn host_hierarchies() -> std::io::Result<Vec<Hierarchy>> {
    Ok(hierarchies(&std::fs::read_to_string(
        "/proc/self/mountinfo",
    )?))
}

/// The path of a process in hierarchy `h`, from a /proc/PID/cgroup text.
pub fn path_in(proc_cgroup: &str, h: &Hierarchy) -> PathBuf {
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
            let mine: Vec<&str> = h.controllers().collect();
            !controllers.is_empty() && controllers.split(',').all(|c| mine.contains(&c))
        };
        if matches {
            return PathBuf::from(path);
        }
    }
    PathBuf::from("/")
}

/// `dir` joined with an absolute cgroup path.
pub fn under(dir: &Path, cgroup: &Path) -> PathBuf {
    dir.join(cgroup.strip_prefix("/").unwrap_or(cgroup))
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
        assert!(h[2].has("cpuacct") && h[2].has("cpu") && !h[2].has("memory"));
    }

    #[test]
    fn process_paths_per_hierarchy() {
        let h = hierarchies(MOUNTINFO);
        let cg = "12:cpu,cpuacct:/a/b\n1:name=systemd:/s\n0::/u\n";
        assert_eq!(path_in(cg, &h[0]), PathBuf::from("/u"));
        assert_eq!(path_in(cg, &h[1]), PathBuf::from("/s"));
        assert_eq!(path_in(cg, &h[2]), PathBuf::from("/a/b"));
        assert_eq!(
            under(Path::new("/sys/fs/cgroup/pids"), Path::new("/x/y")),
            PathBuf::from("/sys/fs/cgroup/pids/x/y")
        );
    }
}
