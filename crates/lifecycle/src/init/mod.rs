//! The container init: a clone of the runtime that turns itself into the
//! container's first process.
//!
//! [`main`] is the whole sequence, one named step a line, in the order the
//! kernel and past CVEs require. Everything here runs in the child after
//! clone3: it never returns, and it reports failure to the runtime over the
//! sync channel as errno plus the error chain.

pub(crate) mod exec;
mod stage;

use std::convert::Infallible;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

use crate::error::{Context as _, Error};
use crate::process;
use crate::rootfs;
use crate::spawn::namespaces::Plan;
use crate::spawn::sync::{Channel, InitError, Message};
use crate::spec::Bundle;

/// Everything the init needs; borrowed from the runtime's memory, which the
/// clone copied.
pub(crate) struct Context<'a> {
    pub id: &'a str,
    pub bundle: &'a Bundle,
    pub plan: &'a Plan,
    /// User namespaces of idmapped mounts, by mount index.
    pub idmap_userns: &'a [Option<OwnedFd>],
    pub chan: Channel,
    /// exec.fifo, opened read-write by the runtime: reading it blocks until
    /// `start` writes, and no path is needed after pivot_root.
    pub fifo: OwnedFd,
    /// The caller's descriptors (--preserve-fds) the container inherits.
    pub inherited_fds: &'a [std::os::fd::RawFd],
    /// This process has one thread (it is a clone child).
    pub single_threaded: sys::process::SingleThreaded,
    pub no_pivot: bool,
    /// The session keyring to join, if any.
    pub keyring: Option<&'a std::ffi::CStr>,
    /// The compiled linux.seccomp, if any.
    pub seccomp: Option<&'a seccomp::Filter>,
    /// The runtime's own /proc, opened before the container had mounts:
    /// every /proc write made for the container goes through it.
    pub proc: &'a sys::procfs::ProcFs,
    /// The runtime is not the host's root (an unprivileged user, or root
    /// of a user namespace, as under rootless podman), decided before the
    /// clone: inside a new, unmapped user namespace every id reads 65534.
    pub unprivileged: bool,
}

/// The child's entry point.
pub(crate) fn main(ctx: Context<'_>) -> ! {
    guard_until_parked(&ctx);
    let err = match stage::namespaces(&ctx).and_then(|()| setup_and_exec(&ctx)) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    // If the runtime is gone there is no one left to tell.
    let _ = ctx.chan.send(&Message::Error(to_init_error(&err)));
    sys::process::exit_now(1)
}

