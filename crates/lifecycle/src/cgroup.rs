//! The container's cgroup: where it is, how the init gets in, and what is
//! left to remove.
//!
//! The init must be in its cgroup before any container code runs, and a
//! cgroup namespace must be rooted at it. So every child (stage 1, the
//! init, its cgroup namespace) is born inside: clone3's CLONE_INTO_CGROUP
//! places it in the cgroup2 part (all of it on v2), and for the v1
//! hierarchies the runtime's thread steps in just for the clone and back
//! out at once. Neither writes a pid to cgroup.procs, which makes the
//! kernel wait for an RCU grace period (6-8 ms here).

use std::path::PathBuf;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use cgroups::Manager;
use oci_spec::runtime::Spec;

use crate::error::Error;

/// The statistics `events` prints, in runc's shape.
pub use cgroups::stats;

/// How `create` is told to handle cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Create and use the container's cgroup (cgroupfs).
    Cgroupfs,
    /// `--cgroup-manager=disabled`: none at all.
    Disabled,
    /// Rootless (`--rootless`, or auto for an unprivileged caller): the
    /// container's cgroup where the user may make it and move processes
    /// into it (a delegated subtree); otherwise none, with a warning, as
    /// runc does. A config that asks for limits then fails instead: a
    /// limit is never dropped silently.
    Rootless,
    /// `--systemd-cgroup`: a transient scope unit made by systemd, the
    /// user's manager for a rootless runtime (`user`), as runc does.
    Systemd { user: bool },
}

impl Policy {
    /// An unprivileged runtime's: device rules are not its to program.
    fn rootless(self) -> bool {
        matches!(self, Policy::Rootless | Policy::Systemd { user: true })
    }
}

fn cg_err(e: cgroups::Error) -> Error {
    Error::Cgroup(e)
}

/// The container's cgroup, made from its config, or `None` when disabled
/// (or rootless without a writable cgroup: then `notes` says so).
pub fn plan(
    spec: &Spec,
    id: &str,
    policy: Policy,
    notes: &mut Vec<String>,
) -> Result<Option<Box<dyn Manager>>, Error> {
    let linux = spec.linux().as_ref();
    let resources = linux.and_then(|l| l.resources().as_ref());
    // Device rules alone need no cgroup where there is none by choice
    // (disabled, as crun) or by right (rootless, as runc): every engine and
    // `corten spec` send them.
    let limited = resources.is_some_and(crate::spec::has_limits);
    if policy == Policy::Disabled {
        if limited {
            return Err(Error::Config(
                "linux.resources needs a cgroup manager (--cgroup-manager is disabled)".into(),
            ));
        }
        return Ok(None);
    }
    // An empty cgroupsPath is no cgroupsPath, which is the id relative to
    // the runtime's own cgroup (runc).
    if let Policy::Systemd { user } = policy {
        let cgroups_path = linux
            .and_then(|l| l.cgroups_path().as_ref())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let annotations = spec.annotations().clone().unwrap_or_default();
        let nodes = device_nodes(spec);
        let rules = resources
            .and_then(|r| r.devices().as_deref())
            .unwrap_or_default();
        let req = cgroups::systemd::Request {
            cgroups_path: &cgroups_path,
            id,
            user,
            annotations: &annotations,
            resources,
            // As `apply` leaves them out for an unprivileged runtime.
            devices: (!policy.rootless()).then_some((rules, nodes.as_slice())),
        };
        return cgroups::new_systemd(&req).map(Some).map_err(cg_err);
    }
    let path = linux
        .and_then(|l| l.cgroups_path().clone())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from(id));
    let cg = cgroups::new(&path).map_err(cg_err)?;
    if policy != Policy::Rootless {
        return Ok(Some(cg));
    }
    match probe(cg.as_ref()) {
        Ok(()) => Ok(Some(cg)),
        Err(e @ cgroups::Error::Denied { .. }) if limited => Err(Error::Config(format!(
            "linux.resources needs a cgroup this user can write (rootless): {e}"
        ))),
        Err(e @ cgroups::Error::Denied { .. }) => {
            notes.push(format!(
                "rootless: running without a cgroup, as it cannot be made here: {e}"
            ));
            Ok(None)
        }
        Err(e) => Err(cg_err(e)),
    }
}

