//! `update`: new resource limits for a created, running or paused container.

use oci_spec::runtime::LinuxResources;

use crate::error::Error;
use crate::state::{Status, Store};

/// Applies `resources` to container `id`'s cgroup.
pub fn update(store: &Store, id: &str, resources: &LinuxResources) -> Result<(), Error> {
    let locked = store.lock(id)?;
    let state = locked.load()?;
    let status = locked.status(state.as_ref());
    if matches!(status, Status::Stopped | Status::Creating) {
        return Err(Error::InvalidState(format!(
            "container {id} is not running: {}",
            status.as_str()
        )));
    }
    let placement = state
        .as_ref()
        .and_then(|s| s.cgroup.as_ref())
        .ok_or_else(|| {
            Error::Config(format!(
                "container {id} has no cgroup (created with --cgroup-manager=disabled)"
            ))
        })?;
    crate::cgroup::update(placement, resources)
}
