//! `start`: release a created container's init.

use std::os::fd::AsFd;

use crate::error::{Context, Error};
use crate::state::{Status, Store, EXEC_FIFO};

/// Starts container `id`, which must be "created". Returns warnings: a
/// failed poststart hook does not fail `start` (runtime spec).
pub fn start(store: &Store, id: &str) -> Result<Vec<String>, Error> {
    let locked = store.lock(id)?;
    let state = locked.load()?;
    match locked.status(state.as_ref()) {
        Status::Created => {}
        Status::Running => {
            return Err(Error::InvalidState(
                "cannot start an already running container".into(),
            ))
        }
        // Paused before it started (runc's words): `resume` first.
        Status::Paused => {
            return Err(Error::InvalidState(
                "cannot start a container in the paused state".into(),
            ))
        }
        Status::Stopped => {
            return Err(Error::InvalidState(
                "cannot start a container that has stopped".into(),
            ))
        }
        Status::Creating => {
            return Err(Error::InvalidState(
                "cannot start a container that is still being created".into(),
            ))
        }
    }
    if state.as_ref().is_some_and(|s| !s.has_process) {
        return Err(Error::InvalidState(
            "cannot start a container without a process (config.json has no \"process\")".into(),
        ));
    }
    let fifo_path = locked.dir().join(EXEC_FIFO);
    // Non-blocking: if the init is gone there is no reader and open fails
    // with ENXIO instead of hanging.
    let fifo = match sys::fs::openat(None, &fifo_path, libc::O_WRONLY | libc::O_NONBLOCK, 0) {
        Err(e) if e.errno() == libc::ENXIO => {
            return Err(Error::InvalidState(
                "cannot start a container that has stopped".into(),
            ))
        }
        other => other.context("opening exec fifo")?,
    };
    match sys::fs::write(fifo.as_fd(), &[0]) {
        // The init died between the open and the write.
        Err(e) if e.errno() == libc::EPIPE => {
            return Err(Error::InvalidState(
                "cannot start a container that has stopped".into(),
            ))
        }
        other => other.context("writing exec fifo")?,
    };
    std::fs::remove_file(&fifo_path).context("removing exec fifo")?;
    let warnings = match &state {
        Some(st) => crate::hooks::run_saved("poststart", |h| h.poststart(), st, "running"),
        None => Vec::new(),
    };
    Ok(warnings)
}
