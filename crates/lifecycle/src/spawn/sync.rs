//! The typed channel between the runtime and the container init.
//!
//! One SOCK_SEQPACKET pair, one JSON message per packet. The init is a clone
//! of the runtime, so it already holds the parsed config: only the steps that
//! need the other side cross the channel.
//!
//! ```text
//!   runtime (parent)                                  init (stage 1, maybe stage 2)
//!        |--- clone3(new namespaces) --------------------->|
//!        |                                                 | [joins: setns(paths); unshare(user)]
//!        |<------------------------------- RequestIdMaps --|  only with a new user namespace
//!        |  write /proc/PID/{uid,gid}_map                  |
//!        |--- IdMapsWritten ------------------------------>|  setresuid/gid(0) inside
//!        |                                                 | [joins: unshare(the rest)]
//!        |<------------------------- RequestTimeOffsets ---|  only with a new time namespace
//!        |  write /proc/PID/timens_offsets                 |
//!        |--- TimeOffsetsWritten ------------------------->|
//!        |                                                 | [pid or time namespace: fork stage 2,
//!        |<---------------------------------- Stage2Pid ---|  stage 1 exits; stage 2 is the init]
//!        |<-------------------------- RequestNetDevices ---|  only with linux.netDevices
//!        |  move the devices into its network namespace    |
//!        |--- NetDevicesMoved ---------------------------->|
//!        |                                                 | hostname, / slave (or as rootfsPropagation)
//!        |<------------------------ RequestMountSources ---|  only with a user namespace and bind mounts
//!        |  setns(its mount ns), open_tree each source     |
//!        |  (idmapped where asked), setns back             |
//!        |--- MountSource(N)(fd) ... --------------------->|
//!        |--- MountSourcesSent --------------------------->|
//!        |                                                 | mounts (the copies attached), /dev
//!        |<---------------------------- ConsoleMaster(fd) -|  only with process.terminal
//!        |  send the pty master to --console-socket        |
//!        |--- ConsoleSent -------------------------------->|  pty: ctty, stdio, /dev/console
//!        |<---------------------------- RunCreateHooks ----|  only when the config has such hooks
//!        |  prestart, createRuntime hooks                  |
//!        |--- CreateHooksDone{pid} ----------------------->|  createContainer hooks
//!        |                                                 | pivot_root, rlimits, user, cwd, lookup,
//!        |                                                 | no_new_privs, fds, seccomp (then, without
//!        |                                                 | no_new_privs, the final capability sets)
//!        |<-------------------------- SeccompListener(fd) -|  only when a rule is SCMP_ACT_NOTIFY
//!        |  send the fd and the state to listenerPath      |
//!        |--- SeccompListenerSent ------------------------>|  close the listener
//!        |<-------------------------------------- Ready ---|
//!        |  write state.json and --pid-file                |
//!        |--- Ack ---------------------------------------->|  clear the parent-death signal
//!        |<------------------------------------- Parked ---|
//!        x  (create returns)                               |  park: block reading exec.fifo
//!                                                          |  until `start` writes it, then execve
//!
//!   `exec` (a process joining a container) has a shorter exchange:
//!
//!   runtime                                           exec process
//!        |  setns(pid, time) for its children              |
//!        |--- clone3 ------------------------------------->|
//!        |  join the container's cgroup                    |
//!        |--- Proceed ------------------------------------>|  setns(the rest)
//!        |<---------------------------- ConsoleMaster(fd) -|  only with process.terminal
//!        |--- ConsoleSent -------------------------------->|  user, cwd,
//!        |<-------------------------- SeccompListener(fd) -|  fds, seccomp
//!        |--- SeccompListenerSent ------------------------>|
//!        x  end-of-file: execve succeeded (close-on-exec)  |  execve
//!
//!   At any step the init may send Error{errno, chain} instead and exit.
//!   In a debug build a test may have it send FaultStage(N) at a stage of
//!   its setup, for the runtime to die there (fault.rs).
//!   End-of-file on either side means the peer died: the init exits, the
//!   runtime reports the failure and cleans up.
//! ```

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use serde::{Deserialize, Serialize};

/// A failure inside the init, as it crosses the channel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InitError {
    /// The errno of the failed call (0 when the failure was not a syscall's).
    pub errno: i32,
    /// What the init was doing, outermost first, ending with the cause.
    pub chain: Vec<String>,
    /// The container's command does not exist (`run` exits 127 for it).
    #[serde(default)]
    pub command_not_found: bool,
}

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.chain.join(": "))
    }
}

impl std::error::Error for InitError {}