/// Whether an unprivileged runtime can make the cgroup and place a clone in
/// it (which takes write access up to the common ancestor of both cgroups,
/// so a writable leaf is not enough), tried the way create will place the
/// init: a clone that exits at once. What it made is removed again when it
/// cannot.
fn probe(cg: &dyn Manager) -> Result<(), cgroups::Error> {
    // A create that fails made nothing to remove (and an existing cgroup
    // it refused is not ours to touch).
    cg.create()?;
    let placed = trial_clone(cg);
    if placed.is_err() {
        let _ = cg.destroy();
    }
    placed
}

fn trial_clone(cg: &dyn Manager) -> Result<(), cgroups::Error> {
    let into = cg.before_clone()?;
    let cloned = clone_and_reap(into.as_ref().map(AsFd::as_fd));
    let left = cg.after_clone();
    cloned.and(left)
}

fn clone_and_reap(into: Option<BorrowedFd<'_>>) -> Result<(), cgroups::Error> {
    let failed = |e: sys::Error| {
        let reason = e.to_string();
        let path = PathBuf::from("(a trial clone into it)");
        if matches!(e.errno(), libc::EACCES | libc::EPERM) {
            cgroups::Error::Denied { path, reason }
        } else {
            cgroups::Error::Io { path, reason }
        }
    };
    let one = sys::process::SingleThreaded::check().map_err(failed)?;
    match sys::process::fork_child(one, 0, into).map_err(failed)? {
        sys::process::Fork::Child(_) => sys::process::exit_now(0),
        sys::process::Fork::Parent(pid) => {
            let _ = sys::process::waitpid(pid, false);
            Ok(())
        }
    }
}

/// Gets the clone of the init into the container's cgroup: a descriptor
/// for CLONE_INTO_CGROUP for its cgroup2 part, and this thread inside its
/// v1 hierarchies until [`ForClone::leave`], which steps back out and says
/// if that failed; dropping without it (an error path) tries the same.
pub struct ForClone<'a> {
    cg: &'a dyn Manager,
    into: Option<OwnedFd>,
    left: bool,
}

impl<'a> ForClone<'a> {
    /// Readies the clone into `cg`, made by then.
    pub fn enter(cg: &'a dyn Manager) -> Result<ForClone<'a>, Error> {
        let into = cg.before_clone().map_err(cg_err)?;
        Ok(ForClone {
            cg,
            into,
            left: false,
        })
    }

    /// The descriptor for clone3's CLONE_INTO_CGROUP, if any.
    pub fn clone_fd(&self) -> Option<BorrowedFd<'_>> {
        self.into.as_ref().map(AsFd::as_fd)
    }

    /// Steps this thread back to its own cgroups. A runtime left inside
    /// would be counted against the container's limits and killed with it.
    pub fn leave(mut self) -> Result<(), Error> {
        self.left = true;
        self.cg.after_clone().map_err(cg_err)
    }
}

impl Drop for ForClone<'_> {
    fn drop(&mut self) {
        if !self.left {
            // Already failing: the error being returned is the one to report.
            let _ = self.cg.after_clone();
        }
    }
}

/// Whether the host has cgroup v2 only (runc's IsCgroup2UnifiedMode).
pub fn unified_host() -> bool {
    cgroups::Mode::detect() == cgroups::Mode::Unified
}

