//! `delete`: remove a stopped container, or with `force` stop it first.

use std::time::{Duration, Instant};

use crate::error::Error;
use crate::state::{ProcState, Status, Store};

/// How long `delete --force` waits for a SIGKILLed init to go.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `delete` waits for an init already sent SIGKILL.
const DYING_TIMEOUT: Duration = Duration::from_secs(2);

/// Deletes container `id`. Returns warnings: a failed poststop hook does
/// not fail `delete` (runtime spec).
pub fn delete(store: &Store, id: &str, force: bool) -> Result<Vec<String>, Error> {
    let locked = match store.lock(id) {
        // runc: a directory a killed `create` left is removed, and with
        // --force a container that does not exist is no error (engines
        // delete what may already be gone).
        Err(Error::NotExist(_)) => {
            store.reclaim(id)?;
            return if force {
                Ok(Vec::new())
            } else {
                Err(Error::NotExist(id.to_string()))
            };
        }
        other => other?,
    };
    let state = locked.load()?;
    let mut status = locked.status(state.as_ref());
    // `kill ID 9; delete ID`, as engines and test harnesses do: the init is
    // dead in all but the kernel's teardown (for a pid namespace's init,
    // killing and reaping every other process in it), so wait for that
    // briefly instead of refusing a container that is about to be stopped.
    // A paused one stays: frozen, it cannot die until thawed.
    if let (Status::Created | Status::Running, Some(s), false) = (status, &state, force) {
        if crate::state::dying(s.init_pid)
            && wait_gone(s.init_pid, s.init_start_time, DYING_TIMEOUT).is_ok()
        {
            status = Status::Stopped;
        }
    }
    // Stopped, or a create that died before recording anything, needs no kill.
    if let (Status::Created | Status::Running | Status::Paused, Some(s)) = (status, &state) {
        if !force {
            return Err(Error::InvalidState(format!(
                "cannot delete container {id} that is not stopped: {}",
                status.as_str()
            )));
        }
        for pid in super::kill::descendants(s.init_pid).into_iter().rev() {
            let _ = sys::process::kill(pid, libc::SIGKILL);
        }
        let _ = sys::process::kill(s.init_pid, libc::SIGKILL);
        // A frozen task dies of SIGKILL only once thawed.
        if let Some(p) = s.cgroup.as_ref().filter(|p| cgroups::is_frozen(p)) {
            let _ = cgroups::open(p).freeze(false);
        }
        wait_gone(s.init_pid, s.init_start_time, KILL_TIMEOUT)?;
    }
    // A create killed before it saved the state: what it made of the
    // cgroup and the host's mounts it recorded first.
    if state.is_none() {
        locked.release_unfinished()?;
    }
    // What is left in the cgroup (a daemonised child without a pid
    // namespace) goes with it.
    if let Some(placement) = state.as_ref().and_then(|s| s.cgroup.as_ref()) {
        crate::cgroup::destroy(placement)?;
    }
    if let Some(s) = &state {
        if let Some(id) = s.host_rootfs_mount {
            crate::rootfs::host::release(&s.rootfs, id)?;
        }
    }
    let warnings = match &state {
        Some(st) => crate::hooks::run_saved("poststop", |h| h.poststop(), st, "stopped"),
        None => Vec::new(),
    };
    locked.remove()?;
    Ok(warnings)
}

fn wait_gone(pid: i32, start_time: u64, timeout: Duration) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    while crate::state::liveness_check(pid, start_time) == ProcState::Alive {
        // Our own child (after `run`) must be reaped to stop being alive.
        let _ = sys::process::waitpid(pid, true);
        if Instant::now() > deadline {
            return Err(Error::InvalidState(format!(
                "container init {pid} did not die after SIGKILL"
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}
