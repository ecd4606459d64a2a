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
        if p.terminal().unwrap_or(false) {
            return Err(Error::Unsupported("process.terminal".into()));
        }
    }
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| Error::Config("linux section is missing".into()))?;
    let namespaces = linux.namespaces().as_deref().unwrap_or_default();
    if !namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Mount)
    {
        return Err(Error::Config(
            "linux.namespaces must include a mount namespace: corten never changes the host's mounts".into(),
        ));
    }
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
    if linux.seccomp().is_some() {
        return Err(Error::Unsupported("linux.seccomp".into()));
    }
    Ok(std::path::absolute(&rootfs).unwrap_or(rootfs))
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

    #[test]
    fn only_major_one_is_accepted() {
        assert!(check_version("1.0.2-dev").is_ok());
        assert!(check_version("1.2.0").is_ok());
        assert!(check_version("2.0.0").is_err());
        assert!(check_version("").is_err());
        assert!(check_version("x").is_err());
    }
}
