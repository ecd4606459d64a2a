//! cgroups in the style of a libcgroups manager: one [`Manager`] over the
//! host's cgroup filesystems, taking the runtime spec's LinuxResources.
//!
//! - `mode`: is the host unified (cgroup2 only), legacy (v1) or hybrid (v1
//!   controllers plus cgroup2 at /sys/fs/cgroup/unified, as here)?
//! - `mountinfo`: where each hierarchy is mounted, where a process sits.
//! - `v1`: the v1 driver (hybrid hosts too: v1 controllers, and the unified
//!   hierarchy for what only it offers).
//! - `v2`: the v2 driver (unified hosts): one directory, v1-style resources
//!   converted, devices through an eBPF program of our own.
//! - `devices`: the device rules, runc's semantics.
//! - `systemd`: the systemd driver: a transient scope unit made over D-Bus
//!   (our own client), with the v1 or v2 driver writing its files.
//!
//! [`open`], [`new`] and [`new_systemd`] are the only places that pick a
//! driver.

mod bpf_devices;
mod devices;
mod error;
pub mod mode;
pub mod mountinfo;
pub mod stats;
pub mod systemd;
mod v1;
mod v1_stats;
mod v2;

pub use error::{Error, Result};
pub use mode::Mode;
pub use v1::V1;
pub use v2::V2;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxResources};
use serde::{Deserialize, Serialize};

/// Where a container's cgroup is, enough to find it again after `create`:
/// one directory per hierarchy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub dirs: Vec<PathBuf>,
    /// Parent directories the runtime made for them (a cgroupsPath of
    /// several new levels), removed with them when they are left empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub made_parents: Vec<PathBuf>,
    /// The one directory is on a cgroup v2 (unified) host.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unified: bool,
    /// The systemd unit the directories belong to (`--systemd-cgroup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<systemd::Unit>,
}

/// What a new child needs to put itself into a cgroup without the lock a
/// `cgroup.procs` write takes (see [`Manager::for_child`]).
#[derive(Debug, Default)]
pub struct ForChild {
    /// `tasks` of each v1 hierarchy (its path, to name in errors), open for
    /// writing: "0" there moves the writing thread. The freezer's comes
    /// last, as the write may stop it.
    pub tasks: Vec<(PathBuf, OwnedFd)>,
    /// The cgroup2 directory (v2, or a hybrid host's unified hierarchy),
    /// for clone3's CLONE_INTO_CGROUP.
    pub into: Option<OwnedFd>,
}

/// What every cgroup driver does.
pub trait Manager {
    /// Creates the container's cgroup directories.
    fn create(&self) -> Result<()>;
    /// Moves process `pid` into them.
    fn join(&self, pid: i32) -> Result<()>;
    /// Moves `pid` into existing sub-cgroups of the container's (`exec
    /// --cgroup`): `(controller, path)`, where a controller picks the v1
    /// hierarchies it applies to.
    fn join_sub(&self, pid: i32, subs: &[(Option<String>, PathBuf)]) -> Result<()>;
    /// Readies a clone of the calling thread into the cgroup. The part on
    /// cgroup2 (all of it on v2, the unified hierarchy of a hybrid host)
    /// comes back as a descriptor for clone3's CLONE_INTO_CGROUP; into the
    /// v1 hierarchies, which a clone can only inherit, the calling thread
    /// steps itself, until [`Manager::after_clone`].
    fn before_clone(&self) -> Result<Option<OwnedFd>>;
    /// Steps the calling thread back to the runtime's own cgroups after
    /// [`Manager::before_clone`].
    fn after_clone(&self) -> Result<()>;
    /// What a child of this process, cloned next, needs to put itself in
    /// the cgroup (an `exec` process: the runtime never steps in there).
    fn for_child(&self) -> Result<ForChild>;
    /// Applies resource limits (all but the device rules).
    fn apply(&self, resources: &LinuxResources) -> Result<()>;
    /// Sets the device rules, runc's way: from deny-all, the config's
    /// rules, then the devices every container may use, less those whose
    /// path one of the config's device nodes (`nodes`) takes.
    fn set_devices(&self, config: &[LinuxDeviceCgroup], nodes: &[DeviceNode]) -> Result<()>;
    /// The processes in the container's cgroup and its sub-cgroups.
    fn procs(&self) -> Result<Vec<i32>>;
    /// Freezes (`true`) or thaws every process, waiting until done.
    fn freeze(&self, frozen: bool) -> Result<()>;
    /// Whether the processes are frozen, or `None` without a freezer.
    fn frozen(&self) -> Option<bool>;
    /// Statistics in runc's `events` shape.
    fn stats(&self) -> stats::Stats;
    /// How many processes the OOM killer has killed in the cgroup.
    fn oom_kills(&self) -> u64;
    /// Removes the directories (the processes must be gone).
    fn destroy(&self) -> Result<()>;
    /// Where it all is, to save in the state.
    fn placement(&self) -> Placement;
}

pub use devices::Node as DeviceNode;

/// Refuses device rules runc refuses (no access, type "u" or "p"), where
/// the config is checked: rootless and cgroup-less containers too.
pub fn check_device_rules(config: &[LinuxDeviceCgroup]) -> Result<()> {
    devices::rules(config, &[]).map(drop)
}

