//! AppArmor and SELinux: the container process's profile or label, set for
//! the next execve. Applied where the host has the module; a config asking
//! for one on a host without it is refused by validation.

use std::io::Write;

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

/// Sets the AppArmor profile and SELinux label the execve will enter.
/// Runs before pivot_root, on the host's /proc.
pub fn apply(spec: &Spec) -> Result<(), Error> {
    let Some(p) = spec.process() else {
        return Ok(());
    };
    if let Some(profile) = p.apparmor_profile().as_deref().filter(|s| !s.is_empty()) {
        // The stacked-LSM path first, then the legacy one.
        let path = ["/proc/self/attr/apparmor/exec", "/proc/self/attr/exec"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("/proc/self/attr/exec");
        write_attr(path, &format!("exec {profile}"))
            .with_context(|| format!("applying AppArmor profile {profile:?}"))?;
    }
    if let Some(label) = p.selinux_label().as_deref().filter(|s| !s.is_empty()) {
        write_attr("/proc/self/attr/exec", label)
            .with_context(|| format!("applying SELinux label {label:?}"))?;
    }
    Ok(())
}

fn write_attr(path: &str, value: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .write_all(value.as_bytes())
}
