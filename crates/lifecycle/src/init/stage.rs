//! Stage 1: joining and creating namespaces when one clone cannot do it all.

use crate::error::{Context as _, Error};
use crate::spawn::sync::Message;

use super::Context;

/// Has the runtime write the id maps. An unprivileged runtime (rootless)
/// writes them as this process's owner, through /proc/PID files that a
/// non-dumpable process keeps root's (so would newuidmap refuse): the init
/// is dumpable for the exchange only, as runc's nsexec does, while nothing
/// but the runtime's own code runs in it.
fn request_id_maps(ctx: &Context<'_>) -> Result<(), Error> {
    if ctx.unprivileged {
        sys::process::set_dumpable(true).context("making the init dumpable for its id maps")?;
    }
    request(ctx, Message::RequestIdMaps, Message::IdMapsWritten)?;
    if ctx.unprivileged {
        sys::process::set_dumpable(false).context("making the process non-dumpable")?;
    }
    Ok(())
}

/// Puts the init into its namespaces. With a single-stage plan the clone
/// already created them and only the id maps are left; otherwise this
/// process joins paths, unshares, and forks the real init when a pid or time
/// namespace only applies to children.
pub(super) fn namespaces(ctx: &Context<'_>) -> Result<(), Error> {
    let plan = ctx.plan;
    if plan.single_stage() {
        if plan.new_user() {
            request_id_maps(ctx)?;
            become_root()?;
            let later = plan.after_becoming_root();
            if later != 0 {
                sys::ns::unshare(later).context("creating namespaces as the container's root")?;
            }
        }
        return Ok(());
    }
    for (flag, fd, path) in &plan.joins {
        sys::ns::setns(std::os::fd::AsFd::as_fd(fd), *flag)
            .with_context(|| format!("joining namespace {path}"))?;
    }
    if plan.new_user() {
        sys::ns::unshare(libc::CLONE_NEWUSER).context("creating user namespace")?;
        request_id_maps(ctx)?;
        become_root()?;
    }
    let rest = plan.new & !libc::CLONE_NEWUSER;
    if rest != 0 {
        sys::ns::unshare(rest).context("creating namespaces")?;
    }
    if plan.new_time() {
        request(
            ctx,
            Message::RequestTimeOffsets,
            Message::TimeOffsetsWritten,
        )?;
    }
    if !plan.needs_second_stage() {
        return Ok(());
    }
    match sys::process::fork_child(ctx.single_threaded, 0, None)
        .context("forking the container init")?
    {
        sys::process::Fork::Child(_) => Ok(()),
        sys::process::Fork::Parent(pid) => {
            let _ = ctx.chan.send(&Message::Stage2Pid(pid));
            sys::process::exit_now(0)
        }
    }
}

/// Sends `ask` and waits for `answer`; any other reply ends the init.
pub(super) fn request(ctx: &Context<'_>, ask: Message, answer: Message) -> Result<(), Error> {
    ctx.chan.send(&ask).context("sync: sending request")?;
    match ctx.chan.recv() {
        Ok(m) if m == answer => Ok(()),
        _ => sys::process::exit_now(1),
    }
}

/// The runtime's detached copies of the bind sources, by mount index
/// (rootfs::sources); anything but those messages ends the init.
pub(super) fn mount_sources(ctx: &Context<'_>) -> Result<Vec<Option<std::os::fd::OwnedFd>>, Error> {
    ctx.chan
        .send(&Message::RequestMountSources)
        .context("sync: asking for the bind sources")?;
    let count = ctx.bundle.spec.mounts().as_ref().map_or(0, Vec::len);
    let mut sources: Vec<_> = (0..count).map(|_| None).collect();
    loop {
        match ctx.chan.recv_with_fd() {
            Ok((Message::MountSource(i), Some(fd))) if i < count => sources[i] = Some(fd),
            Ok((Message::MountSourcesSent, None)) => return Ok(sources),
            _ => sys::process::exit_now(1),
        }
    }
}

/// In a fresh user namespace, take the mapped root's identity so files we
/// create belong to the container's root.
fn become_root() -> Result<(), Error> {
    sys::process::setresgid(0)
        .context("setresgid(0) in the user namespace (is container id 0 mapped?)")?;
    sys::process::setresuid(0)
        .context("setresuid(0) in the user namespace (is container id 0 mapped?)")?;
    Ok(())
}
