//! Starting the container init: the runtime's side of the clone and of the
//! sync protocol (the diagram is in [`sync`]).

pub mod exec;
pub mod handoff;
pub mod idmap;
mod listener;
pub mod namespaces;
pub mod netdev;
mod sources;
pub mod sync;

use std::os::fd::{AsFd, OwnedFd};

use crate::error::{Context, Error};
use crate::init;
use crate::spec::Bundle;
use namespaces::Plan;
use sync::{Channel, Message, RecvError};

/// What `create` asks of the spawn.
pub struct Request<'a> {
    /// The container's id (for the hooks' state).
    pub id: &'a str,
    pub bundle: &'a Bundle,
    /// exec.fifo opened read-write, for the init to block on.
    pub fifo: OwnedFd,
    /// How many descriptors from 3 up the container inherits.
    pub preserve_fds: u32,
    /// Which of those the caller really passed (open before the runtime
    /// opened anything): only these stay open across execve.
    pub inherited_fds: &'a [std::os::fd::RawFd],
    pub no_pivot: bool,
    /// The session keyring to join, if any.
    pub keyring: Option<std::ffi::CString>,
    /// The container's cgroup, which the init is born into.
    pub cgroup: Option<&'a dyn cgroups::Manager>,
    /// Where the pty master goes (process.terminal).
    pub console: Option<crate::process::terminal::ConsoleTo<'a>>,
}

/// An init that is set up and waiting for [`Init::commit`]. Dropping it
/// uncommitted kills it: no error path leaves a process behind.
pub struct Init {
    pid: i32,
    chan: Channel,
    committed: bool,
    /// The pty master kept for the caller.
    console: Option<OwnedFd>,
    /// linux.netDevices moved in, to move back if the create fails.
    devices: netdev::Moved,
}

impl Init {
    /// The init's pid in the runtime's pid namespace.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The pty master kept for the caller, if any.
    pub fn take_console(&mut self) -> Option<OwnedFd> {
        self.console.take()
    }

