//! `corten create`.

use lifecycle::container::{self, CreateOptions};
use lifecycle::state::Store;
use lifecycle::Error;

use crate::cli::CreateArgs;
use crate::log::Logger;

pub fn run(
    store: &Store,
    args: &CreateArgs,
    log: &Logger,
    cgroups: lifecycle::cgroup::Policy,
) -> Result<i32, Error> {
    create(store, args, log, cgroups, false)?;
    Ok(0)
}

/// Shared with `run`, which keeps a terminal's master itself in the
/// foreground (`console_to_caller`).
pub fn create(
    store: &Store,
    args: &CreateArgs,
    log: &Logger,
    cgroups: lifecycle::cgroup::Policy,
    console_to_caller: bool,
) -> Result<container::Created, Error> {
    let created = container::create(
        store,
        &CreateOptions {
            id: &args.id,
            bundle: &args.bundle,
            pid_file: args.pid_file.as_deref(),
            preserve_fds: args.preserve_fds,
            listen_fds: listen_fds(),
            no_pivot: args.no_pivot,
            new_keyring: !args.no_new_keyring,
            cgroups,
            console_socket: args.console_socket.as_deref(),
            console_to_caller,
        },
    )?;
    for w in &created.warnings {
        log.warn(w);
    }
    for n in &created.notes {
        log.debug(n);
    }
    if let Some(socket) = &args.pidfd_socket {
        if let Err(e) = lifecycle::spawn::handoff::send_pidfd(socket, created.pid) {
            // The caller asked for the handle: without it, no container.
            let _ = container::delete(store, &args.id, true);
            return Err(e);
        }
    }
    log.debug(&format!(
        "container {} created, init pid {}",
        args.id, created.pid
    ));
    Ok(created)
}

/// Socket activation as runc takes it (go-systemd's activation.Files):
/// LISTEN_FDS descriptors from 3 up, when LISTEN_PID is unset or ours.
fn listen_fds() -> u32 {
    let ours = std::env::var("LISTEN_PID")
        .map(|p| p.parse::<u32>().ok() == Some(std::process::id()))
        .unwrap_or(true);
    if !ours {
        return 0;
    }
    std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0)
}
