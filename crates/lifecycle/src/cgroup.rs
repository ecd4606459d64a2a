//! The container's cgroup: where it is, how the init gets in, and what is
//! left to remove.
//!
//! The init must be in its cgroup before any container code runs, and a
//! cgroup namespace must be rooted at it. The runtime therefore steps into
//! the container's cgroup just for the clone: every child (stage 1, the
//! init, its cgroup namespace) is born inside, and the runtime steps back
//! out at once. (On cgroup v2, clone3's CLONE_INTO_CGROUP will do the same
//! in one call.)

use std::path::PathBuf;

use cgroups::{Manager, Mode, V1};
use oci_spec::runtime::Spec;

use crate::error::{Context, Error};

/// How `create` is told to handle cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Create and use the container's cgroup (cgroupfs).
    Cgroupfs,
    /// `--cgroup-manager=disabled`: none at all.
    Disabled,
}

fn cg_err(e: cgroups::Error) -> Error {
    Error::Cgroup(e)
}

/// The container's cgroup, made from its config, or `None` when disabled.
pub fn plan(spec: &Spec, id: &str, policy: Policy) -> Result<Option<V1>, Error> {
    let linux = spec.linux().as_ref();
    if policy == Policy::Disabled {
        if linux
            .and_then(|l| l.resources().as_ref())
            .is_some_and(crate::spec::has_resources)
        {
            return Err(Error::Config(
                "linux.resources needs a cgroup manager (--cgroup-manager is disabled)".into(),
            ));
        }
        return Ok(None);
    }
    if Mode::detect() == Mode::Unified {
        return Err(Error::Unsupported(
            "cgroups on a cgroup v2 (unified) host".into(),
        ));
    }
    let path = linux
        .and_then(|l| l.cgroups_path().clone())
        .unwrap_or_else(|| PathBuf::from(format!("corten/{id}")));
    let hierarchies = cgroups::mountinfo::host_hierarchies().map_err(|e| Error::Io {
        context: "reading mountinfo".into(),
        source: e,
    })?;
    let own = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| Error::Io {
        context: "reading /proc/self/cgroup".into(),
        source: e,
    })?;
    V1::new(&path, &hierarchies, &own).map(Some).map_err(cg_err)
}

/// Creates the cgroup and holds the runtime inside it for the clone.
/// [`ForClone::leave`] steps back out and says if that failed; dropping
/// without it (an error path) tries the same.
pub struct ForClone<'a> {
    cg: &'a V1,
    left: bool,
}

impl<'a> ForClone<'a> {
    /// Creates `cg` and moves this process into it.
    pub fn enter(cg: &'a V1) -> Result<ForClone<'a>, Error> {
        cg.create().map_err(cg_err)?;
        let guard = ForClone { cg, left: false };
        cg.join(std::process::id() as i32).map_err(cg_err)?;
        Ok(guard)
    }

    /// Moves this process back to its own cgroups. A runtime left inside
    /// would be counted against the container's limits and killed with it.
    pub fn leave(mut self) -> Result<(), Error> {
        self.left = true;
        step_out(self.cg)
    }
}

fn step_out(cg: &V1) -> Result<(), Error> {
    let me = std::process::id().to_string();
    for dir in cg.runtime_dirs() {
        let procs = dir.join("cgroup.procs");
        std::fs::write(&procs, &me)
            .with_context(|| format!("leaving the container's cgroup: {}", procs.display()))?;
    }
    Ok(())
}

impl Drop for ForClone<'_> {
    fn drop(&mut self) {
        if !self.left {
            // Already failing: the error being returned is the one to report.
            let _ = step_out(self.cg);
        }
    }
}

/// The device nodes the config creates, which the device rules allow.
pub fn device_nodes(spec: &Spec) -> Vec<cgroups::DeviceNode> {
    let devices = spec.linux().as_ref().and_then(|l| l.devices().as_ref());
    devices
        .into_iter()
        .flatten()
        .map(|d| cgroups::DeviceNode {
            kind: match d.typ() {
                oci_spec::runtime::LinuxDeviceType::B => 'b',
                oci_spec::runtime::LinuxDeviceType::P => 'p',
                _ => 'c',
            },
            major: d.major(),
            minor: d.minor(),
        })
        .collect()
}

/// Applies `linux.resources`.
pub fn apply(cg: &V1, spec: &Spec) -> Result<(), Error> {
    let Some(r) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) else {
        return Ok(());
    };
    cg.apply(r, &device_nodes(spec)).map_err(cg_err)
}

/// SIGKILLs whatever is still in a saved cgroup and removes it.
pub fn destroy(placement: &cgroups::Placement) -> Result<(), Error> {
    let cg = V1::from_placement(placement);
    for _ in 0..100 {
        let procs = cg.procs().map_err(cg_err)?;
        if procs.is_empty() {
            break;
        }
        for pid in procs {
            let _ = sys::process::kill(pid, libc::SIGKILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    cg.destroy().map_err(cg_err)
}

/// The processes of a saved cgroup.
pub fn procs(placement: &cgroups::Placement) -> Result<Vec<i32>, Error> {
    V1::from_placement(placement).procs().map_err(cg_err)
}

/// Applies new limits to a running container's cgroup (`update`). Device
/// rules are not updated (as runc).
pub fn update(
    placement: &cgroups::Placement,
    resources: &oci_spec::runtime::LinuxResources,
) -> Result<(), Error> {
    if resources.devices().as_ref().is_some_and(|d| !d.is_empty()) {
        return Err(Error::Unsupported("updating device rules".into()));
    }
    V1::from_placement(placement)
        .apply(resources, &[])
        .map_err(cg_err)
}

/// Moves `pid` into a saved cgroup, or sub-cgroups of it (`exec --cgroup`).
pub fn join(
    placement: &cgroups::Placement,
    pid: i32,
    subs: &[(Option<String>, std::path::PathBuf)],
) -> Result<(), Error> {
    let cg = V1::from_placement(placement);
    if subs.is_empty() {
        cg.join(pid).map_err(cg_err)
    } else {
        cg.join_sub(pid, subs).map_err(cg_err)
    }
}
