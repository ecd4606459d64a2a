//! The v2 driver: one directory in the unified hierarchy at /sys/fs/cgroup.
//!
//! The init is born inside it (clone3's CLONE_INTO_CGROUP), so the runtime
//! never steps in. Each level above it delegates the controllers it has to
//! the level below (cgroup.subtree_control), or the container's directory
//! would have no control files. Resources: `resources.rs`; statistics:
//! `stats.rs`; device rules: an eBPF program (`crate::bpf_devices`).

pub(crate) mod resources;
pub(crate) mod stats;

use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxResources};

use crate::devices::Node;
use crate::{write_file, Error, Manager, Placement, Result};

/// Where the unified hierarchy is mounted on a v2 host.
const ROOT: &str = "/sys/fs/cgroup";

/// A container's cgroup on a cgroup v2 host.
#[derive(Debug)]
pub struct V2 {
    dir: PathBuf,
    /// Parents of `dir` that [`Manager::create`] made, outermost first.
    made_parents: std::cell::RefCell<Vec<PathBuf>>,
    /// `dir` is a systemd unit's, made by systemd around a process of the
    /// runtime's: its being there and populated is expected.
    in_unit: bool,
}

/// The runtime's own cgroup from a /proc/self/cgroup text ("0::/path").
fn own_path(proc_cgroup: &str) -> PathBuf {
    let own = proc_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("/");
    PathBuf::from(own)
}

/// `path` (absolute in the hierarchy) under the mount point at `root`.
fn under(root: &Path, path: &Path) -> PathBuf {
    let rel: PathBuf = path
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    root.join(rel)
}

impl V2 {
    /// The cgroup at `cgroups_path`: absolute in the hierarchy, or relative
    /// to the parent of the runtime's own cgroup, as runc's fs2 driver
    /// takes it: the runtime's own cgroup has processes (the runtime's,
    /// its caller's), so under cgroup2's "no internal processes" rule it
    /// could not delegate controllers to a child.
    pub fn new(cgroups_path: &Path, own_cgroup: &str) -> Result<V2> {
        Self::new_in(Path::new(ROOT), cgroups_path, own_cgroup)
    }

    fn new_in(root: &Path, cgroups_path: &Path, own_cgroup: &str) -> Result<V2> {
        if cgroups_path
            .components()
            .any(|c| matches!(c, Component::ParentDir))
        {
            return Err(Error::Invalid(format!(
                "cgroupsPath {}: \"..\" is not allowed",
                cgroups_path.display()
            )));
        }
        let own = own_path(own_cgroup);
        let path = if cgroups_path.is_absolute() {
            cgroups_path.to_path_buf()
        } else {
            own.parent().unwrap_or(&own).join(cgroups_path)
        };
        let dir = under(root, &path);
        if dir == root {
            return Err(Error::Invalid(
                "cgroupsPath: the root cgroup cannot be a container's".into(),
            ));
        }
        Ok(V2 {
            dir,
            made_parents: Default::default(),
            in_unit: false,
        })
    }

    /// The same cgroup as the directory of a systemd unit (see `in_unit`).
    pub(crate) fn in_systemd_unit(self) -> V2 {
        V2 {
            in_unit: true,
            ..self
        }
    }

    /// A driver over a saved directory (update, delete, kill, events).
    pub fn from_placement(p: &Placement) -> V2 {
        V2 {
            dir: p.dirs.first().cloned().unwrap_or_default(),
            made_parents: std::cell::RefCell::new(p.made_parents.clone()),
            in_unit: false,
        }
    }

    /// The directory, opened for clone3 and for attaching programs.
    fn open(&self) -> Result<OwnedFd> {
        std::fs::File::open(&self.dir)
            .map(OwnedFd::from)
            .map_err(|e| Error::io(&self.dir, &e))
    }

    /// The directory of the hierarchy's root: the mount point above `dir`.
    fn root(&self) -> &Path {
        self.dir
            .ancestors()
            .find(|a| *a == Path::new(ROOT))
            .unwrap_or_else(|| self.dir.parent().unwrap_or(&self.dir))
    }

    /// Makes `dir` and any missing level above it, each level delegating
    /// its controllers to the next.
    fn make_dirs(&self) -> Result<()> {
        let root = self.root().to_path_buf();
        let levels: Vec<&Path> = self.dir.ancestors().take_while(|a| *a != root).collect();
        let mut parent = root.clone();
        for level in levels.into_iter().rev() {
            delegate(&parent)?;
            match std::fs::create_dir(level) {
                Ok(()) if level != self.dir => {
                    self.made_parents.borrow_mut().push(level.to_path_buf())
                }
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && self.in_unit => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && level == self.dir => {
                    crate::check_unpopulated(level)?;
                    // Frozen beforehand: refused as runc refuses it (the
                    // init would be frozen at birth).
                    if frozen_at(level) {
                        return Err(crate::v1::unexpectedly_frozen());
                    }
                    // Reused (a killed create's, say): its old device
                    // program must not hold back the new init's /dev setup,
                    // which runs before the new rules are set.
                    crate::bpf_devices::reset(&self.open()?)?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(level, &e)),
            }
            parent = level.to_path_buf();
        }
        Ok(())
    }
}

/// Enables at `dir` every controller it has for its children. A level
/// with processes of its own cannot delegate (the "no internal processes"
/// rule): then what is already enabled must do, as with runc.
fn delegate(dir: &Path) -> Result<()> {
    let read =
        |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| Error::io(dir.join(f), &e));
    let available = read("cgroup.controllers")?;
    let enabled = read("cgroup.subtree_control")?;
    let missing: Vec<&str> = available
        .split_whitespace()
        .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let all: String = missing.iter().map(|c| format!("+{c} ")).collect();
    if write_file(&dir.join("cgroup.subtree_control"), all.trim_end()).is_ok() {
        return Ok(());
    }
    // One at a time: a controller that cannot be enabled here (a realtime
    // cpu controller with rt tasks, say) must not hold back the others.
    for c in missing {
        let _ = write_file(&dir.join("cgroup.subtree_control"), &format!("+{c}"));
    }
    Ok(())
}

