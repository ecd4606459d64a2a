//! `exec`: a new process in a running (or created) container.

use std::path::Path;

use oci_spec::runtime::Process;

use crate::error::{Context, Error};
use crate::state::{Status, Store};

/// What `exec` asks for.
pub struct ExecOptions<'a> {
    pub id: &'a str,
    /// The process to run (from `--process`, or the config's with the
    /// command line's changes: see [`default_process`]).
    pub process: Process,
    /// Its process.scheduler (which oci-spec cannot parse).
    pub scheduler: Option<crate::process::sched::Scheduler>,
    /// Pass this many descriptors from 3 up to the process.
    pub preserve_fds: u32,
    /// Run even in a paused container (it stays frozen until resumed).
    pub ignore_paused: bool,
    pub pid_file: Option<&'a Path>,
    /// Where the pty master goes (process.terminal).
    pub console_socket: Option<&'a Path>,
    /// Without a console socket, keep the master for the caller (a
    /// foreground `exec -t`) instead of refusing a terminal.
    pub console_to_caller: bool,
    /// `--cgroup`: sub-cgroups of the container's, (controller, path).
    pub sub_cgroups: Vec<(Option<String>, std::path::PathBuf)>,
}

/// A started exec process.
pub struct Executed {
    /// Its pid in the runtime's pid namespace.
    pub pid: i32,
    /// The pty master, when the caller keeps it.
    pub console: Option<std::os::fd::OwnedFd>,
}

/// The container's own process and scheduler, the base that `exec`'s
/// flags change.
pub fn default_process(
    store: &Store,
    id: &str,
) -> Result<(Process, Option<crate::process::sched::Scheduler>), Error> {
    let state = store.read(id)?.ok_or_else(|| Error::NotExist(id.into()))?;
    let bundle = config_of(store, id, &state)?;
    Ok((
        bundle.spec.process().clone().unwrap_or_default(),
        bundle.scheduler,
    ))
}

/// What an exec process (`exec -p FILE`) leaves out, it has as the
/// container's init has it, as runc's exec: its capabilities (a process
/// file without them must not run with every capability, nor with none
/// where the container has some), AppArmor profile, SELinux label and
/// rlimits. no_new_privileges is not among them: runc reads a missing one
/// as false.
fn take_the_containers_defaults(p: &mut Process, own: &Process) {
    if p.capabilities().is_none() {
        p.set_capabilities(own.capabilities().clone());
    }
    if p.apparmor_profile().as_ref().is_none_or(|a| a.is_empty()) {
        p.set_apparmor_profile(own.apparmor_profile().clone());
    }
    if p.selinux_label().as_ref().is_none_or(|l| l.is_empty()) {
        p.set_selinux_label(own.selinux_label().clone());
    }
    if p.rlimits().as_ref().is_none_or(|r| r.is_empty()) {
        p.set_rlimits(own.rlimits().clone());
    }
}

/// The container's config as `create` took it (runc's behaviour: the
/// bundle may have changed or gone since); the bundle's for a container
/// made before configs were saved.
fn config_of(
    store: &Store,
    id: &str,
    state: &crate::state::State,
) -> Result<crate::spec::Bundle, Error> {
    match crate::spec::load_saved(&store.dir(id), &state.bundle, &state.rootfs)? {
        Some(bundle) => Ok(bundle),
        None => crate::spec::load(&state.bundle),
    }
}

/// Starts the process; returns its pid (in the runtime's pid namespace)
/// once it has called execve. The caller waits for it, or not (`--detach`).
pub fn exec(store: &Store, opts: &ExecOptions<'_>) -> Result<Executed, Error> {
    let inherited = super::create::passed_fds(opts.preserve_fds);
    let state = store
        .read(opts.id)?
        .ok_or_else(|| Error::NotExist(opts.id.into()))?;
    match crate::state::status_of(&store.dir(opts.id), Some(&state)) {
        Status::Created | Status::Running => {}
        Status::Paused if opts.ignore_paused => {}
        Status::Paused => {
            return Err(Error::InvalidState(
                "cannot exec in a paused container (use --ignore-paused to override)".into(),
            ))
        }
        _ => {
            return Err(Error::InvalidState(
                "cannot exec in a stopped container".into(),
            ))
        }
    }
    if !opts.sub_cgroups.is_empty() && state.cgroup.is_none() {
        return Err(Error::Config(
            "exec --cgroup: the container has no cgroup".into(),
        ));
    }
    let mut bundle = config_of(store, opts.id, &state)?;
    if opts.process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::Config("exec: process.args must not be empty".into()));
    }
    crate::spec::check_user(opts.process.user())?;
    let console = super::create::console_target(
        opts.process.terminal() == Some(true),
        opts.console_socket,
        opts.console_to_caller,
    )?;
    // The container's config, with this process in place of its own.
    let mut process = opts.process.clone();
    if let Some(own) = bundle.spec.process() {
        take_the_containers_defaults(&mut process, own);
    }
    bundle.spec.set_process(Some(process));
    bundle.scheduler = opts.scheduler.clone();
    let (pid, console) = crate::spawn::exec::spawn(crate::spawn::exec::Request {
        state: &state,
        bundle: &bundle,
        preserve_fds: opts.preserve_fds,
        inherited_fds: &inherited,
        console,
        sub_cgroups: &opts.sub_cgroups,
    })?;
    if let Some(p) = opts.pid_file {
        let path = std::path::absolute(p).with_context(|| format!("pid file {}", p.display()))?;
        crate::state::write_atomic(&path, pid.to_string().as_bytes())?;
    }
    Ok(Executed { pid, console })
}
