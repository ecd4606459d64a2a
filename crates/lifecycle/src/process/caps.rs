//! Capability names.

/// Every capability the kernel defines, by number.
pub const NAMES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The number of the capability `name`, if corten knows it.
pub fn index_of(name: &str) -> Option<u32> {
    NAMES.iter().position(|n| *n == name).map(|i| i as u32)
}

use oci_spec::runtime::{Capabilities, Spec};

use crate::error::{Context, Error};

/// The capability sets a config asks for, as bit masks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

fn mask(set: &Option<Capabilities>) -> u64 {
    set.iter()
        .flatten()
        // Display drops the CAP_ prefix; the serde name is the spec's.
        .filter_map(|c| serde_json::to_value(c).ok())
        .filter_map(|v| NAMES.iter().position(|n| v.as_str() == Some(n)))
        .fold(0, |m, i| m | (1u64 << i))
}

/// The sets of `process.capabilities`, `None` only without a process. A
/// process without `capabilities` gets none at all, as runc gives it: an
/// omitted field must never mean a fully privileged container.
pub fn wanted(spec: &Spec) -> Option<Wanted> {
    let process = spec.process().as_ref()?;
    let Some(caps) = process.capabilities() else {
        return Some(Wanted::default());
    };
    Some(Wanted {
        bounding: mask(caps.bounding()),
        effective: mask(caps.effective()),
        permitted: mask(caps.permitted()),
        inheritable: mask(caps.inheritable()),
        ambient: mask(caps.ambient()),
    })
}

/// Before the uid switch: shrink the bounding set (which needs
/// CAP_SETPCAP, so while still root) and keep the permitted set across the
/// switch away from uid 0.
pub fn before_user_switch(w: &Wanted, bounding: u64) -> Result<(), Error> {
    let current = sys::caps::get().context("capget")?;
    let missing = (w.permitted | w.effective | w.inheritable | w.ambient) & !current.permitted;
    if missing != 0 {
        return Err(Error::Config(format!(
            "the runtime itself lacks {} and cannot grant it",
            names(missing).join(", ")
        )));
    }
    // A drop of each present capability (`bounding`, see [`bounding_set`])
    // the config leaves out (a drop needs CAP_SETPCAP even for a capability
    // already gone, which a nested runtime may lack).
    for cap in 0..=sys::caps::last_cap().min(63) {
        if w.bounding & (1 << cap) == 0 && bounding & (1 << cap) != 0 {
            sys::caps::drop_bounding(cap)
                .with_context(|| format!("dropping {} from the bounding set", name(cap)))?;
        }
    }
    sys::caps::set_keepcaps(true).context("keeping capabilities across the user switch")
}

/// After the uid switch: the exact sets of the config, then ambient.
pub fn after_user_switch(w: &Wanted) -> Result<(), Error> {
    sys::caps::set(&sys::caps::CapSets {
        effective: w.effective,
        permitted: w.permitted,
        inheritable: w.inheritable,
    })
    .context("setting capabilities")?;
    sys::caps::clear_ambient().context("clearing ambient capabilities")?;
    for cap in 0..64u32 {
        if w.ambient & (1 << cap) != 0 {
            // The kernel allows ambient only for caps both permitted and
            // inheritable; runc skips the others with a warning.
            if w.permitted & w.inheritable & (1 << cap) != 0 {
                sys::caps::raise_ambient(cap)
                    .with_context(|| format!("raising ambient {}", name(cap)))?;
            }
        }
    }
    sys::caps::set_keepcaps(false).context("resetting keepcaps")
}

/// This thread's bounding set, when the config sets capabilities: read
/// through the runtime's procfs (after pivot_root /proc is the
/// container's, and a forged CapBnd line there kept every capability in
/// the bounding set), once, where a PR_CAPBSET_READ per capability took 41
/// calls. Read before the runtime's descriptors are closed.
pub fn bounding_set_for(
    spec: &oci_spec::runtime::Spec,
    proc: &sys::procfs::ProcFs,
) -> Result<u64, Error> {
    if wanted(spec).is_none() {
        return Ok(0);
    }
    bounding_set(proc).context("reading the bounding set")
}

fn bounding_set(proc: &sys::procfs::ProcFs) -> std::io::Result<u64> {
    use std::io::Read;
    let fd = proc.open_file(std::path::Path::new("thread-self/status"), libc::O_RDONLY)?;
    let mut status = String::new();
    std::fs::File::from(fd).read_to_string(&mut status)?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .ok_or_else(|| std::io::Error::from_raw_os_error(libc::EINVAL))
}

fn name(cap: u32) -> String {
    NAMES
        .get(cap as usize)
        .map_or_else(|| format!("capability {cap}"), |n| n.to_string())
}

fn names(mask: u64) -> Vec<String> {
    (0..64).filter(|c| mask & (1 << c) != 0).map(name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_sets_become_masks() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0",
            "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "args": ["x"],
                "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_KILL"]}}
        }))
        .unwrap();
        let w = wanted(&spec).unwrap();
        assert_eq!(w.bounding, (1 << 0) | (1 << 5));
        assert_eq!(w.effective, 1 << 5);
        assert_eq!(w.ambient, 0);
        assert_eq!(names(w.bounding), vec!["CAP_CHOWN", "CAP_KILL"]);
    }

    #[test]
    fn a_process_without_capabilities_gets_none() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0",
            "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "args": ["x"]}
        }))
        .unwrap();
        assert_eq!(wanted(&spec), Some(Wanted::default()));
    }

    #[test]
    fn names_are_in_kernel_order() {
        assert_eq!(NAMES[21], "CAP_SYS_ADMIN");
        assert_eq!(NAMES[40], "CAP_CHECKPOINT_RESTORE");
    }
}
