//! The state store: one directory per container under the runtime root.
//!
//! ```text
//! <root>/                 0700
//!        create.lock      held while a `create` claims its id
//!        <id>/            0700, made with mkdir(2): an existing id is refused
//!             lock        held by every command that changes the container
//!             state.json  written to a temp file and renamed over, under the lock
//!             exec.fifo   present from create until start
//!             cgroup.json the cgroup directories create is about to make,
//!                         written before it makes them: what a create
//!                         killed before state.json leaves is known
//!             config.json 0600, the config as create took it, for `exec`
//!             host-mounts.json  without a mount namespace: the rootfs and
//!                         the mount that was on it before, written before
//!                         the init mounts anything on the host
//! ```
//! The locks are POSIX record locks: they belong to the process holding
//! them, so the container init (a clone of `create`) never holds one.

mod liveness;
pub mod time;

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Context, Error};
#[doc(hidden)]
pub use liveness::parse_stat;
pub use liveness::{check as liveness_check, dying, process_start_time, ProcState};

/// The file `start` writes to release a created container's init.
pub const EXEC_FIFO: &str = "exec.fifo";
const STATE_FILE: &str = "state.json";
const LOCK_FILE: &str = "lock";
const CREATE_LOCK: &str = "create.lock";
const CGROUP_PLAN: &str = "cgroup.json";
/// See [`Locked::record_host_mounts`].
const HOST_MOUNTS_PLAN: &str = "host-mounts.json";
/// The config as `create` took it (spec::save), which `exec` starts from.
pub const SAVED_CONFIG: &str = "config.json";

/// The longest file name (NAME_MAX).
const NAME_MAX: usize = 255;
/// The most bytes any file name corten makes adds to an id. Names made from
/// an id are the state directory `<root>/<id>` and the default cgroup leaf
/// `corten/<id>`: the id itself. Temp and trash names are made without it,
/// and the keyring `_ses.<id>` is no file name (its limit is 4095 bytes).
const LONGEST_ID_AFFIX: usize = 0;
/// The longest id `create` accepts: every name made from it still fits.
pub const MAX_ID_LEN: usize = NAME_MAX - LONGEST_ID_AFFIX;

/// What corten remembers about a container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    pub oci_version: String,
    pub id: String,
    /// The init's pid in the runtime's pid namespace.
    pub init_pid: i32,
    /// The init's start time (clock ticks since boot, /proc/PID/stat field
    /// 22): a pid reused by another process will not match it.
    pub init_start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The uid that created the container.
    pub owner: u32,
    /// The config's hooks: poststart and poststop run from here, so a
    /// bundle edited after `create` cannot change them.
    #[serde(default)]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// False for a config without `process`: such a container can be
    /// created, deleted and killed, but not started.
    #[serde(default = "yes")]
    pub has_process: bool,
    /// The container's cgroup directories (none when disabled).
    #[serde(default)]
    pub cgroup: Option<cgroups::Placement>,
    /// Without a mount namespace: the id of the rootfs bind that holds the
    /// container's mounts on the host, detached by delete (rootfs/host.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_rootfs_mount: Option<u64>,
    /// The LinuxResources the cgroup holds now, as JSON: the config's, with
    /// every `update` merged in (container/update.rs), so that an update of
    /// one value is applied with the others it is converted with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<serde_json::Value>,
}

fn yes() -> bool {
    true
}

/// A container's status as the runtime spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    /// Running, with every process frozen (`pause`).
    Paused,
    Stopped,
}

impl Status {
    /// The spec's lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// The directory that holds every container's state.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// One container's directory, locked for as long as this value lives.
#[derive(Debug)]
pub struct Locked {
    dir: PathBuf,
    _lock: OwnedFd,
}

impl Store {
    /// The store at `root`. It is made (0700) by the first `create`: a
    /// missing root holds no container, and a command about one that does
    /// not exist writes nothing (a read-only or full filesystem is fine).
    pub fn open(root: &Path) -> Result<Store, Error> {
        let root = std::path::absolute(root).with_context(|| format!("root {}", root.display()))?;
        Ok(Store { root })
    }

