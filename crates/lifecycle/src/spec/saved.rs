//! The config as `create` took it, kept in the container's state directory:
//! `exec` starts from it, as runc's does, so a bundle edited or removed
//! after create changes nothing (its namespaces, seccomp profile, user and
//! capabilities are the container's, not whatever config.json says now).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Bundle;
use crate::error::Error;

pub use crate::state::SAVED_CONFIG;

#[derive(Serialize, Deserialize)]
struct Saved {
    spec: oci_spec::runtime::Spec,
    #[serde(default)]
    scheduler: Option<crate::process::sched::Scheduler>,
}

/// Writes the parsed config of `bundle`, with `process` as its process,
/// into `state_dir`, readable only by the runtime's user (it may hold
/// secrets in the environment).
pub fn save(
    bundle: &Bundle,
    process: Option<&oci_spec::runtime::Process>,
    state_dir: &Path,
) -> Result<(), Error> {
    let mut spec = bundle.spec.clone();
    spec.set_process(process.cloned());
    let saved = Saved {
        spec,
        scheduler: bundle.scheduler.clone(),
    };
    let bytes =
        serde_json::to_vec(&saved).map_err(|e| Error::Config(format!("saving the config: {e}")))?;
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
            .write_all(&bytes)
    };
    write().map_err(|e| Error::Io {
        context: format!("saving the config {}", path.display()),
        source: e,
    })
}

/// The saved config of the container whose state is in `state_dir`, with
/// its bundle and rootfs as recorded; `None` for a container created
/// before configs were saved.
pub fn load_saved(
    state_dir: &Path,
    bundle_dir: &Path,
    rootfs: &Path,
) -> Result<Option<Bundle>, Error> {
    let path = state_dir.join(SAVED_CONFIG);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Io {
                context: format!("reading the saved config {}", path.display()),
                source: e,
            })
        }
    };
    let saved: Saved = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    Ok(Some(Bundle {
        dir: bundle_dir.to_path_buf(),
        spec: saved.spec,
        rootfs: rootfs.to_path_buf(),
        warnings: Vec::new(),
        scheduler: saved.scheduler,
    }))
}
