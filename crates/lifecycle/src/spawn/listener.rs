//! SCMP_ACT_NOTIFY: the runtime hands the filter's listener to the agent
//! at linux.seccomp.listenerPath, with the container's state, as the
//! runtime spec's "ContainerProcessState" (one message, the fd attached).

use std::os::fd::{AsFd, OwnedFd};

use crate::error::Error;
use crate::spec::Bundle;

/// Sends `listener` (of process `pid`) to the agent and closes our copy;
/// the state is the container's (its init, its status).
pub(super) fn hand_over(
    listener: OwnedFd,
    pid: i32,
    init_pid: i32,
    status: &str,
    id: &str,
    bundle: &Bundle,
) -> Result<(), Error> {
    let seccomp = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .ok_or_else(|| Error::Config("seccomp listener without a seccomp profile".into()))?;
    let path = seccomp
        .listener_path()
        .as_ref()
        .ok_or_else(|| Error::Config("seccomp listenerPath is not set".into()))?;
    let state: serde_json::Value =
        serde_json::from_slice(&crate::hooks::bundle_state(id, init_pid, status, bundle))
            .expect("the state is JSON");
    let message = serde_json::json!({
        "ociVersion": bundle.spec.version(),
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": seccomp.listener_metadata().clone().unwrap_or_default(),
        "state": state,
    });
    let bytes = serde_json::to_vec(&message).expect("always serializes");
    super::handoff::send_fd(path, "the seccomp agent at", &bytes, listener.as_fd())
}
