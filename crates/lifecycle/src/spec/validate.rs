//! Checks on a parsed spec that oci-spec does not make, each failing with
//! the field's name in the message.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::Error;

/// The runtime-spec major version corten implements.
pub const SUPPORTED_MAJOR: u64 = 1;

/// Validates `spec` and returns the absolute rootfs path.
pub fn check(spec: &Spec, bundle: &Path) -> Result<PathBuf, Error> {
    check_version(spec.version())?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::Config("root is missing".into()))?;
    let rootfs = bundle.join(root.path());
    match std::fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::Config(format!(
                "rootfs {} is not a directory",
                rootfs.display()
            )))
        }
        Err(e) => {
            return Err(Error::Config(format!(
                "rootfs {}: {}",
                rootfs.display(),
                super::io_reason(&e)
            )))
        }
    }
    if let Some(p) = spec.process() {
        if !p.cwd().is_absolute() {
            return Err(Error::Config(format!(
                "process.cwd {:?} must be an absolute path",
                p.cwd().display().to_string()
            )));
        }
        if p.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(Error::Config("process.args must not be empty".into()));
        }
    }
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| Error::Config("linux section is missing".into()))?;
    let namespaces = linux.namespaces().as_deref().unwrap_or_default();
    for (i, a) in namespaces.iter().enumerate() {
        if namespaces[..i].iter().any(|b| b.typ() == a.typ()) {
            return Err(Error::Config(format!(
                "linux.namespaces lists {} twice",
                a.typ()
            )));
        }
    }
    for m in spec.mounts().as_deref().unwrap_or_default() {
        if !m.destination().is_absolute() {
            return Err(Error::Config(format!(
                "mount destination {} must be an absolute path",
                m.destination().display()
            )));
        }
    }
    refuse_unimplemented(spec)?;
    let rules = linux
        .resources()
        .as_ref()
        .and_then(|r| r.devices().as_deref());
    cgroups::check_device_rules(rules.unwrap_or_default())
        .map_err(|e| Error::Config(e.to_string()))?;
    check_names_need_uts(spec)?;
    check_user_ids(spec)?;
    check_hook_paths(spec)?;
    crate::process::sysctl::validate(spec)?;
    if !shares_host_mounts(spec) {
        return Ok(std::path::absolute(&rootfs).unwrap_or(rootfs));
    }
    // Resolved (a lookup per component, paid only here), so that the path
    // saved in the state is the one mountinfo shows: rootfs/host.rs finds
    // the container's mounts on the host by it.
    let rootfs = std::fs::canonicalize(&rootfs)
        .map_err(|e| Error::Config(format!("rootfs {}: {e}", rootfs.display())))?;
    if rootfs == std::path::Path::new("/") {
        return Err(Error::Config(
            "root.path is the host's /: without a mount namespace the container's mounts would cover the host's".into(),
        ));
    }
    Ok(rootfs)
}

/// hostname and domainname are set in the init's UTS namespace: without
/// one of the container's own that is the host's (runc's rule; 1.2 adds
/// domainname).
fn check_names_need_uts(spec: &Spec) -> Result<(), Error> {
    let own_uts = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_deref())
        .unwrap_or_default()
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Uts);
    if own_uts {
        return Ok(());
    }
    for (field, value) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        if value.as_deref().is_some_and(|v| !v.is_empty()) {
            return Err(Error::Config(format!(
                "unable to set {field} without a private UTS namespace"
            )));
        }
    }
    Ok(())
}

/// The largest id runc accepts. (uid_t)-1 in particular means "unchanged"
/// to setresuid: the process would keep the init's root and its
/// capabilities.
const MAX_ID: u32 = i32::MAX as u32;

fn check_user_ids(spec: &Spec) -> Result<(), Error> {
    match spec.process() {
        Some(p) => check_user(p.user()),
        None => Ok(()),
    }
}

/// process.user's ids (the config's or an exec's), in runc's range.
pub fn check_user(user: &oci_spec::runtime::User) -> Result<(), Error> {
    let ids = [user.uid(), user.gid()]
        .into_iter()
        .chain(user.additional_gids().iter().flatten().copied());
    for id in ids {
        if id > MAX_ID {
            return Err(Error::Config(format!(
                "process.user: uids and gids must be in range 0-{MAX_ID} (got {id})"
            )));
        }
    }
    Ok(())
}

/// Hook paths are absolute (runtime spec): a relative one would be
/// looked up where the runtime happens to be, or through PATH.
fn check_hook_paths(spec: &Spec) -> Result<(), Error> {
    let Some(hooks) = spec.hooks() else {
        return Ok(());
    };
    #[allow(deprecated)]
    let lists = [
        ("prestart", hooks.prestart()),
        ("createRuntime", hooks.create_runtime()),
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
        ("poststart", hooks.poststart()),
        ("poststop", hooks.poststop()),
    ];
    for (name, list) in lists {
        for (i, h) in list.iter().flatten().enumerate() {
            if !h.path().is_absolute() {
                return Err(Error::Config(format!(
                    "hooks.{name}[{i}].path {:?} must be an absolute path",
                    h.path().display().to_string()
                )));
            }
        }
    }
    Ok(())
}

