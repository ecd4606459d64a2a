//! An `exec` process: a clone of the runtime that joins a running
//! container and becomes the requested process. One named step a line, in
//! the order the kernel and past CVEs require (the same as the init's).

use std::convert::Infallible;
use std::os::fd::{AsFd, OwnedFd};

use crate::error::{Context as _, Error};
use crate::process;
use crate::spawn::sync::{Channel, Message};
use crate::spec::Bundle;

/// What the exec process needs, borrowed from the runtime's memory.
pub(crate) struct Context<'a> {
    /// The container's config with this process in place of its own.
    pub bundle: &'a Bundle,
    /// A pidfd of the container's init, to join its namespaces.
    pub pidfd: &'a OwnedFd,
    /// The namespaces to join (CLONE_NEW*); pid and time are already ours.
    pub ns_flags: i32,
    /// The init's root (/proc/PID/root) of a container without a mount
    /// namespace of its own, entered after the namespaces.
    pub root: Option<&'a OwnedFd>,
    pub chan: Channel,
    pub inherited_fds: &'a [std::os::fd::RawFd],
    pub seccomp: Option<&'a seccomp::Filter>,
    /// The runtime's own /proc (see the init's).
    pub proc: &'a sys::procfs::ProcFs,
    /// The container's v1 `tasks` files, to write "0" (this process) to.
    pub cgroup_tasks: &'a [(std::path::PathBuf, OwnedFd)],
}

/// The child's entry point.
pub(crate) fn main(ctx: Context<'_>) -> ! {
    let err = match setup_and_exec(&ctx) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = ctx.chan.send(&Message::Error(super::to_init_error(&err)));
    sys::process::exit_now(1)
}

fn setup_and_exec(ctx: &Context<'_>) -> Result<Infallible, Error> {
    let spec = &ctx.bundle.spec;
    // CVE-2019-5736: until execve this process is the runtime's image; a
    // non-dumpable process's /proc/PID/{exe,fd,mem} are closed to the
    // container.
    sys::process::set_dumpable(false).context("making the process non-dumpable")?;
    guard_runtime_death(ctx);
    // The runtime moves us into the container's cgroup where we were not
    // born in it, then says so; the v1 hierarchies we join ourselves (in a
    // paused container, the freezer's, last, stops us until resumed).
    match ctx.chan.recv() {
        Ok(Message::Proceed) => {}
        _ => sys::process::exit_now(1),
    }
    for (path, tasks) in ctx.cgroup_tasks {
        sys::fs::write(tasks.as_fd(), b"0")
            .with_context(|| format!("joining the container's cgroup {}", path.display()))?;
    }
    // All at once through the init's pidfd: the kernel joins the user
    // namespace first, so the others are joined with its privileges. A
    // mount namespace sets root and cwd to its root: the container's.
    if ctx.ns_flags != 0 {
        sys::ns::setns(ctx.pidfd.as_fd(), ctx.ns_flags)
            .context("joining the container's namespaces")?;
    }
    // The init's root, not the mount namespace's, for a container without
    // a mount namespace of its own (a chroot on the host's): this process
    // must never stay on the host's /.
    if let Some(root) = ctx.root {
        sys::fs::fchdir(root.as_fd()).context("entering the container's root")?;
        sys::fs::chroot(std::path::Path::new(".")).context("chroot into the container's root")?;
    }
    // A terminal: this process leads a session of its own, with the pty
    // (from the container's devpts) as its controlling terminal.
    if process::terminal::wanted(spec) {
        sys::process::setsid().context("setsid")?;
        super::setup_terminal(&ctx.chan, false, spec)?;
    }
    process::limits::apply_rlimits(spec)?;
    // The container's /proc is the one this process now sees: its own
    // files are written through the runtime's (CVE-2025-52881).
    process::limits::apply_oom_score_adj(spec, ctx.proc)?;
    process::lsm::apply(spec, ctx.proc)?;
    process::sched::apply(spec, ctx.bundle.scheduler.as_ref())?;
    let exec = process::Exec::prepare(spec)?;
    let deferred_caps = super::switch_user(spec, ctx.seccomp, ctx.proc)?;
    // A uid change clears the parent-death signal (kernel rule).
    guard_runtime_death(ctx);
    // CVE-2024-21626: nothing of the runtime's is left open to walk through
    // (the cgroup directory, the init's pidfd...) when the cwd is entered
    // and checked to be inside the container's root, and the program looked
    // up (see the init).
    process::fds::close_runtime_fds(ctx.inherited_fds, &[ctx.chan.raw_fd()])?;
    process::enter_cwd(spec)?;
    let exec = exec.resolve(ctx.inherited_fds)?;
    process::limits::apply_no_new_privileges(spec)?;
    process::fds::close_on_exec(ctx.inherited_fds)?;
    // The runtime blocked every signal to forward them; the process starts
    // with none blocked.
    sys::signal::set_mask(&sys::signal::SigSet::empty()).context("unblocking signals")?;
    process::signals::reset_before_exec()?;
    // seccomp last, after this process's own calls (see the init).
    super::install_seccomp(&ctx.chan, ctx.seccomp, deferred_caps)?;
    // A detached process outlives the runtime.
    sys::process::set_parent_death_signal(0).context("clearing the parent-death signal")?;
    Err(exec.exec())
}

/// A runtime killed before the execve takes this process with it.
fn guard_runtime_death(ctx: &Context<'_>) {
    if sys::process::set_parent_death_signal(libc::SIGKILL).is_err() || ctx.chan.peer_closed() {
        sys::process::exit_now(1);
    }
}
