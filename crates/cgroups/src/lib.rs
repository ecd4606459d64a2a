//! cgroups in the style of a libcgroups manager: one [`Manager`] over the
//! host's cgroup filesystems, taking the runtime spec's LinuxResources.
//!
//! - `mode`: is the host unified (cgroup2 only), legacy (v1) or hybrid (v1
//!   controllers plus cgroup2 at /sys/fs/cgroup/unified, as here)?
//! - `mountinfo`: where each hierarchy is mounted, where a process sits.
//! - `v1`: the v1 driver (hybrid hosts too: v1 controllers, and the unified
//!   hierarchy for what only it offers).
//! - `devices`: the device rules, runc's semantics.
//!
//! A v2 driver and a systemd driver take the same interface later.

mod devices;
mod error;
pub mod mode;
pub mod mountinfo;
mod stats;
mod v1;

pub use error::{Error, Result};
pub use mode::Mode;
pub use v1::V1;

use std::path::PathBuf;

use oci_spec::runtime::LinuxResources;
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
}

/// What every cgroup driver does.
pub trait Manager {
    /// Creates the container's cgroup directories.
    fn create(&self) -> Result<()>;
    /// Moves process `pid` into them.
    fn join(&self, pid: i32) -> Result<()>;
    /// Applies resource limits. `devices` are the config's device nodes,
    /// which runc allows on top of the rules.
    fn apply(&self, resources: &LinuxResources, devices: &[devices::Node]) -> Result<()>;
    /// The processes in the container's cgroup.
    fn procs(&self) -> Result<Vec<i32>>;
    /// Removes the directories (the processes must be gone).
    fn destroy(&self) -> Result<()>;
    /// Where it all is, to save in the state.
    fn placement(&self) -> Placement;
}

pub use devices::Node as DeviceNode;