/// A field corten does not apply yet is an error, never silently ignored:
/// a config asking for a limit or a security profile must not run without
/// it. Fields that depend on the host say so when the host lacks them.
fn refuse_unimplemented(spec: &Spec) -> Result<(), Error> {
    let linux = spec.linux().as_ref();
    let process = spec.process().as_ref();
    let set = |s: Option<&String>| s.is_some_and(|s| !s.is_empty());
    if linux.and_then(|l| l.intel_rdt().as_ref()).is_some() {
        return Err(Error::Unsupported("linux.intelRdt".into()));
    }
    check_net_devices(spec)?;
    if set(process.and_then(|p| p.apparmor_profile().as_ref()))
        && !crate::process::lsm::apparmor_enabled()
    {
        return Err(Error::Config(
            "process.apparmorProfile: AppArmor is not enabled on this host".into(),
        ));
    }
    let selinux = set(process.and_then(|p| p.selinux_label().as_ref()));
    let mount_label = set(linux.and_then(|l| l.mount_label().as_ref()));
    if (selinux || mount_label) && !crate::process::lsm::selinux_enabled() {
        let field = if selinux {
            "process.selinuxLabel"
        } else {
            "linux.mountLabel"
        };
        return Err(Error::Config(format!(
            "{field}: SELinux is not enabled on this host"
        )));
    }
    if mount_label {
        return Err(Error::Unsupported("linux.mountLabel".into()));
    }
    crate::process::sched::validate(spec)
}

/// linux.netDevices: valid names, each used once, and a network namespace
/// of the container's own to move them into (runc's rules). An
/// unprivileged runtime cannot move a host device at all.
fn check_net_devices(spec: &Spec) -> Result<(), Error> {
    let linux = spec.linux().as_ref();
    let Some(devices) = linux
        .and_then(|l| l.net_devices().as_ref())
        .filter(|d| !d.is_empty())
    else {
        return Ok(());
    };
    let own_netns = linux
        .and_then(|l| l.namespaces().as_deref())
        .unwrap_or_default()
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Network);
    if !own_netns {
        return Err(Error::Config(
            "linux.netDevices needs a network namespace of the container's own".into(),
        ));
    }
    if sys::process::unprivileged() {
        return Err(Error::Config(
            "linux.netDevices: an unprivileged user cannot move host network devices".into(),
        ));
    }
    let mut targets = std::collections::BTreeSet::new();
    for (host, d) in devices {
        let target = d
            .name()
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(host);
        for name in [host.as_str(), target] {
            if !crate::spawn::netdev::valid_name(name) {
                return Err(Error::Config(format!(
                    "linux.netDevices: {name:?} is not a network interface name"
                )));
            }
        }
        if target == "lo" {
            return Err(Error::Config(
                "linux.netDevices: \"lo\" is the container's own loopback".into(),
            ));
        }
        if !targets.insert(target) {
            return Err(Error::Config(format!(
                "linux.netDevices: two devices are named {target:?} in the container"
            )));
        }
    }
    Ok(())
}

/// Whether the container shares the runtime's mount namespace (no mount
/// namespace in the config): its mounts are made on the host, under the
/// rootfs, and the root is entered with chroot.
pub fn shares_host_mounts(spec: &oci_spec::runtime::Spec) -> bool {
    let namespaces = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_deref())
        .unwrap_or_default();
    !namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Mount)
}

/// Whether `r` sets a limit (anything but device rules, which every
/// engine sends).
pub fn has_limits(r: &oci_spec::runtime::LinuxResources) -> bool {
    r.memory().is_some()
        || r.cpu().is_some()
        || r.pids().is_some()
        || r.block_io().is_some()
        || r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty())
        || r.network().is_some()
        || r.rdma().as_ref().is_some_and(|m| !m.is_empty())
        || r.unified().as_ref().is_some_and(|m| !m.is_empty())
}

fn check_version(version: &str) -> Result<(), Error> {
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u64>().ok());
    match major {
        Some(SUPPORTED_MAJOR) => Ok(()),
        _ => Err(Error::Config(format!(
            "unsupported ociVersion {version:?}: corten implements runtime-spec {SUPPORTED_MAJOR}.x"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::check_version;

    fn spec(v: serde_json::Value) -> oci_spec::runtime::Spec {
        let mut base = serde_json::json!({"ociVersion": "1.2.0", "linux": {}});
        for (k, val) in v.as_object().unwrap() {
            base["linux"][k] = val.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn unimplemented_fields_are_refused_by_name() {
        let e =
            super::refuse_unimplemented(&spec(serde_json::json!({"intelRdt": {"closID": "x"}})));
        assert_eq!(
            e.unwrap_err().to_string(),
            "linux.intelRdt is not supported yet"
        );
        if !crate::process::lsm::selinux_enabled() {
            let e = super::refuse_unimplemented(&spec(serde_json::json!({"mountLabel": "x"})));
            assert!(e
                .unwrap_err()
                .to_string()
                .contains("SELinux is not enabled on this host"));
        }
        let deny_all =
            serde_json::json!({"resources": {"devices": [{"allow": false, "access": "rwm"}]}});
        assert!(
            super::refuse_unimplemented(&spec(deny_all)).is_ok(),
            "cgroups apply it"
        );
    }

    #[test]
    fn only_major_one_is_accepted() {
        assert!(check_version("1.0.2-dev").is_ok());
        assert!(check_version("1.2.0").is_ok());
        assert!(check_version("2.0.0").is_err());
        assert!(check_version("").is_err());
        assert!(check_version("x").is_err());
    }
}