/// The container setup, in order. Each line is one step.
fn setup_and_exec(ctx: &Context<'_>) -> Result<Infallible, Error> {
    let spec = &ctx.bundle.spec;
    // Each fault::init_stage is where a test may have the runtime die
    // (debug builds only; nothing in a release build).
    let stage = |name| crate::fault::init_stage(&ctx.chan, name);
    stage("in its namespaces");
    // Before anything of the container's own setup (its sysctls may name
    // a moved interface) and before any hook.
    if spec
        .linux()
        .as_ref()
        .and_then(|l| l.net_devices().as_ref())
        .is_some_and(|d| !d.is_empty())
    {
        stage::request(ctx, Message::RequestNetDevices, Message::NetDevicesMoved)?;
    }
    sys::process::setsid().context("setsid")?;
    process::sched::apply_affinity(spec, false)?;
    if let Some(name) = ctx.keyring {
        sys::process::join_session_keyring(name).context("joining a session keyring")?;
    }
    // Still on the host's /proc, and still privileged enough to lower it.
    process::limits::apply_oom_score_adj(spec, ctx.proc)?;
    process::lsm::apply(spec, ctx.proc)?;
    // Files and device nodes we create get exactly the modes the config asks for.
    sys::fs::umask(0);
    rootfs::set_names(spec)?;
    stage("before the mounts");
    let root = rootfs::prepare(
        ctx.bundle,
        ctx.plan,
        ctx.idmap_userns,
        ctx.unprivileged,
        &|| stage::mount_sources(ctx),
    )?;
    stage("mounted");
    // Hooks see the mounts but not yet the new root.
    create_hooks(ctx)?;
    // pivot_root after every mount, so all of them resolve inside the rootfs.
    let no_pivot = ctx.no_pivot.then_some(rootfs::NoPivot {
        proc: ctx.proc,
        rootfs: &ctx.bundle.rootfs,
    });
    rootfs::enter(root, no_pivot)?;
    // In the container's namespaces, through the runtime's own procfs (the
    // container's could be redirected by its mounts, CVE-2025-52881).
    process::sysctl::apply(spec, ctx.proc)?;
    // From the container's own devpts, now that /dev/ptmx is the container's.
    if process::terminal::wanted(spec) {
        setup_terminal(&ctx.chan, true, spec)?;
    }
    rootfs::finish(spec)?;
    stage("in its root, masked");
    // A config without `process` is created; `start` refuses it (runtime spec).
    let exec = spec
        .process()
        .as_ref()
        .map(|_| process::Exec::prepare(spec))
        .transpose()?;
    // Raising a hard limit needs CAP_SYS_RESOURCE, a real-time policy
    // CAP_SYS_NICE: before the user switch.
    process::limits::apply_rlimits(spec)?;
    process::sched::apply(spec, ctx.bundle.scheduler.as_ref())?;
    let bounding = process::caps::bounding_set_for(spec, ctx.proc)?;
    // CVE-2024-21626: the cwd is entered and the program looked up only
    // once no host directory is left open to reach through /proc/self/fd;
    // the cwd is then verified to be inside the root, and the program
    // reached without a magic link.
    process::fds::close_runtime_fds(ctx.inherited_fds, &[ctx.chan.raw_fd(), fifo_fd(ctx)])?;
    // As runc: the cwd is entered with root's permissions first (a 0700
    // directory the user may not search), again as the user if that failed.
    let cwd_pending = process::enter_cwd_privileged(spec)?;
    // The user switch comes after the rootfs (mounts and mknod need root).
    let deferred_caps = switch_user(spec, ctx.seccomp, bounding)?;
    stage("as its user");
    // A uid change clears the parent-death signal (kernel rule): arm it again.
    arm_parent_death(ctx);
    process::enter_cwd(spec, cwd_pending)?;
    let exec = exec.map(|e| e.resolve(ctx.inherited_fds)).transpose()?;
    process::limits::apply_no_new_privileges(spec)?;
    // Close everything but stdio and --preserve-fds at execve.
    process::fds::close_on_exec(ctx.inherited_fds)?;
    process::signals::prepare_for_park()?;
    // seccomp as close to execve as a failure can still reach `create` and
    // the notify listener still cross the channel: after the init's own
    // getcwd and close_range, which a profile may forbid (runc installs it
    // before them without no_new_privs, and fails runtime-tools'
    // linux_seccomp). What the init does after this, the profile must allow.
    install_seccomp(&ctx.chan, ctx.seccomp, deferred_caps)?;
    stage("under seccomp");
    ctx.chan
        .send(&Message::Ready)
        .context("sync: sending ready")?;
    match ctx.chan.recv() {
        Ok(Message::Ack) => {}
        // The runtime died or failed before recording us: leave nothing behind.
        _ => sys::process::exit_now(1),
    }
    // Recorded: from here the init outlives `create`.
    sys::process::set_parent_death_signal(0).context("clearing the parent-death signal")?;
    ctx.chan
        .send(&Message::Parked)
        .context("sync: sending parked")?;
    wait_for_start(ctx.fifo.as_fd());
    if let Err(e) = start_container_hooks(ctx) {
        // `start` has returned: the container's stderr is the only witness.
        let _ = writeln!(std::io::stderr(), "corten: {}", crate::error::chain(&e));
        sys::process::exit_now(1);
    }
    process::signals::reset_before_exec()?;
    process::sched::apply_affinity(spec, true)?;
    match exec {
        Some(exec) => Err(exec.exec()),
        // `start` never releases a container without a process.
        None => sys::process::exit_now(1),
    }
}

/// A pty: the master goes to the runtime (for the console socket), the
/// other end becomes this session's controlling terminal and stdio, and for
/// the init also /dev/console. No copy of the master stays here.
pub(crate) fn setup_terminal(
    chan: &Channel,
    console: bool,
    spec: &oci_spec::runtime::Spec,
) -> Result<(), Error> {
    let pty = process::terminal::open(spec)?;
    if console {
        process::terminal::bind_console(&pty)?;
    }
    chan.send_with_fd(&Message::ConsoleMaster, pty.master.as_fd())
        .context("sync: sending the pty master")?;
    match chan.recv() {
        Ok(Message::ConsoleSent) => {}
        // The runtime could not reach the console socket and reports it.
        _ => sys::process::exit_now(1),
    }
    process::terminal::attach(&pty)
}

/// The user switch. Without no_new_privs, installing a seccomp filter takes
/// CAP_SYS_ADMIN: the capabilities' last step is held back until
/// [`install_seccomp`] (the init's and an exec process's).
fn switch_user(
    spec: &oci_spec::runtime::Spec,
    filter: Option<&seccomp::Filter>,
    bounding: u64,
) -> Result<Option<process::user::DeferredCaps>, Error> {
    let needs_admin = filter.is_some() && !process::limits::no_new_privileges(spec);
    process::user::switch(spec, needs_admin, bounding)
}

/// Installs the seccomp filter, then takes the capability step
/// [`switch_user`] held back. A notify listener goes to the runtime over
/// `chan`, for the agent, and is closed here before the process can
/// inherit it.
fn install_seccomp(
    chan: &Channel,
    filter: Option<&seccomp::Filter>,
    deferred_caps: Option<process::user::DeferredCaps>,
) -> Result<(), Error> {
    match deferred_caps {
        Some(caps) => {
            caps.raise()?;
            install_filter(chan, filter)?;
            caps.finish()
        }
        None => install_filter(chan, filter),
    }
}