    fn make_root(&self) -> Result<(), Error> {
        let root = &self.root;
        if root.is_dir() {
            return Ok(());
        }
        if let Some(parent) = root.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        match private_dir().create(root) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                Err(e).with_context(|| format!("creating root {}", root.display()))
            }
            _ => Ok(()),
        }
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Makes the directory of a new container and locks it; an existing id is
    /// refused without touching it.
    pub fn create(&self, id: &str) -> Result<Locked, Error> {
        validate_id(id)?;
        self.make_root()?;
        // Creates take turns from mkdir until the new container's lock is
        // held, so an abandoned directory can be told from one being made.
        let guard = open_lock_file(&self.root.join(CREATE_LOCK), true)?;
        sys::fs::lock_record(guard.as_fd(), true).context("locking the state root")?;
        let dir = self.root.join(id);
        match private_dir().create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if !reclaim_abandoned(&dir)? {
                    return Err(Error::Exists(id.to_string()));
                }
                private_dir()
                    .create(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
        let fd = open_lock_file(&dir.join(LOCK_FILE), true)?;
        sys::fs::lock_record(fd.as_fd(), true).context("locking the container")?;
        Ok(Locked { dir, _lock: fd })
    }

    /// Locks the directory of an existing container.
    pub fn lock(&self, id: &str) -> Result<Locked, Error> {
        validate_id(id)?;
        let dir = self.root.join(id);
        match lock(dir) {
            Err(Error::Sys { source, .. }) if source.errno() == libc::ENOENT => {
                Err(Error::NotExist(id.to_string()))
            }
            other => other,
        }
    }

    /// The ids of every container in the store, sorted.
    pub fn ids(&self) -> Result<Vec<String>, Error> {
        let mut ids = Vec::new();
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.root.display())),
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                if let Some(name) = entry.file_name().to_str() {
                    if validate_id(name).is_ok() {
                        ids.push(name.to_string());
                    }
                }
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Reads a container's state without locking (for `state` and `list`,
    /// which must not wait behind a long command). The rename in [`Locked::save`]
    /// makes the read see either the old or the new file, never a mix.
    pub fn read(&self, id: &str) -> Result<Option<State>, Error> {
        validate_id(id)?;
        let dir = self.root.join(id);
        if !dir.is_dir() {
            return Err(Error::NotExist(id.to_string()));
        }
        read_state(&dir)
    }

    /// Removes what a `create` killed before its first lock left of `id`
    /// (a directory without state or lock). Returns whether there was one.
    pub fn reclaim(&self, id: &str) -> Result<bool, Error> {
        validate_id(id)?;
        let dir = self.root.join(id);
        // Looked at before the lock, whose file may not exist yet: `delete
        // -f` of a missing id writes nothing, and so works on a full disk.
        // A create that makes the directory meanwhile holds its lock, so
        // there would be nothing to reclaim anyway.
        if !dir.is_dir() {
            return Ok(false);
        }
        let guard = open_lock_file(&self.root.join(CREATE_LOCK), true)?;
        sys::fs::lock_record(guard.as_fd(), true).context("locking the state root")?;
        if !dir.is_dir() {
            return Ok(false);
        }
        reclaim_abandoned(&dir)
    }

    /// The directory of container `id`.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }
}

fn private_dir() -> std::fs::DirBuilder {
    let mut builder = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
}

fn open_lock_file(path: &Path, create: bool) -> Result<OwnedFd, Error> {
    let flags = libc::O_RDWR | libc::O_NOFOLLOW | if create { libc::O_CREAT } else { 0 };
    sys::fs::openat(None, path, flags, 0o600).with_context(|| format!("opening {}", path.display()))
}

/// With the create lock held, a directory with no state.json whose lock
/// nobody holds was left by a `create` that was killed before it recorded
/// anything (its init exits when the sync channel closes): remove it so
/// the id can be used again. Returns whether it was removed.
fn reclaim_abandoned(dir: &Path) -> Result<bool, Error> {
    if dir.join(STATE_FILE).exists() || !holds_only_what_create_makes(dir)? {
        return Ok(false);
    }
    match open_lock_file(&dir.join(LOCK_FILE), false) {
        Ok(fd) => {
            if !sys::fs::lock_record(fd.as_fd(), false).context("locking the container")? {
                return Ok(false);
            }
        }
        // Killed between mkdir and the lock file.
        Err(Error::Sys { source, .. }) if source.errno() == libc::ENOENT => {}
        Err(e) => return Err(e),
    }
    if dir.join(STATE_FILE).exists() {
        return Ok(false);
    }
    release_unfinished(dir)?;
    std::fs::remove_dir_all(dir)
        .with_context(|| format!("removing abandoned {}", dir.display()))?;
    Ok(true)
}