/// Whether a v2 cgroup directory is frozen.
pub(crate) fn frozen_at(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
}

fn has_path_outside(p: &Path) -> bool {
    p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir))
}

impl Manager for V2 {
    fn create(&self) -> Result<()> {
        self.make_dirs()
    }

    fn join(&self, pid: i32) -> Result<()> {
        write_file(&self.dir.join("cgroup.procs"), &pid.to_string())
    }

    fn join_sub(&self, pid: i32, subs: &[(Option<String>, PathBuf)]) -> Result<()> {
        let [(controller, path)] = subs else {
            return Err(Error::Invalid(
                "--cgroup: cgroup v2 has one hierarchy, so one path".into(),
            ));
        };
        if controller.as_deref().is_some_and(|c| c != "unified") {
            return Err(Error::Invalid(
                "--cgroup: on cgroup v2 a path takes no controller".into(),
            ));
        }
        if has_path_outside(path) {
            return Err(Error::Invalid(format!(
                "--cgroup {}: a path inside the container's cgroup is needed",
                path.display()
            )));
        }
        let target = self.dir.join(path);
        if !target.is_dir() {
            return Err(Error::Invalid(format!(
                "--cgroup {}: no such sub-cgroup {}",
                path.display(),
                target.display()
            )));
        }
        write_file(&target.join("cgroup.procs"), &pid.to_string())
    }

    fn before_clone(&self) -> Result<Option<OwnedFd>> {
        self.open().map(Some)
    }

    fn after_clone(&self) -> Result<()> {
        // The runtime never stepped in.
        Ok(())
    }

    fn for_child(&self) -> Result<crate::ForChild> {
        Ok(crate::ForChild {
            tasks: Vec::new(),
            into: Some(self.open()?),
        })
    }

    fn apply(&self, r: &LinuxResources) -> Result<()> {
        for (file, value) in resources::writes(r, &self.dir)? {
            write_file(&self.dir.join(&file), &value)
                .map_err(|e| resources::explain(e, &file, &self.dir))?;
        }
        Ok(())
    }

    fn set_devices(&self, config: &[LinuxDeviceCgroup], nodes: &[Node]) -> Result<()> {
        crate::bpf_devices::attach(&self.open()?, &crate::devices::rules(config, nodes)?)
    }

    fn procs(&self) -> Result<Vec<i32>> {
        crate::procs_under(&self.dir)
    }

    fn freeze(&self, frozen: bool) -> Result<()> {
        let want = if frozen { "1" } else { "0" };
        write_file(&self.dir.join("cgroup.freeze"), want)?;
        let events = self.dir.join("cgroup.events");
        let line = format!("frozen {want}");
        crate::wait_for(&line, || {
            let text = std::fs::read_to_string(&events).map_err(|e| Error::io(&events, &e))?;
            Ok(text.lines().any(|l| l.trim() == line))
        })
    }

    fn frozen(&self) -> Option<bool> {
        self.dir
            .join("cgroup.freeze")
            .exists()
            .then(|| frozen_at(&self.dir))
    }

    fn stats(&self) -> crate::stats::Stats {
        stats::collect(&self.dir)
    }

    fn oom_kills(&self) -> u64 {
        std::fs::read_to_string(self.dir.join("memory.events"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    fn destroy(&self) -> Result<()> {
        crate::remove_tree(&self.dir)?;
        crate::remove_made_parents(&self.made_parents.borrow())
    }

    fn placement(&self) -> Placement {
        Placement {
            dirs: vec![self.dir.clone()],
            made_parents: self.made_parents.borrow().clone(),
            unified: true,
            systemd: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_sit_beside_the_runtimes_own_cgroup() {
        let root = Path::new("/sys/fs/cgroup");
        let v = V2::new_in(root, Path::new("corten/c1"), "0::/user/session\n").unwrap();
        assert_eq!(v.dir, PathBuf::from("/sys/fs/cgroup/user/corten/c1"));
        let v = V2::new_in(root, Path::new("corten/c1"), "0::/\n").unwrap();
        assert_eq!(v.dir, PathBuf::from("/sys/fs/cgroup/corten/c1"));
        let v = V2::new_in(root, Path::new("/abs/c1"), "0::/session\n").unwrap();
        assert_eq!(v.dir, PathBuf::from("/sys/fs/cgroup/abs/c1"));
        assert!(V2::new_in(root, Path::new("/a/../../etc"), "0::/\n").is_err());
        assert!(V2::new_in(root, Path::new("/"), "0::/\n").is_err());
    }

    /// A fake hierarchy: the levels a create walks, with the files the
    /// kernel would show.
    #[test]
    fn each_level_delegates_its_controllers() {
        let base = std::env::temp_dir().join(format!("corten-cg2-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        std::fs::write(base.join("cgroup.subtree_control"), "memory\n").unwrap();
        let v = V2 {
            dir: base.join("c1"),
            made_parents: Default::default(),
            in_unit: false,
        };
        // root() only knows the real mount point: the fake's root is its parent.
        v.make_dirs().unwrap();
        assert_eq!(
            std::fs::read_to_string(base.join("cgroup.subtree_control")).unwrap(),
            "+cpu +pids"
        );
        assert!(base.join("c1").is_dir());
        v.destroy().unwrap();
        assert!(!base.join("c1").exists());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
