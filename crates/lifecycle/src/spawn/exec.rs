//! `exec`: the runtime's side of starting a process inside a container
//! (the exchange is drawn in [`super::sync`]).
//!
//! The process is a clone of the runtime, born in the container's pid (and
//! time) namespace: the runtime joins those for its children first, so the
//! process is its own child, which a foreground `exec` waits for, with no
//! intermediate process. The clone joins the other namespaces itself.

use std::os::fd::{AsFd, OwnedFd};

use crate::error::{Context, Error};
use crate::init;
use crate::spec::Bundle;
use crate::state::State;

use super::sync::{self, Channel, Message, RecvError};

/// What `exec` asks of the spawn.
pub struct Request<'a> {
    pub state: &'a State,
    /// The container's config with the exec process in place of its own.
    pub bundle: &'a Bundle,
    pub preserve_fds: u32,
    pub inherited_fds: &'a [std::os::fd::RawFd],
    /// Where the pty master goes (process.terminal).
    pub console: Option<crate::process::terminal::ConsoleTo<'a>>,
    /// Sub-cgroups of the container's to join: (controller, path).
    pub sub_cgroups: &'a [(Option<String>, std::path::PathBuf)],
}

/// Namespace kinds: (name in /proc/PID/ns, clone flag).
const KINDS: [(&str, i32); 8] = [
    ("user", libc::CLONE_NEWUSER),
    ("mnt", libc::CLONE_NEWNS),
    ("net", libc::CLONE_NEWNET),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("pid", libc::CLONE_NEWPID),
    ("time", libc::CLONE_NEWTIME),
];

/// Only effective for children: joined by the runtime before the clone.
const FOR_CHILDREN: i32 = libc::CLONE_NEWPID | libc::CLONE_NEWTIME;

/// The namespaces the runtime joins itself, before the clone: those only
/// effective for children. An unprivileged runtime (rootless) may join them
/// only from inside the container's user namespace, which owns them, so it
/// joins that too (setns with several flags enters the user namespace
/// first); it then acts as its own id mapped there.
fn early_namespaces(flags: i32) -> i32 {
    let early = flags & FOR_CHILDREN;
    let rootless = sys::process::effective_ids().0 != 0;
    if early != 0 && rootless && flags & libc::CLONE_NEWUSER != 0 {
        early | libc::CLONE_NEWUSER
    } else {
        early
    }
}