/// Whether every entry of `dir` is a file `create` makes before it saves
/// the state. Anything else is not an abandoned create's: a directory of a
/// --root shared with other files (`--root / delete -f usr` removed /usr).
fn holds_only_what_create_makes(dir: &Path) -> Result<bool, Error> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let made = [
            LOCK_FILE,
            CGROUP_PLAN,
            EXEC_FIFO,
            SAVED_CONFIG,
            HOST_MOUNTS_PLAN,
        ]
        .contains(&name.as_ref())
            || (name.starts_with(&format!(".{STATE_FILE}.")) && name.ends_with(".tmp"));
        if !made || entry.file_type().is_ok_and(|t| t.is_dir()) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn lock(dir: PathBuf) -> Result<Locked, Error> {
    let id = || {
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let path = dir.join(LOCK_FILE);
    let fd = match open_lock_file(&path, false) {
        Err(Error::Sys { source, .. })
            if matches!(source.errno(), libc::ENOENT | libc::ENOTDIR) =>
        {
            return Err(Error::NotExist(id()))
        }
        other => other?,
    };
    sys::fs::lock_record(fd.as_fd(), true).context("locking the container")?;
    // The command that held the lock may have deleted the container (and
    // a create may have made a new one of the same id): the lock counts
    // only if the path still names the file we locked.
    let held = sys::fs::fstat(fd.as_fd()).context("stat of the lock")?;
    let same = std::fs::metadata(&path).is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.ino() == held.st_ino && m.dev() == held.st_dev
    });
    if !same {
        return Err(Error::NotExist(id()));
    }
    Ok(Locked { dir, _lock: fd })
}

/// The cgroup a create planned (see [`Locked::record_cgroup_plan`]); a
/// torn file (killed while writing it) was written before anything was
/// made, so it counts as none.
fn read_cgroup_plan(dir: &Path) -> Result<Option<cgroups::Placement>, Error> {
    read_plan(dir, CGROUP_PLAN)
}

/// What a create killed before it saved the state made, by the plans it
/// recorded first: the cgroup directories (whose release waits for the
/// dying init), then, without a mount namespace, its mounts on the host.
fn release_unfinished(dir: &Path) -> Result<(), Error> {
    if let Some(plan) = read_cgroup_plan(dir)? {
        crate::cgroup::release_unfinished(&plan)?;
    }
    if let Some(plan) = read_plan::<HostMounts>(dir, HOST_MOUNTS_PLAN)? {
        if let Some(id) = crate::rootfs::host::top_mount_id(&plan.rootfs)? {
            if Some(id) != plan.before {
                crate::rootfs::host::release(&plan.rootfs, id)?;
            }
        }
    }
    Ok(())
}

/// A plan file of a create (written before what it names was made); a torn
/// one counts as none.
fn read_plan<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Result<Option<T>, Error> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Where a create without a mount namespace mounts on the host.
#[derive(Serialize, Deserialize)]
struct HostMounts {
    rootfs: PathBuf,
    /// The mount on the rootfs before the create (not the container's).
    before: Option<u64>,
}

/// A state.json's bytes as a [`State`] (the fuzz target `state` drives it).
pub fn parse(bytes: &[u8]) -> Result<State, serde_json::Error> {
    serde_json::from_slice(bytes)
}

