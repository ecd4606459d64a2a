//! `pause` and `resume`: the cgroup's freezer (v1 freezer.state, v2
//! cgroup.freeze), driven by the cgroup driver.

use crate::error::Error;
use crate::state::{Status, Store};

fn cgroup_of(
    store: &Store,
    id: &str,
) -> Result<(crate::state::Locked, Box<dyn cgroups::Manager>, Status), Error> {
    let locked = store.lock(id)?;
    let state = locked.load()?;
    let status = locked.status(state.as_ref());
    let cg = state
        .as_ref()
        .and_then(|s| s.cgroup.as_ref())
        .map(cgroups::open)
        .filter(|cg| cg.frozen().is_some())
        .ok_or_else(|| {
            Error::Unsupported(format!("pausing container {id}: it has no freezer cgroup"))
        })?;
    Ok((locked, cg, status))
}

/// Freezes every process of a running or created container (a created
/// one, as runc: its init is frozen while it waits, `start` is refused
/// until `resume` makes it created again).
pub fn pause(store: &Store, id: &str) -> Result<(), Error> {
    let (_lock, cg, status) = cgroup_of(store, id)?;
    match status {
        Status::Running | Status::Created => {}
        Status::Paused => {
            return Err(Error::InvalidState(format!(
                "container {id} is already paused"
            )))
        }
        other => {
            return Err(Error::InvalidState(format!(
                "container {id} is not running: {}",
                other.as_str()
            )))
        }
    }
    if let Err(e) = cg.freeze(true) {
        // Never leave a half-frozen container behind.
        let _ = cg.freeze(false);
        return Err(Error::Cgroup(e));
    }
    Ok(())
}

/// Thaws a paused container: running again, or created if it was paused
/// before `start`.
pub fn resume(store: &Store, id: &str) -> Result<(), Error> {
    let (_lock, cg, status) = cgroup_of(store, id)?;
    if status != Status::Paused {
        return Err(Error::InvalidState(format!(
            "container {id} is not paused: {}",
            status.as_str()
        )));
    }
    cg.freeze(false).map_err(Error::Cgroup)
}