/// Starts the process; returns its pid once it has called execve, and the
/// pty master when the caller keeps it.
pub fn spawn(req: Request<'_>) -> Result<(i32, Option<OwnedFd>), Error> {
    let init_pid = req.state.init_pid;
    let pidfd = sys::process::pidfd_open(init_pid).map_err(|_| Error::NotRunning)?;
    // A container without a mount namespace of its own has its root only
    // as the init's chroot, which joining a mount namespace does not give
    // (and the exec may come from another mount namespace): the process
    // takes the init's root. Otherwise the mount namespace's root is the
    // container's, as runc has it, even if the init chrooted since.
    // Opened before the liveness check below, so that it is surely our
    // init's.
    let flags = differing_namespaces(init_pid)?;
    let root = match req.state.host_rootfs_mount {
        Some(_) => Some(
            sys::fs::openat(
                None,
                std::path::Path::new(&format!("/proc/{init_pid}/root")),
                libc::O_PATH | libc::O_DIRECTORY,
                0,
            )
            .map_err(|_| Error::NotRunning)?,
        ),
        None => None,
    };
    // The pidfd pins one process: make sure it is our init and not a
    // process that got the pid after the init died.
    if crate::state::liveness_check(init_pid, req.state.init_start_time)
        != crate::state::ProcState::Alive
    {
        return Err(Error::NotRunning);
    }
    let seccomp = super::compile_seccomp(&req.bundle.spec)?;
    let (parent_end, child_end) = sync::pair().context("creating sync socket")?;
    let min_fd = 3 + req.preserve_fds as i32;
    let child_end = Channel::new(super::raise(child_end.into_fd(), min_fd)?);
    let pidfd = super::raise(pidfd, min_fd)?;
    let early = early_namespaces(flags);
    if early != 0 {
        sys::ns::setns(pidfd.as_fd(), early).context("joining the container's pid namespace")?;
    }
    // The process puts itself into the container's cgroup: born in its
    // cgroup2 part (CLONE_INTO_CGROUP), and "0" into the v1 `tasks` files
    // opened here. Unlike the init's runtime, this one never steps in: it
    // could be frozen, throttled or killed there meanwhile (exec takes no
    // lock). Moving a pid in instead (sub-cgroups, or a container at its
    // pids limit, which must still take an exec, as with runc) takes the
    // cgroup.procs lock and its RCU grace period.
    // Files it cannot have (a `tasks` this user may not write, where a
    // delegation gave only cgroup.procs) leave it to the move by pid.
    let for_child = match &req.state.cgroup {
        Some(p) if req.sub_cgroups.is_empty() => crate::cgroup::for_child(p).ok(),
        _ => None,
    };
    let self_placed = for_child.is_some();
    let (tasks, into) = match for_child {
        Some(c) => {
            // Above the range --preserve-fds hands over, as every other.
            let tasks = c
                .tasks
                .into_iter()
                .map(|(path, f)| Ok::<_, Error>((path, super::raise(f, min_fd)?)));
            let into = c.into.map(|f| super::raise(f, min_fd)).transpose()?;
            (tasks.collect::<Result<Vec<_>, _>>()?, into)
        }
        None => (Vec::new(), None),
    };
    let into = into.as_ref().map(|f| f.as_fd());
    let proc = sys::procfs::ProcFs::open().context("opening the runtime's /proc")?;
    let one = sys::process::SingleThreaded::check().context("clone3 of the exec process")?;
    let (fork, placed) = match sys::process::fork_child(one, 0, into) {
        // The clone is counted against pids.max; a process moved in is not.
        Err(e) if e.errno() == libc::EAGAIN && into.is_some() => {
            (sys::process::fork_child(one, 0, None), false)
        }
        other => (other, self_placed),
    };
    let pid = match fork.map_err(|e| {
        super::clone_failed(e, placed && into.is_some(), "clone3 of the exec process")
    })? {
        sys::process::Fork::Child(_) => {
            drop(parent_end);
            init::exec::main(init::exec::Context {
                bundle: req.bundle,
                pidfd: &pidfd,
                ns_flags: flags & !early,
                root: root.as_ref(),
                chan: child_end,
                inherited_fds: req.inherited_fds,
                seccomp: seccomp.as_ref(),
                proc: &proc,
                cgroup_tasks: if placed { &tasks } else { &[] },
            })
        }
        sys::process::Fork::Parent(pid) => pid,
    };
    drop(child_end);
    drop(tasks);
    let mut guard = Child { pid, done: false };
    let mut console = None;
    if let (Some(p), false) = (&req.state.cgroup, placed) {
        crate::cgroup::join(p, pid, req.sub_cgroups)?;
    }
    parent_end
        .send(&Message::Proceed)
        .context("sync: starting the exec process")?;
    loop {
        match parent_end.recv_with_fd() {
            // Close-on-exec: the end closed at a successful execve.
            Err(RecvError::Closed) => break,
            Err(e) => return Err(Error::InitDied(Some(e.to_string()))),
            Ok((Message::ConsoleMaster, Some(fd))) => {
                match req.console {
                    Some(crate::process::terminal::ConsoleTo::Socket(s)) => {
                        super::handoff::send_fd(s, "the console socket", b"/dev/ptmx", fd.as_fd())?
                    }
                    Some(crate::process::terminal::ConsoleTo::Caller) => console = Some(fd),
                    None => {
                        return Err(Error::InitDied(Some(
                            "a pty master nobody asked for".into(),
                        )))
                    }
                }
                parent_end
                    .send(&Message::ConsoleSent)
                    .context("sync: console sent")?;
            }
            Ok((Message::SeccompListener, Some(fd))) => {
                hand_over(fd, pid, &req)?;
                parent_end
                    .send(&Message::SeccompListenerSent)
                    .context("sync: seccomp listener sent")?;
            }
            Ok((Message::Error(e), _)) => return Err(Error::Init(e)),
            Ok((other, _)) => {
                return Err(Error::InitDied(Some(format!(
                    "unexpected sync message {other:?}"
                ))))
            }
        }
    }
    guard.done = true;
    Ok((pid, console))
}

fn hand_over(fd: OwnedFd, pid: i32, req: &Request<'_>) -> Result<(), Error> {
    super::listener::hand_over(
        fd,
        pid,
        req.state.init_pid,
        "running",
        &req.state.id,
        req.bundle,
    )
}

/// Namespaces of the init that are not the runtime's own.
fn differing_namespaces(init_pid: i32) -> Result<i32, Error> {
    let mut flags = 0;
    for (name, flag) in KINDS {
        let theirs = std::fs::read_link(format!("/proc/{init_pid}/ns/{name}"));
        let ours = std::fs::read_link(format!("/proc/self/ns/{name}"));
        match (theirs, ours) {
            (Ok(t), Ok(o)) if t != o => flags |= flag,
            (Ok(_), Ok(_)) => {}
            // A kind this kernel lacks (time before 5.6) is shared by all.
            (Err(e), _) | (_, Err(e)) if e.raw_os_error() == Some(libc::ENOENT) => {}
            (Err(e), _) | (_, Err(e)) => {
                return Err(Error::Io {
                    context: format!("reading the container's {name} namespace"),
                    source: e,
                })
            }
        }
    }
    Ok(flags)
}

/// The exec process until it has called execve: killed and reaped on error.
struct Child {
    pid: i32,
    done: bool,
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.done {
            let _ = sys::process::kill(self.pid, libc::SIGKILL);
            let _ = sys::process::waitpid(self.pid, false);
        }
    }
}