/// The device nodes the config creates: a default device's rule gives way
/// to a node at its path (runc's rules, see `cgroups::devices`).
pub fn device_nodes(spec: &Spec) -> Vec<cgroups::DeviceNode> {
    let devices = spec.linux().as_ref().and_then(|l| l.devices().as_ref());
    devices
        .into_iter()
        .flatten()
        .map(|d| cgroups::DeviceNode {
            path: d.path().clone(),
        })
        .collect()
}

/// Applies `linux.resources`, and the device rules even when the config
/// has none: every container's devices are filtered, as with runc.
/// Rootless, device rules are left out (runc's rule): the user's own
/// permissions on the nodes bound in bound it already, and the device
/// controller is not the user's to program.
pub fn apply(cg: &dyn Manager, spec: &Spec, policy: Policy) -> Result<(), Error> {
    let r = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
    if let Some(r) = r {
        cg.apply(r).map_err(cg_err)?;
    }
    if policy.rootless() {
        return Ok(());
    }
    let rules = r.and_then(|r| r.devices().as_deref()).unwrap_or_default();
    cg.set_devices(rules, &device_nodes(spec)).map_err(cg_err)
}

/// What of `cg` a create will make: the directories that do not exist yet,
/// and their missing parent levels (outermost first). An existing
/// directory (a cgroupsPath made by someone else) is left out: a create
/// killed before recording its container must not take it away.
pub fn plan_of(cg: &dyn Manager) -> cgroups::Placement {
    let all = cg.placement();
    let dirs: Vec<PathBuf> = all.dirs.into_iter().filter(|d| !d.exists()).collect();
    let mut made_parents = Vec::new();
    for dir in &dirs {
        let missing = dir.ancestors().skip(1).take_while(|a| !a.exists());
        for level in missing.collect::<Vec<_>>().into_iter().rev() {
            if !made_parents.iter().any(|p: &PathBuf| p == level) {
                made_parents.push(level.to_path_buf());
            }
        }
    }
    cgroups::Placement {
        dirs,
        made_parents,
        unified: all.unified,
        systemd: all.systemd,
    }
}

/// Removes what a create killed before recording its container made of
/// its cgroup plan ([`plan_of`]), once the init has left it: an init cut
/// off from its runtime exits by itself. A directory that still holds
/// processes after a moment is not touched (nor anything else of the
/// plan): nothing is killed here, as nothing recorded says whose they are.
pub fn release_unfinished(plan: &cgroups::Placement) -> Result<(), Error> {
    let cg = cgroups::open(plan);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while !cg.procs().map_err(cg_err)?.is_empty() {
        if std::time::Instant::now() > deadline {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    cg.destroy().map_err(cg_err)
}

/// SIGKILLs whatever is still in a saved cgroup and removes it.
pub fn destroy(placement: &cgroups::Placement) -> Result<(), Error> {
    let cg = cgroups::open(placement);
    // Never this process: a runtime that could not step back out after a
    // clone (before_clone's error path) reports that, it does not kill itself.
    let me = std::process::id() as i32;
    for _ in 0..100 {
        let mut procs = cg.procs().map_err(cg_err)?;
        procs.retain(|&p| p != me);
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
    cgroups::open(placement).procs().map_err(cg_err)
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
    cgroups::open(placement).apply(resources).map_err(cg_err)
}

/// What a child cloned next needs to put itself into a saved cgroup.
pub fn for_child(placement: &cgroups::Placement) -> Result<cgroups::ForChild, Error> {
    cgroups::open(placement).for_child().map_err(cg_err)
}

/// Moves `pid` into a saved cgroup, or sub-cgroups of it (`exec --cgroup`).
pub fn join(
    placement: &cgroups::Placement,
    pid: i32,
    subs: &[(Option<String>, std::path::PathBuf)],
) -> Result<(), Error> {
    let cg = cgroups::open(placement);
    if subs.is_empty() {
        cg.join(pid).map_err(cg_err)
    } else {
        cg.join_sub(pid, subs).map_err(cg_err)
    }
}
