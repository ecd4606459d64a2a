//! Loading a bundle: config.json read, pre-passed, parsed and validated.

mod prepass;
mod read;
mod saved;
mod validate;

pub use read::{read_file, read_stream, MAX_JSON_BYTES};
pub use saved::{load_saved, save, SAVED_CONFIG};
pub use validate::{check_user, has_limits, shares_host_mounts};

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::error::Error;

/// The runtime-spec version this runtime implements.
pub const SPEC_VERSION: &str = "1.2.1";

/// A bundle whose config is parsed and checked.
#[derive(Debug)]
pub struct Bundle {
    /// Absolute path of the bundle directory.
    pub dir: PathBuf,
    /// The parsed configuration.
    pub spec: Spec,
    /// Absolute path of the root filesystem.
    pub rootfs: PathBuf,
    /// Things the pre-pass dropped and the user should know about.
    pub warnings: Vec<String>,
    /// process.scheduler (which oci-spec cannot parse).
    pub scheduler: Option<crate::process::sched::Scheduler>,
    /// The config's bytes as read: what `create` saves for `exec`.
    pub source: Vec<u8>,
}

/// Reads, pre-passes, parses and validates `<dir>/config.json`.
pub fn load(dir: &Path) -> Result<Bundle, Error> {
    let dir = std::path::absolute(dir).map_err(|e| Error::Bundle {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let path = dir.join("config.json");
    let text = read_file(&path).map_err(|e| Error::Bundle {
        path: path.clone(),
        reason: io_reason(&e),
    })?;
    from_bytes(&text, dir, &path)
}

/// Pre-passes, parses and validates the config `text` of the bundle at
/// `dir` (absolute); `origin` names the file in errors. The filesystem is
/// only asked about the rootfs (that it is a directory, and its real path
/// when the container shares the host's mounts). The fuzz target
/// `config` drives this.
pub fn from_bytes(text: &[u8], dir: PathBuf, origin: &Path) -> Result<Bundle, Error> {
    let (spec, warnings, scheduler) = parse(text, origin)?;
    let rootfs = validate::check(&spec, &dir)?;
    Ok(Bundle {
        dir,
        spec,
        rootfs,
        warnings,
        scheduler,
        source: text.to_vec(),
    })
}

/// Pre-passes and parses the config `text`, without checking it against
/// the filesystem: (spec, warnings, process.scheduler).
fn parse(
    text: &[u8],
    origin: &Path,
) -> Result<(Spec, Vec<String>, Option<crate::process::sched::Scheduler>), Error> {
    let value: serde_json::Value = serde_json::from_slice(text)
        .map_err(|e| Error::Config(format!("{}: {e}", origin.display())))?;
    let prepass::Prepassed {
        value,
        warnings,
        scheduler,
    } = prepass::run(value)?;
    let spec: Spec = serde_json::from_value(value)
        .map_err(|e| Error::Config(format!("{}: {e}", origin.display())))?;
    Ok((spec, warnings, scheduler))
}

/// A process JSON (`exec --process`), through the same pre-pass as
/// config.json: (process, warnings, process.scheduler).
pub fn parse_process(
    text: &[u8],
    path: &Path,
) -> Result<
    (
        oci_spec::runtime::Process,
        Vec<String>,
        Option<crate::process::sched::Scheduler>,
    ),
    Error,
> {
    let mut process: serde_json::Value = serde_json::from_slice(text)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    // runc runs a process without `user` as uid 0, gid 0 (Go's zero value).
    if let Some(p) = process.as_object_mut() {
        p.entry("user")
            .or_insert_with(|| serde_json::json!({"uid": 0, "gid": 0}));
    }
    let prepassed = prepass::run(serde_json::json!({ "process": process }))?;
    let process = prepassed.value.get("process").cloned().unwrap_or_default();
    let process = serde_json::from_value(process)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    Ok((process, prepassed.warnings, prepassed.scheduler))
}

/// An I/O error in the words engines match on ("no such file or directory").
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    s.split(" (os error").next().unwrap_or(&s).to_lowercase()
}
