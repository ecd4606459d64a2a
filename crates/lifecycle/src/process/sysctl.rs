//! linux.sysctl: kernel parameters of the container's own namespaces.
//!
//! Only parameters that belong to a namespace the container has of its own
//! may be set (runc's rule): anything else would change the host.

use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Context, Error};

/// The ipc namespace's parameters outside fs.mqueue.
const IPC_KEYS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Checks every key against the namespaces the container gets.
pub fn validate(spec: &Spec) -> Result<(), Error> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let Some(sysctl) = linux.sysctl() else {
        return Ok(());
    };
    // A namespace of that type in the config, new or joined, is not the
    // runtime's own.
    let own = |t: LinuxNamespaceType| linux.namespaces().iter().flatten().any(|n| n.typ() == t);
    for key in sysctl.keys() {
        // Two sources for one value: runc refuses the sysctl.
        if key == "kernel.hostname" && spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) {
            return Err(Error::Config(format!(
                "sysctl {key:?} is not allowed as it conflicts with the OCI \"hostname\" field"
            )));
        }
        let needs = namespace_of(key).ok_or_else(|| {
            Error::Config(format!(
                "sysctl {key:?} is not in a separate kernel namespace"
            ))
        })?;
        if !own(needs) {
            return Err(Error::Config(format!(
                "sysctl {key:?} needs the container's own {needs} namespace"
            )));
        }
    }
    Ok(())
}

/// The namespace a parameter belongs to, if it belongs to one.
fn namespace_of(key: &str) -> Option<LinuxNamespaceType> {
    if IPC_KEYS.contains(&key) || key.starts_with("fs.mqueue.") {
        return Some(LinuxNamespaceType::Ipc);
    }
    if key.starts_with("net.") {
        return Some(LinuxNamespaceType::Network);
    }
    if key == "kernel.hostname" || key == "kernel.domainname" {
        return Some(LinuxNamespaceType::Uts);
    }
    None
}

/// Writes every parameter under /proc/sys of the runtime's own procfs
/// (`proc`), from the init, in its namespaces: which namespace a /proc/sys
/// file speaks for is decided by the process that opens it. The
/// container's /proc is never used: a volume at /proc/sys/net (or an
/// image's /proc that is a symlink to one) would turn the write into one
/// on a file of the container's choosing (CVE-2025-52881).
pub fn apply(spec: &Spec, proc: &sys::procfs::ProcFs) -> Result<(), Error> {
    let Some(sysctl) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) else {
        return Ok(());
    };
    for (key, value) in sysctl {
        // Keys use dots; a slash in one would walk elsewhere under /proc/sys.
        if key.contains('/') || key.split('.').any(|p| p.is_empty() || p == "..") {
            return Err(Error::Config(format!("invalid sysctl key {key:?}")));
        }
        let path = PathBuf::from("sys").join(key.replace('.', "/"));
        proc.write(&path, value.as_bytes())
            .with_context(|| format!("sysctl {key}={value}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_their_namespaces() {
        assert_eq!(
            namespace_of("net.ipv4.ip_forward"),
            Some(LinuxNamespaceType::Network)
        );
        assert_eq!(namespace_of("kernel.shmmax"), Some(LinuxNamespaceType::Ipc));
        assert_eq!(
            namespace_of("fs.mqueue.queues_max"),
            Some(LinuxNamespaceType::Ipc)
        );
        assert_eq!(namespace_of("vm.swappiness"), None);
        assert_eq!(namespace_of("kernel.pid_max"), None);
    }

    fn spec(namespaces: serde_json::Value, sysctl: serde_json::Value) -> Spec {
        serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0",
            "linux": {"namespaces": namespaces, "sysctl": sysctl}
        }))
        .unwrap()
    }

    #[test]
    fn host_parameters_are_refused() {
        let ns = serde_json::json!([{"type": "mount"}, {"type": "network"}]);
        assert!(validate(&spec(
            ns.clone(),
            serde_json::json!({"net.ipv4.ip_forward": "1"})
        ))
        .is_ok());
        let e = validate(&spec(ns, serde_json::json!({"vm.swappiness": "1"}))).unwrap_err();
        assert!(e.to_string().contains("not in a separate kernel namespace"));
        let no_net = serde_json::json!([{"type": "mount"}]);
        let e = validate(&spec(
            no_net,
            serde_json::json!({"net.ipv4.ip_forward": "1"}),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("own net namespace"), "{e}");
    }
}