/// The parsers of cgroup files fed text instead of files: the entry points
/// of the fuzz targets (fuzz/ at the top of the repository), not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::v1_stats::from_files as v1_stats;
    pub use crate::v2::stats::from_files as v2_stats;
}

/// The driver for a new container's cgroup at `cgroups_path` (relative to
/// the runtime's own cgroup, or absolute), on this host.
pub fn new(cgroups_path: &Path) -> Result<Box<dyn Manager>> {
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| Error::io("/proc/self/cgroup", &e))?;
    if Mode::detect() == Mode::Unified {
        return Ok(Box::new(V2::new(cgroups_path, &own)?));
    }
    let hierarchies =
        mountinfo::host_hierarchies().map_err(|e| Error::io("/proc/self/mountinfo", &e))?;
    Ok(Box::new(V1::new(cgroups_path, &hierarchies, &own)?))
}

/// The systemd driver for a new container's unit (see `systemd`).
pub fn new_systemd(req: &systemd::Request<'_>) -> Result<Box<dyn Manager>> {
    Ok(Box::new(systemd::new(req)?))
}

/// The driver for a cgroup saved in a container's state.
pub fn open(p: &Placement) -> Box<dyn Manager> {
    if let Some(unit) = &p.systemd {
        Box::new(systemd::open(p, unit))
    } else if p.unified {
        Box::new(V2::from_placement(p))
    } else {
        Box::new(V1::from_placement(p))
    }
}

/// Whether a saved cgroup is frozen, without reading the host's mounts
/// (asked on every `state`).
pub fn is_frozen(p: &Placement) -> bool {
    if p.unified {
        p.dirs.first().is_some_and(|d| v2::frozen_at(d))
    } else {
        v1::frozen_at(p)
    }
}

/// The pids in `dir`'s cgroup.procs and in those of its sub-cgroups
/// (made by `exec --cgroup` users), as runc's GetAllPids.
fn procs_under(dir: &Path) -> Result<Vec<i32>> {
    let text = match std::fs::read_to_string(dir.join("cgroup.procs")) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        // Being removed (by systemd, for a unit of its own that emptied):
        // the directory is still there, the cgroup no longer is.
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, &e)),
    };
    let mut pids: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    for sub in sub_cgroups(dir) {
        pids.extend(procs_under(&sub)?);
    }
    Ok(pids)
}

/// An existing cgroup becomes a container's only while no process is in
/// it or below it (runc's rule): delete kills what is in the cgroup, and
/// must never reach another container's or the host's processes.
fn check_unpopulated(dir: &Path) -> Result<()> {
    if procs_under(dir)?.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "cgroupsPath: {} is not empty (processes are in it or below it)",
            dir.display()
        )))
    }
}

/// The directories below a cgroup directory.
fn sub_cgroups(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// Removes a cgroup directory and its sub-cgroups, deepest first. A
/// process that just exited may hold a cgroup a moment longer: EBUSY is
/// retried, starting fast (this is on `run`'s exit path).
fn remove_tree(dir: &Path) -> Result<()> {
    // A cgroup rarely has sub-cgroups: one rmdir, and a listing only when
    // it is refused (a listing costs five syscalls in every hierarchy).
    match std::fs::remove_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::ENOTEMPTY)) => {}
        Err(e) => return Err(Error::io(dir, &e)),
    }
    for sub in sub_cgroups(dir) {
        remove_tree(&sub)?;
    }
    let mut wait = std::time::Duration::from_micros(100);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(wait);
                wait = (wait * 2).min(std::time::Duration::from_millis(10));
            }
            Err(e) => return Err(Error::io(dir, &e)),
        }
    }
}

/// Removes the parent levels a create made, deepest first; a level another
/// container still uses stays.
fn remove_made_parents(made: &[PathBuf]) -> Result<()> {
    for parent in made.iter().rev() {
        match std::fs::remove_dir(parent) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOENT | libc::EBUSY | libc::ENOTEMPTY)
                ) => {}
            Err(e) => return Err(Error::io(parent, &e)),
        }
    }
    Ok(())
}

/// Writes `value` to a control file; a file the kernel lacks is named as
/// such.
fn write_file(path: &Path, value: &str) -> Result<()> {
    try_write_file(path, value).map_err(|e| write_error(path, &e))
}

/// [`write_file`] that leaves the kernel's answer to the caller, for a
/// write that may be retried after another (cfs period and quota).
fn try_write_file(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(value.as_bytes())
}

/// The error of a failed [`try_write_file`].
fn write_error(path: &Path, e: &std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::Unsupported(format!(
            "{} does not exist on this host's kernel",
            path.display()
        ))
    } else {
        Error::io(path, e)
    }
}

/// How long a freeze or thaw may take before `pause` gives up.
const FREEZE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Polls `reached` every millisecond until it holds; after
/// [`FREEZE_TIMEOUT`], fails saying that `what` was not reached.
fn wait_for(what: &str, mut reached: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = std::time::Instant::now() + FREEZE_TIMEOUT;
    while !reached()? {
        if std::time::Instant::now() > deadline {
            return Err(Error::TimedOut(format!(
                "the cgroup did not reach {what} in {FREEZE_TIMEOUT:?}"
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Ok(())
}
