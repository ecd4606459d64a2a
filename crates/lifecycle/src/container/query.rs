//! `state` and `list`: the OCI state of containers.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::Error;
use crate::state::{status_of, Status, Store};

/// The runtime spec's state document, in runc's field order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    pub owner: String,
    /// The uid that owns the container (for `list`'s OWNER column).
    #[serde(skip)]
    pub owner_uid: u32,
}

/// The state of container `id`.
pub fn oci_state(store: &Store, id: &str) -> Result<OciState, Error> {
    let state = store.read(id)?;
    let status = status_of(&store.dir(id), state.as_ref());
    let Some(s) = state else {
        return Ok(OciState {
            oci_version: String::new(),
            id: id.to_string(),
            pid: 0,
            status: status.as_str().into(),
            bundle: PathBuf::new(),
            rootfs: PathBuf::new(),
            created: String::new(),
            annotations: BTreeMap::new(),
            owner: String::new(),
            owner_uid: 0,
        });
    };
    let pid = if matches!(status, Status::Stopped) {
        0
    } else {
        s.init_pid
    };
    Ok(OciState {
        // The runtime's own spec version, as runc's state and the hooks'
        // state document give it, not the config's ociVersion.
        oci_version: crate::spec::SPEC_VERSION.into(),
        id: s.id,
        pid,
        status: status.as_str().into(),
        bundle: s.bundle,
        rootfs: s.rootfs,
        created: s.created,
        annotations: s.annotations,
        owner: String::new(),
        owner_uid: s.owner,
    })
}

/// The host pids of a container's processes: its cgroup's, or without one
/// the init and its descendants.
pub fn processes(store: &Store, id: &str) -> Result<Vec<i32>, Error> {
    let state = store.read(id)?;
    let status = status_of(&store.dir(id), state.as_ref());
    let Some(s) = state.filter(|_| status != Status::Stopped) else {
        return Ok(Vec::new());
    };
    match &s.cgroup {
        Some(p) => crate::cgroup::procs(p),
        None => {
            let mut pids = vec![s.init_pid];
            pids.extend(super::kill::descendants(s.init_pid));
            Ok(pids)
        }
    }
}

/// The statistics of a container's cgroup (runc's `events` data) and its
/// count of OOM kills, or `None` once it has stopped.
pub fn stats(store: &Store, id: &str) -> Result<Option<(cgroups::stats::Stats, u64)>, Error> {
    let state = store.read(id)?;
    let status = status_of(&store.dir(id), state.as_ref());
    if matches!(status, Status::Stopped | Status::Creating) {
        return Ok(None);
    }
    let placement = state.and_then(|s| s.cgroup).ok_or_else(|| {
        Error::Config(format!(
            "container {id} has no cgroup (created with --cgroup-manager=disabled)"
        ))
    })?;
    let cg = cgroups::open(&placement);
    Ok(Some((cg.stats(), cg.oom_kills())))
}

/// The OOM kills counted in a container's cgroup, which stays until
/// `delete` (so the kill that ended a container is still seen).
pub fn oom_kills(store: &Store, id: &str) -> Result<u64, Error> {
    let placement = store.read(id)?.and_then(|s| s.cgroup);
    Ok(placement.map_or(0, |p| cgroups::open(&p).oom_kills()))
}

/// Every container of the store. One whose directory vanished meanwhile
/// (deleted concurrently) is left out.
pub fn list(store: &Store) -> Result<Vec<OciState>, Error> {
    let mut out = Vec::new();
    for id in store.ids()? {
        match oci_state(store, &id) {
            Ok(s) => out.push(s),
            Err(Error::NotExist(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
