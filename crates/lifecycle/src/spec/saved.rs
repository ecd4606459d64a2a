//! The config as `create` took it, kept in the container's state directory:
//! `exec` starts from it, so a bundle edited or removed after create
//! changes nothing (its namespaces, seccomp profile, user and capabilities
//! are the container's, not whatever config.json says now).
//!
//! The bytes are kept as read and parsed again by `exec`, through the same
//! pre-pass: serialising the parsed spec would link oci-spec's serialisers
//! into every run of the binary for this one file.

use std::path::Path;

use super::Bundle;
use crate::error::Error;

pub use crate::state::SAVED_CONFIG;

/// Writes the config of `bundle` into `state_dir`, readable only by the
/// runtime's user (it may hold secrets in the environment).
pub fn save(bundle: &Bundle, state_dir: &Path) -> Result<(), Error> {
    let path = state_dir.join(SAVED_CONFIG);
    // Written before the state is, so never seen half-written; a fresh
    // name, never a file or link planted in its place.
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o600)
            .open(&path)?
            .write_all(&bundle.source)
    };
    write().map_err(|e| Error::Io {
        context: format!("saving the config {}", path.display()),
        source: e,
    })
}

/// The saved config of the container whose state is in `state_dir`, with
/// its bundle and rootfs as recorded (not checked again: they may be gone);
/// `None` for a container created before configs were saved.
pub fn load_saved(
    state_dir: &Path,
    bundle_dir: &Path,
    rootfs: &Path,
) -> Result<Option<Bundle>, Error> {
    let path = state_dir.join(SAVED_CONFIG);
    let bytes = match super::read_file(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Io {
                context: format!("reading the saved config {}", path.display()),
                source: e,
            })
        }
    };
    let (spec, warnings, scheduler) = super::parse(&bytes, &path)?;
    Ok(Some(Bundle {
        dir: bundle_dir.to_path_buf(),
        spec,
        rootfs: rootfs.to_path_buf(),
        warnings,
        scheduler,
        source: bytes,
    }))
}