fn read_state(dir: &Path) -> Result<Option<State>, Error> {
    let path = dir.join(STATE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => parse(&bytes)
            .map(Some)
            .map_err(|e| Error::Config(format!("corrupt state file {}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

impl Locked {
    /// The container's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The saved state; `None` while the container is being created.
    pub fn load(&self) -> Result<Option<State>, Error> {
        read_state(&self.dir)
    }

    /// Records, before they are made, the cgroup directories this create
    /// will make: a create killed before it saves its state leaves them
    /// for `delete` or the next create of the id to find. Not synced: it
    /// only matters while the machine stays up.
    pub fn record_cgroup_plan(&self, plan: &cgroups::Placement) -> Result<(), Error> {
        let bytes = serde_json::to_vec(plan).map_err(|e| Error::Config(e.to_string()))?;
        let path = self.dir.join(CGROUP_PLAN);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
    }

    /// Without a mount namespace: the rootfs on which the init is about to
    /// mount, and the mount that was on it before, so that the mounts of a
    /// create killed before it saves the state are found and detached.
    pub fn record_host_mounts(&self, rootfs: &Path, before: Option<u64>) -> Result<(), Error> {
        let plan = HostMounts {
            rootfs: rootfs.to_path_buf(),
            before,
        };
        let bytes = serde_json::to_vec(&plan).map_err(|e| Error::Config(e.to_string()))?;
        let path = self.dir.join(HOST_MOUNTS_PLAN);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
    }

    /// Removes what a create that never saved its state made (see
    /// [`Locked::record_cgroup_plan`], [`Locked::record_host_mounts`]).
    pub fn release_unfinished(&self) -> Result<(), Error> {
        release_unfinished(&self.dir)
    }

    /// Writes `state` atomically: a temp file, fsync'd, renamed over the old one.
    pub fn save(&self, state: &State) -> Result<(), Error> {
        let bytes = serde_json::to_vec(state).map_err(|e| Error::Config(e.to_string()))?;
        write_atomic(&self.dir.join(STATE_FILE), &bytes)
    }

    /// Removes the container's directory and everything in it. It is first
    /// renamed, under the lock, to a name no id can have: a `create` of the
    /// same id never sees it half-removed (and reclaims nothing of it).
    pub fn remove(self) -> Result<(), Error> {
        // Not derived from the id, so that every id that fits a file name
        // can be deleted ('~' is in no id, and `ids` skips it).
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let doomed = self
            .dir
            .with_file_name(format!("~deleted.{}.{stamp}", std::process::id()));
        std::fs::rename(&self.dir, &doomed)
            .with_context(|| format!("removing {}", self.dir.display()))?;
        std::fs::remove_dir_all(&doomed).with_context(|| format!("removing {}", doomed.display()))
    }

    /// The container's status, derived from the live process, never stored.
    pub fn status(&self, state: Option<&State>) -> Status {
        status_of(&self.dir, state)
    }
}

/// The status of a container whose directory is `dir`.
pub fn status_of(dir: &Path, state: Option<&State>) -> Status {
    let Some(state) = state else {
        return Status::Creating;
    };
    // Frozen first: a created container can be paused too (its init frozen
    // while it waits for `start`), and is created again once resumed, as
    // runc's status reads the freezer before the exec fifo.
    match liveness::check(state.init_pid, state.init_start_time) {
        ProcState::Alive if state.cgroup.as_ref().is_some_and(cgroups::is_frozen) => Status::Paused,
        ProcState::Alive if dir.join(EXEC_FIFO).exists() => Status::Created,
        ProcState::Alive => Status::Running,
        ProcState::Gone => Status::Stopped,
    }
}

/// Writes `bytes` to `path` through a temp file in the same directory and a
/// rename, so readers see the old content or the new, never a torn file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        // A fresh name, never a file or link someone planted in its place.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Checks a container id: runc's character set, no path separators, not `.`/`..`.
pub fn validate_id(id: &str) -> Result<(), Error> {
    let bad = |why| Err(Error::InvalidId(id.to_string(), why));
    if id.is_empty() {
        return bad("it is empty");
    }
    if id == "." || id == ".." {
        return bad("it names a directory");
    }
    if id.len() > MAX_ID_LEN {
        // Checked before anything is made: a longer id could be created
        // but its directory never renamed or removed again.
        return bad("file name too long: an id is at most 255 bytes");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'))
    {
        return bad("only letters, digits, '_', '+', '-' and '.' are allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store(tag: &str) -> Store {
        let dir = std::env::temp_dir().join(format!("corten-store-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Store::open(&dir).unwrap()
    }

    /// Regression (found by fuzz/state): a float in the saved resources
    /// came back one unit in the last place off (serde_json's fast float
    /// parsing), so a state did not load as it was saved.
    #[test]
    fn a_float_in_the_saved_resources_round_trips_exactly() {
        let mut state = sample("float");
        state.resources = Some(serde_json::json!({"x": 9.876666666666665e41}));
        let saved = serde_json::to_vec(&state).unwrap();
        assert_eq!(parse(&saved).unwrap(), state);
    }

    fn sample(id: &str) -> State {
        State {
            oci_version: "1.2.0".into(),
            id: id.into(),
            init_pid: std::process::id() as i32,
            init_start_time: process_start_time(std::process::id() as i32).unwrap(),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: time::now_rfc3339(),
            annotations: BTreeMap::new(),
            owner: 0,
            hooks: None,
            has_process: true,
            cgroup: None,
            host_rootfs_mount: None,
            resources: None,
        }
    }

    #[test]
    fn ids_are_checked() {
        for good in ["a", "abc-1.2_x+y", "A9"] {
            assert!(validate_id(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "../x", " ", "a b", "é"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    /// Issue 18.9: ids of 243-255 bytes were created but never deleted.
    #[test]
    fn an_id_as_long_as_a_file_name_is_created_and_removed() {
        let store = temp_store("longid");
        let id = "x".repeat(MAX_ID_LEN);
        let c = store.create(&id).unwrap();
        c.save(&sample(&id)).unwrap();
        c.remove().unwrap();
        assert!(matches!(store.lock(&id), Err(Error::NotExist(_))));
        let longer = "x".repeat(MAX_ID_LEN + 1);
        assert!(matches!(store.create(&longer), Err(Error::InvalidId(..))));
        assert_eq!(
            std::fs::read_dir(store.root()).unwrap().count(),
            1,
            "create.lock only"
        );
        std::fs::remove_dir_all(store.root()).unwrap();
    }

    #[test]
    fn duplicate_id_is_refused_and_state_kept() {
        let store = temp_store("dup");
        let first = store.create("c1").unwrap();
        first.save(&sample("c1")).unwrap();
        drop(first);
        assert!(matches!(store.create("c1"), Err(Error::Exists(_))));
        assert_eq!(store.read("c1").unwrap().unwrap().id, "c1");
        std::fs::remove_dir_all(store.root()).unwrap();
    }

    #[test]
    fn a_directory_holding_anything_create_does_not_make_is_not_reclaimed() {
        let store = temp_store("foreign");
        let dir = store.root().join("usr");
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        assert!(!store.reclaim("usr").unwrap());
        assert!(matches!(store.create("usr"), Err(Error::Exists(_))));
        assert!(dir.join("bin").is_dir());
        std::fs::remove_dir_all(store.root()).unwrap();
    }

    #[test]
    fn abandoned_create_is_reclaimed_but_a_live_one_is_not() {
        let store = temp_store("reclaim");
        // A create killed before writing state.json leaves an unlocked, empty dir.
        std::fs::create_dir(store.root().join("c3")).unwrap();
        let c = store.create("c3").expect("an abandoned dir is reclaimed");
        // While a create holds the lock the directory is not abandoned.
        // Record locks are per process, so another process must look: a
        // forked child that tries to reclaim it.
        let dir = c.dir().to_path_buf();
        let status = std::process::Command::new("/proc/self/exe")
            .args(["--exact", "state::tests::reclaim_probe", "--nocapture"])
            .env("CORTEN_RECLAIM_PROBE", &dir)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stdout)
        );
        assert!(String::from_utf8_lossy(&status.stdout).contains("reclaimed=false"));
        c.save(&sample("c3")).unwrap();
        drop(c);
        // With state.json it is a real container, stopped or not.
        assert!(matches!(store.create("c3"), Err(Error::Exists(_))));
        std::fs::remove_dir_all(store.root()).unwrap();
    }

    /// Run in a child process by the test above.
    #[test]
    fn reclaim_probe() {
        if let Some(dir) = std::env::var_os("CORTEN_RECLAIM_PROBE") {
            println!("reclaimed={}", reclaim_abandoned(Path::new(&dir)).unwrap());
        }
    }

    #[test]
    fn status_follows_the_process_and_the_fifo() {
        let store = temp_store("status");
        let c = store.create("c2").unwrap();
        assert_eq!(c.status(None), Status::Creating);
        let mut st = sample("c2");
        c.save(&st).unwrap();
        assert_eq!(c.status(Some(&st)), Status::Running);
        std::fs::write(c.dir().join(EXEC_FIFO), "").unwrap();
        assert_eq!(c.status(Some(&st)), Status::Created);
        st.init_start_time += 1; // a reused pid: same number, another process
        assert_eq!(c.status(Some(&st)), Status::Stopped);
        c.remove().unwrap();
        assert!(matches!(store.lock("c2"), Err(Error::NotExist(_))));
        std::fs::remove_dir_all(store.root()).unwrap();
    }
}
