//! Device rules on cgroup v2: refused until the eBPF device program lands.
use std::os::fd::OwnedFd;

/// Refuses: device rules on a v2 host need the eBPF device program.
pub fn attach(_dir: &OwnedFd, _rules: &[crate::devices::Rule]) -> crate::Result<()> {
    Err(crate::Error::Unsupported(
        "linux.resources.devices on a cgroup v2 host is not supported yet".into(),
    ))
}