    /// Tells the init its state is recorded and waits until it no longer
    /// dies with the runtime: it parks until `start`.
    pub fn commit(mut self) -> Result<(), Error> {
        self.chan.send(&Message::Ack).context("sync: sending ack")?;
        match self.chan.recv() {
            Ok(Message::Parked) => {}
            Ok(other) => {
                return Err(Error::InitDied(Some(format!(
                    "unexpected sync message {other:?}"
                ))))
            }
            Err(e) => return Err(Error::InitDied(Some(e.to_string()))),
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Init {
    fn drop(&mut self) {
        if !self.committed {
            // Before the namespace goes: a physical device would come back
            // under its container name, a virtual one would be destroyed.
            self.devices.restore();
            kill_and_reap(self.pid);
        }
    }
}

fn kill_and_reap(pid: i32) {
    let _ = sys::process::kill(pid, libc::SIGKILL);
    // Our child (single stage) is reaped here; a stage-2 init is reaped by
    // its subreaper once stage 1 has exited.
    let _ = sys::process::waitpid(pid, false);
}

/// Clones the init and drives the sync protocol until it is ready.
pub fn spawn(req: Request<'_>) -> Result<Init, Error> {
    let plan = Plan::from_spec(&req.bundle.spec)?;
    let idmap_userns = crate::rootfs::idmap::prepare(&req.bundle.spec)?;
    // Compiled here, once: the init only installs it.
    let seccomp = compile_seccomp(&req.bundle.spec)?;
    let (parent_end, child_end) = sync::pair().context("creating sync socket")?;
    // Keep our descriptors above the range --preserve-fds hands over.
    let min_fd = 3 + req.preserve_fds as i32;
    let child_end = Channel::new(raise(child_end.into_fd(), min_fd)?);
    let fifo = raise(req.fifo, min_fd)?;
    let flags = plan.clone_flags();

    let unprivileged = sys::process::unprivileged();
    let proc = sys::procfs::ProcFs::open().context("opening the runtime's /proc")?;
    let one = sys::process::SingleThreaded::check().context("clone3 of the container init")?;
    // In the container's cgroup for the clone only (see cgroup.rs).
    let in_cgroup = req.cgroup.map(crate::cgroup::ForClone::enter).transpose()?;
    let into = in_cgroup.as_ref().and_then(|g| g.clone_fd());
    let fork = sys::process::fork_child(one, flags as u64, into)
        .map_err(|e| clone_failed(e, into.is_some(), "clone3 of the container init"))?;
    let first = match fork {
        sys::process::Fork::Child(one) => {
            drop(parent_end);
            init::main(init::Context {
                id: req.id,
                bundle: req.bundle,
                plan: &plan,
                idmap_userns: &idmap_userns,
                chan: child_end,
                fifo,
                inherited_fds: req.inherited_fds,
                single_threaded: one,
                no_pivot: req.no_pivot,
                keyring: req.keyring.as_deref(),
                seccomp: seccomp.as_ref(),
                proc: &proc,
                unprivileged,
            })
        }
        sys::process::Fork::Parent(pid) => pid,
    };
    crate::fault::step("init cloned");
    if let Some(g) = in_cgroup {
        if let Err(e) = g.leave() {
            kill_and_reap(first);
            return Err(e);
        }
    }
    drop(child_end);
    drop(fifo);
    let mut guard = Init {
        pid: first,
        chan: parent_end,
        committed: false,
        console: None,
        devices: netdev::Moved::default(),
    };
    drive(
        &mut guard,
        first,
        req.id,
        req.bundle,
        req.console,
        &proc,
        &idmap_userns,
    )?;
    Ok(guard)
}

/// Answers the init's requests until it is ready or fails.
fn drive(
    init: &mut Init,
    first: i32,
    id: &str,
    bundle: &Bundle,
    console: Option<crate::process::terminal::ConsoleTo<'_>>,
    proc: &sys::procfs::ProcFs,
    idmap_userns: &[Option<OwnedFd>],
) -> Result<(), Error> {
    let linux = bundle.spec.linux().as_ref();
    loop {
        let (msg, fd) = match init.chan.recv_with_fd() {
            Ok(m) => m,
            Err(RecvError::Closed) => return Err(died_without_word(first, bundle)),
            Err(e) => return Err(Error::InitDied(Some(e.to_string()))),
        };
        if let Message::FaultStage(_) = msg {
            // The init is at the stage a test asked for: die there.
            crate::fault::kill_runtime();
            continue;
        }
        // Each message is a step of its own: the runtime killed with the
        // init waiting for the answer.
        crate::fault::step(format_args!("sync message {msg:?}"));
        match msg {
            Message::RequestIdMaps => {
                let uid = linux
                    .and_then(|l| l.uid_mappings().clone())
                    .unwrap_or_default();
                let gid = linux
                    .and_then(|l| l.gid_mappings().clone())
                    .unwrap_or_default();
                idmap::write_maps(proc, first, &uid, &gid)?;
                init.chan
                    .send(&Message::IdMapsWritten)
                    .context("sync: id maps")?;
            }
            Message::RequestTimeOffsets => {
                let offsets = linux
                    .and_then(|l| l.time_offsets().clone())
                    .unwrap_or_default();
                idmap::write_time_offsets(proc, first, &offsets)?;
                init.chan
                    .send(&Message::TimeOffsetsWritten)
                    .context("sync: time offsets")?;
            }
            Message::Stage2Pid(pid) => {
                init.pid = pid;
                // Stage 1 exits right after sending this.
                let _ = sys::process::waitpid(first, false);
            }
            Message::RunCreateHooks => {
                run_create_hooks(init.pid, id, bundle)?;
                init.chan
                    .send(&Message::CreateHooksDone)
                    .context("sync: hooks done")?;
            }
            Message::ConsoleMaster => {
                let (Some(master), Some(to)) = (fd, console) else {
                    return Err(Error::InitDied(Some(
                        "the pty master did not arrive".into(),
                    )));
                };
                match to {
                    crate::process::terminal::ConsoleTo::Socket(s) => {
                        handoff::send_fd(s, "the console socket", b"/dev/ptmx", master.as_fd())?
                    }
                    crate::process::terminal::ConsoleTo::Caller => init.console = Some(master),
                }
                init.chan
                    .send(&Message::ConsoleSent)
                    .context("sync: console sent")?;
            }
            Message::SeccompListener => {
                let fd = fd.ok_or_else(|| {
                    Error::InitDied(Some("the seccomp listener did not arrive".into()))
                })?;
                listener::hand_over(fd, init.pid, init.pid, "creating", id, bundle)?;
                init.chan
                    .send(&Message::SeccompListenerSent)
                    .context("sync: seccomp listener sent")?;
            }
            Message::RequestMountSources => {
                sources::hand_over(&init.chan, init.pid, bundle, idmap_userns)?;
            }
            Message::Ready => return Ok(()),
            Message::RequestNetDevices => {
                let devices = linux.and_then(|l| l.net_devices().as_ref());
                if let Some(d) = devices {
                    init.devices.move_all(init.pid, d)?;
                }
                init.chan
                    .send(&Message::NetDevicesMoved)
                    .context("sync: net devices moved")?;
            }
            Message::Error(e) => {
                if first != init.pid {
                    let _ = sys::process::waitpid(first, true);
                }
                return Err(Error::Init(e));
            }
            other => {
                return Err(Error::InitDied(Some(format!(
                    "unexpected sync message {other:?}"
                ))))
            }
        }
    }
}

/// prestart and createRuntime, in the runtime's namespaces.
fn run_create_hooks(pid: i32, id: &str, bundle: &Bundle) -> Result<(), Error> {
    let Some(hooks) = bundle.spec.hooks() else {
        return Ok(());
    };
    let state = |status| crate::hooks::bundle_state(id, pid, status, bundle);
    #[allow(deprecated)]
    let prestart = hooks.prestart().as_deref().unwrap_or_default();
    let from = crate::hooks::From::Runtime(Some(&bundle.dir));
    crate::hooks::run_all_from("prestart", prestart, &state("creating"), &from)?;
    let create_runtime = hooks.create_runtime().as_deref().unwrap_or_default();
    crate::hooks::run_all_from("createRuntime", create_runtime, &state("creating"), &from)
}

/// An init that died without a word. Killed by a signal under a seccomp
/// profile, the likely cause is a syscall the profile denies that the init
/// makes after installing it (which AFTER_SECCOMP does not cover): it can
/// then neither report nor exit, and dies of SIGSYS or SIGSEGV.
fn died_without_word(first: i32, bundle: &Bundle) -> Error {
    let status = reap_status(first);
    let seccomp = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref());
    match status {
        Some(s) if seccomp.is_some() && s.starts_with("killed by signal") => Error::InitDied(Some(
            format!("{s}; does the seccomp profile deny a syscall the init needs?"),
        )),
        other => Error::InitDied(other),
    }
}

/// How the first child ended, for the message when it died without a word.
fn reap_status(pid: i32) -> Option<String> {
    match sys::process::waitpid(pid, false) {
        Ok(Some((_, sys::process::Exit::Code(c)))) => Some(format!("exit status {c}")),
        Ok(Some((_, sys::process::Exit::Signal(s)))) => Some(format!("killed by signal {s}")),
        _ => None,
    }
}

/// Moves `fd` to a number of at least `min`.
/// A failed clone3, told apart from a kernel that does not know
/// clone_args.cgroup (before 5.7), which says E2BIG to CLONE_INTO_CGROUP.
pub(crate) fn clone_failed(e: sys::Error, into_cgroup: bool, what: &'static str) -> Error {
    if e.errno() == libc::E2BIG && into_cgroup {
        return Error::Unsupported(
            "cgroup2 on a kernel without clone3's CLONE_INTO_CGROUP (before Linux 5.7)".into(),
        );
    }
    Error::Sys {
        context: what.into(),
        source: e,
    }
}

pub(crate) fn raise(fd: OwnedFd, min: i32) -> Result<OwnedFd, Error> {
    use std::os::fd::AsRawFd;
    if fd.as_raw_fd() >= min {
        return Ok(fd);
    }
    sys::fs::dup_at_least(fd.as_fd(), min).context("moving a descriptor")
}

/// The syscalls the init and an exec process make between installing the
/// filter and the execve (init/mod.rs, init/exec.rs, from install_seccomp
/// on): the sync messages, clearing the parent-death signal, the read of
/// exec.fifo, the signal reset, the execve, and exit on failure.
const AFTER_SECCOMP: &[&str] = &[
    "sendto",
    "recvfrom",
    "recvmsg",
    "prctl",
    "read",
    "rt_sigaction",
    "rt_sigprocmask",
    "execve",
    "exit_group",
];

/// The container's seccomp filter, compiled for this kernel.
pub(crate) fn compile_seccomp(
    spec: &oci_spec::runtime::Spec,
) -> Result<Option<seccomp::Filter>, Error> {
    let Some(profile) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(None);
    };
    let filter = seccomp::Filter::compile(profile).map_err(|e| Error::Config(e.to_string()))?;
    if filter.notifies && profile.listener_path().is_none() {
        return Err(Error::Config("seccomp listenerPath is not set".into()));
    }
    // Under a filter that denies them the init could not even report or
    // exit (exit_group fails too): it died of SIGSEGV, unexplained.
    let denied = filter.denies(AFTER_SECCOMP);
    if !denied.is_empty() {
        return Err(Error::Config(format!(
            "seccomp: the profile denies {}, which the container init needs after installing it \
             (to report to the runtime, wait for start and execve the process)",
            denied.join(", ")
        )));
    }
    Ok(Some(filter))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_with(profile: serde_json::Value) -> oci_spec::runtime::Spec {
        serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0",
            "linux": {"seccomp": profile}
        }))
        .unwrap()
    }

    #[test]
    fn a_profile_denying_the_inits_last_calls_is_refused() {
        let e = compile_seccomp(&spec_with(
            serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO"}),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("denies sendto"), "{e}");
        let e = compile_seccomp(&spec_with(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_KILL"}]
        })))
        .unwrap_err();
        assert!(e.to_string().contains("denies execve"), "{e}");
    }

    #[test]
    fn podmans_default_profile_passes() {
        let profile: serde_json::Value = serde_json::from_str(include_str!(
            "../../../seccomp/tests/data/podman-default.oci.json"
        ))
        .unwrap();
        assert!(compile_seccomp(&spec_with(profile)).unwrap().is_some());
    }
}
