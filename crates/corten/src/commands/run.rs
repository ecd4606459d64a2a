//! `corten run`: create, start, and in the foreground wait for the
//! container's exit, passing signals through and its status back.

use lifecycle::state::Store;
use lifecycle::Error;
use sys::signal::SigSet;

use crate::cli::RunArgs;
use crate::log::Logger;

pub fn run(
    store: &Store,
    args: &RunArgs,
    log: &Logger,
    cgroups: lifecycle::cgroup::Policy,
) -> Result<i32, Error> {
    let sys_err = |context: &str| {
        let context = context.to_string();
        move |source| Error::Sys { context, source }
    };
    if !args.detach {
        // A stage-2 init is our grandchild: without this we could not wait
        // for it, so a foreground run is always the subreaper
        // (`--no-subreaper` is accepted for compatibility; the wait loop
        // reaps any orphan that comes our way).
        sys::process::set_child_subreaper().map_err(sys_err("becoming subreaper"))?;
    }
    // Blocked before the init exists, so no signal meant for the container
    // is lost between its start and our wait; the init unblocks its copy.
    let old_mask = if args.detach {
        None
    } else {
        Some(sys::signal::set_mask(&SigSet::all()).map_err(sys_err("blocking signals"))?)
    };
    let id = &args.create.id;
    let created = super::create::create(store, &args.create, log, cgroups, !args.detach)?;
    let pid = created.pid;
    match lifecycle::container::start(store, id) {
        Ok(warnings) => warnings.iter().for_each(|w| log.warn(w)),
        Err(e) => {
            let _ = lifecycle::container::delete(store, id, true);
            return Err(e);
        }
    }
    if args.detach {
        return Ok(0);
    }
    let status = match created.console {
        Some(master) => super::console::attach_and_wait(pid, master),
        None => super::wait::forwarding_signals(pid),
    }
    .map_err(sys_err("waiting for the container"))?;
    if let Some(mask) = old_mask {
        let _ = sys::signal::set_mask(&mask);
    }
    if !args.keep {
        for w in lifecycle::container::delete(store, id, true)? {
            log.warn(&w);
        }
    }
    Ok(status)
}