fn install_filter(chan: &Channel, filter: Option<&seccomp::Filter>) -> Result<(), Error> {
    let Some(filter) = filter else {
        return Ok(());
    };
    let listener = filter.install().context("installing the seccomp filter")?;
    if let Some(fd) = listener {
        chan.send_with_fd(&Message::SeccompListener, fd.as_fd())
            .context("sync: sending the seccomp listener")?;
        match chan.recv() {
            Ok(Message::SeccompListenerSent) => {}
            // The runtime failed to reach the agent and reports it.
            _ => sys::process::exit_now(1),
        }
    }
    Ok(())
}

/// Protections that hold from the clone until the init is parked.
fn guard_until_parked(ctx: &Context<'_>) {
    // CVE-2019-5736: a non-dumpable process's /proc/PID/{exe,fd,mem} are
    // closed to the container (without CAP_SYS_PTRACE over it) until execve
    // resets the flag. The sealed binary is the other half of the defence.
    if sys::process::set_dumpable(false).is_err() {
        sys::process::exit_now(1);
    }
    arm_parent_death(ctx);
}

/// A runtime killed during setup takes a single-stage init with it, even
/// one stuck on something other than the sync channel. (A stage-2 init's
/// parent is stage 1, which exits at once: it relies on the channel.)
/// Armed at the start and again after the uid switch, which clears it.
fn arm_parent_death(ctx: &Context<'_>) {
    // If the runtime died before the signal was armed, its end of the
    // channel is closed. (getppid() cannot tell: it reads 0 in a new pid
    // namespace.)
    if ctx.plan.single_stage()
        && (sys::process::set_parent_death_signal(libc::SIGKILL).is_err() || ctx.chan.peer_closed())
    {
        sys::process::exit_now(1);
    }
}

fn hook_list<'s>(
    ctx: &'s Context<'_>,
    pick: fn(&'s oci_spec::runtime::Hooks) -> &'s Option<Vec<oci_spec::runtime::Hook>>,
) -> &'s [oci_spec::runtime::Hook] {
    ctx.bundle
        .spec
        .hooks()
        .as_ref()
        .and_then(|h| pick(h).as_deref())
        .unwrap_or_default()
}

/// Asks the runtime to run prestart and createRuntime, then runs
/// createContainer here, in the container's namespaces.
#[allow(deprecated)]
fn create_hooks(ctx: &Context<'_>) -> Result<(), Error> {
    let any = [
        hook_list(ctx, |h| h.prestart()),
        hook_list(ctx, |h| h.create_runtime()),
        hook_list(ctx, |h| h.create_container()),
    ]
    .iter()
    .any(|l| !l.is_empty());
    if !any {
        return Ok(());
    }
    ctx.chan
        .send(&Message::RunCreateHooks)
        .context("sync: requesting hooks")?;
    match ctx.chan.recv() {
        Ok(Message::CreateHooksDone) => {}
        _ => sys::process::exit_now(1),
    }
    crate::hooks::run_all_from(
        "createContainer",
        hook_list(ctx, |h| h.create_container()),
        &hook_state(ctx, "creating"),
        &crate::hooks::From::Init(Some(&ctx.bundle.rootfs)),
    )
}

/// startContainer, after `start` and before the execve.
fn start_container_hooks(ctx: &Context<'_>) -> Result<(), Error> {
    let hooks = hook_list(ctx, |h| h.start_container());
    if hooks.is_empty() {
        return Ok(());
    }
    crate::hooks::run_all("startContainer", hooks, &hook_state(ctx, "created"))
}

/// The state the init's own hooks read: its pid is the init's getpid (1 in
/// a pid namespace), as runc's init gives it.
fn hook_state(ctx: &Context<'_>, status: &str) -> Vec<u8> {
    let pid = i32::try_from(std::process::id()).unwrap_or(0);
    crate::hooks::bundle_state(ctx.id, pid, status, ctx.bundle)
}

fn fifo_fd(ctx: &Context<'_>) -> std::os::fd::RawFd {
    std::os::fd::AsRawFd::as_raw_fd(&ctx.fifo)
}

/// Blocks until `start` writes one byte to exec.fifo.
fn wait_for_start(fifo: std::os::fd::BorrowedFd<'_>) {
    let mut byte = [0u8; 1];
    match sys::fs::read(fifo, &mut byte) {
        Ok(1) => {}
        _ => sys::process::exit_now(1),
    }
}

/// Flattens an error into what crosses the channel.
pub(crate) fn to_init_error(err: &Error) -> InitError {
    let mut chain = Vec::new();
    let mut errno = 0;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(s) = e.downcast_ref::<sys::Error>() {
            errno = s.errno();
        }
        // I/O errors in runc's words, as the runtime's own (error::chain).
        match e.downcast_ref::<std::io::Error>() {
            Some(io) => {
                errno = io.raw_os_error().unwrap_or(errno);
                chain.push(crate::spec::io_reason(io));
            }
            None => chain.push(e.to_string()),
        }
        cur = e.source();
    }
    InitError {
        errno,
        chain,
        command_not_found: err.exit_status() == 127,
    }
}
