//! AppArmor and SELinux: the container process's profile or label, set for
//! the next execve. Applied where the host has the module; a config asking
//! for one on a host without it is refused by validation.

use std::path::Path;

use oci_spec::runtime::Spec;

use crate::error::{Context, Error};

/// Whether the kernel has AppArmor enabled.
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

/// Whether the kernel has SELinux enabled (selinuxfs mounted).
pub fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// Sets the AppArmor profile and SELinux label the execve will enter,
/// through the runtime's own procfs (CVE-2019-16884: a label written
/// through the container's /proc can be redirected to a file of its
/// choosing, and the process would run unconfined).
pub fn apply(spec: &Spec, proc: &sys::procfs::ProcFs) -> Result<(), Error> {
    let Some(p) = spec.process() else {
        return Ok(());
    };
    if let Some(profile) = p.apparmor_profile().as_deref().filter(|s| !s.is_empty()) {
        // The stacked-LSM path first, then the legacy one.
        let path = ["self/attr/apparmor/exec", "self/attr/exec"]
            .into_iter()
            .map(Path::new)
            .find(|p| proc.exists(p))
            .unwrap_or(Path::new("self/attr/exec"));
        proc.write(path, format!("exec {profile}").as_bytes())
            .with_context(|| format!("applying AppArmor profile {profile:?}"))?;
    }
    if let Some(label) = p.selinux_label().as_deref().filter(|s| !s.is_empty()) {
        proc.write(Path::new("self/attr/exec"), label.as_bytes())
            .with_context(|| format!("applying SELinux label {label:?}"))?;
    }
    Ok(())
}
