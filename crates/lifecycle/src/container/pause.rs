//! `pause` and `resume`: the v1 freezer (v2's cgroup.freeze comes with
//! the v2 driver).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Context, Error};
use crate::state::{Status, Store};

/// How long a freeze may take before `pause` gives up and thaws again.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(10);

/// The freezer directory of a saved cgroup, if it has one.
pub(crate) fn freezer_dir(placement: &cgroups::Placement) -> Option<PathBuf> {
    placement
        .dirs
        .iter()
        .find(|d| d.join("freezer.state").exists())
        .cloned()
}

/// Whether the freezer at `dir` holds its tasks (FROZEN or FREEZING).
pub(crate) fn is_frozen(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("freezer.state")).is_ok_and(|s| s.trim() != "THAWED")
}

fn set_state(dir: &Path, want: &str) -> Result<(), Error> {
    let file = dir.join("freezer.state");
    let deadline = Instant::now() + FREEZE_TIMEOUT;
    loop {
        std::fs::write(&file, want).with_context(|| format!("writing {}", file.display()))?;
        let now = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        if now.trim() == want {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Failed(format!(
                "the freezer did not reach {want} in {FREEZE_TIMEOUT:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn freezer_of(store: &Store, id: &str) -> Result<(crate::state::Locked, PathBuf, Status), Error> {
    let locked = store.lock(id)?;
    let state = locked.load()?;
    let status = locked.status(state.as_ref());
    let dir = state
        .as_ref()
        .and_then(|s| s.cgroup.as_ref())
        .and_then(freezer_dir)
        .ok_or_else(|| {
            Error::Unsupported(format!("pausing container {id}: it has no freezer cgroup"))
        })?;
    Ok((locked, dir, status))
}

/// Freezes every process of a running container.
pub fn pause(store: &Store, id: &str) -> Result<(), Error> {
    let (_lock, dir, status) = freezer_of(store, id)?;
    match status {
        Status::Running => {}
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
    if let Err(e) = set_state(&dir, "FROZEN") {
        // Never leave a half-frozen container behind.
        let _ = set_state(&dir, "THAWED");
        return Err(e);
    }
    Ok(())
}

/// Thaws a paused container.
pub fn resume(store: &Store, id: &str) -> Result<(), Error> {
    let (_lock, dir, status) = freezer_of(store, id)?;
    if status != Status::Paused {
        return Err(Error::InvalidState(format!(
            "container {id} is not paused: {}",
            status.as_str()
        )));
    }
    set_state(&dir, "THAWED")
}