/// Every message either side sends.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum Message {
    /// init → runtime: write my uid_map and gid_map.
    RequestIdMaps,
    /// runtime → init: the maps are written.
    IdMapsWritten,
    /// init → runtime: write my timens_offsets.
    RequestTimeOffsets,
    /// runtime → init: the offsets are written.
    TimeOffsetsWritten,
    /// stage 1 → runtime: the init is this pid (in the runtime's pid namespace).
    Stage2Pid(i32),
    /// init → runtime: my namespaces exist; move linux.netDevices in.
    RequestNetDevices,
    /// runtime → init: they are in.
    NetDevicesMoved,
    /// init → runtime: my mount namespace has its propagation; clone the
    /// bind sources (a user-namespaced container, see rootfs::sources).
    RequestMountSources,
    /// runtime → init: the detached copy of mount N's source (SCM_RIGHTS).
    MountSource(usize),
    /// runtime → init: every bind source is sent.
    MountSourcesSent,
    /// init → runtime: mounts are done; run prestart and createRuntime.
    RunCreateHooks,
    /// runtime → init: they ran; the init's pid for the hooks' state.
    CreateHooksDone(i32),
    /// init → runtime: the seccomp filter is installed; its notification
    /// listener rides along (SCM_RIGHTS) for the runtime to hand to the
    /// agent at linux.seccomp.listenerPath.
    SeccompListener,
    /// runtime → init: the agent has the listener.
    SeccompListenerSent,
    /// runtime → exec process: you are in the container's cgroup; go on.
    Proceed,
    /// init → runtime: the pty master (SCM_RIGHTS), for the console socket.
    ConsoleMaster,
    /// runtime → init: the caller has the master.
    ConsoleSent,
    /// init → runtime: set up and waiting for `start`.
    Ready,
    /// runtime → init: the container is recorded; park.
    Ack,
    /// init → runtime: no longer tied to the runtime's life; parking.
    Parked,
    /// init → runtime: setup failed.
    Error(InitError),
    /// init → runtime, in a debug build's fault injection only
    /// (`CORTEN_FAULT_INIT_STAGE`, see fault.rs): the init is at this stage
    /// of its setup; the runtime kills itself and the init goes on.
    FaultStage(u32),
}

/// One end of the channel.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

/// Why a receive failed.
#[derive(Debug)]
pub enum RecvError {
    /// The peer closed its end (it exited).
    Closed,
    /// The socket failed.
    Sys(sys::Error),
    /// A packet that is not a message (cannot happen between two copies of
    /// the same binary, but is not trusted either).
    Garbled(String),
}

impl std::fmt::Display for RecvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecvError::Closed => f.write_str("the other side exited"),
            RecvError::Sys(e) => e.fmt(f),
            RecvError::Garbled(e) => write!(f, "garbled sync message: {e}"),
        }
    }
}

impl Channel {
    /// The socket's descriptor number (kept open in a child that closes
    /// the rest).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.fd)
    }

    /// Wraps a connected SOCK_SEQPACKET socket.
    pub fn new(fd: OwnedFd) -> Self {
        Channel { fd }
    }

    /// The socket, for moving it to another descriptor number.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }

    /// Whether the other side has exited.
    pub fn peer_closed(&self) -> bool {
        sys::socket::peer_closed(self.fd.as_fd())
    }

    /// Sends `msg` as one packet.
    pub fn send(&self, msg: &Message) -> Result<(), sys::Error> {
        let bytes = serde_json::to_vec(msg).expect("sync messages always serialize");
        sys::socket::send(self.fd.as_fd(), &bytes)
    }

    /// Sends `msg` with a descriptor attached.
    pub fn send_with_fd(&self, msg: &Message, fd: BorrowedFd<'_>) -> Result<(), sys::Error> {
        let bytes = serde_json::to_vec(msg).expect("sync messages always serialize");
        sys::socket::send_with_fd(self.fd.as_fd(), &bytes, fd)
    }

    /// Receives one message.
    pub fn recv(&self) -> Result<Message, RecvError> {
        self.recv_with_fd().map(|(msg, _)| msg)
    }

    /// Receives one message and the descriptor it carries, if any.
    pub fn recv_with_fd(&self) -> Result<(Message, Option<OwnedFd>), RecvError> {
        // Error chains are the largest messages; 64 KiB is far more than any.
        let mut buf = vec![0u8; 64 * 1024];
        let (n, fd) =
            sys::socket::recv_with_fd(self.fd.as_fd(), &mut buf).map_err(RecvError::Sys)?;
        if n == 0 {
            return Err(RecvError::Closed);
        }
        let msg =
            serde_json::from_slice(&buf[..n]).map_err(|e| RecvError::Garbled(e.to_string()))?;
        Ok((msg, fd))
    }
}

/// A connected pair: (runtime end, init end).
pub fn pair() -> Result<(Channel, Channel), sys::Error> {
    let (a, b) = sys::socket::seqpacket_pair()?;
    Ok((Channel::new(a), Channel::new(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_cross_whole_and_eof_is_seen() {
        let (a, b) = pair().unwrap();
        let err = Message::Error(InitError {
            errno: libc::ENOENT,
            chain: vec!["mounting proc".into(), "no such file or directory".into()],
            command_not_found: false,
        });
        a.send(&Message::Ready).unwrap();
        a.send(&err).unwrap();
        assert_eq!(b.recv().unwrap(), Message::Ready);
        assert_eq!(b.recv().unwrap(), err);
        drop(a);
        assert!(matches!(b.recv(), Err(RecvError::Closed)));
    }
}
