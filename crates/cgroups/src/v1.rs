//! The v1 driver: one directory per hierarchy (on hybrid hosts the unified
//! hierarchy too), resources written to the v1 files.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxResources};

use crate::devices::{self, Node};
use crate::mountinfo::{self, Hierarchy};
use crate::{write_file, Error, Manager, Placement, Result};

/// A container's cgroup on a v1 or hybrid host.
#[derive(Debug, Clone)]
pub struct V1 {
    /// (hierarchy, the container's directory in it)
    dirs: Vec<(Hierarchy, PathBuf)>,
    /// The runtime's own directory in each hierarchy (known when made by
    /// [`V1::new`], which reads them anyway), to step back out after a clone.
    runtime_dirs: Vec<PathBuf>,
    /// Parents of `dirs` that [`Manager::create`] made, outermost first.
    made_parents: std::cell::RefCell<Vec<PathBuf>>,
    /// The directories are a systemd unit's, made by systemd (in the
    /// hierarchies it manages) around a process of the runtime's: their
    /// being there and populated is expected.
    in_unit: bool,
}

impl V1 {
    /// The cgroup at `cgroups_path` in every hierarchy mounted under
    /// `/sys/fs/cgroup`. A relative path is taken under the runtime's own
    /// cgroup in each hierarchy, as runc's cgroupfs driver does.
    pub fn new(cgroups_path: &Path, hierarchies: &[Hierarchy], own_cgroup: &str) -> Result<V1> {
        if cgroups_path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(Error::Invalid(format!(
                "cgroupsPath {}: \"..\" is not allowed",
                cgroups_path.display()
            )));
        }
        if cgroups_path
            .components()
            .all(|c| matches!(c, std::path::Component::RootDir))
        {
            return Err(Error::Invalid(
                "cgroupsPath: the root cgroup cannot be a container's".into(),
            ));
        }
        let mut dirs = Vec::new();
        let mut runtime_dirs = Vec::new();
        for h in hierarchies
            .iter()
            .filter(|h| h.mount_point.starts_with("/sys/fs/cgroup"))
        {
            let path = if cgroups_path.is_absolute() {
                cgroups_path.to_path_buf()
            } else {
                mountinfo::path_in(own_cgroup, h).join(cgroups_path)
            };
            dirs.push((h.clone(), mountinfo::under(&h.mount_point, &path)));
            runtime_dirs.push(mountinfo::under(
                &h.mount_point,
                &mountinfo::path_in(own_cgroup, h),
            ));
        }
        Ok(V1 {
            dirs,
            runtime_dirs,
            made_parents: Default::default(),
            in_unit: false,
        })
    }

    /// The same cgroup as the directories of a systemd unit (see `in_unit`).
    pub(crate) fn in_systemd_unit(self) -> V1 {
        V1 {
            in_unit: true,
            ..self
        }
    }

    /// A driver over saved directories (for update, delete, kill), each
    /// matched again with the host hierarchy it lies in.
    pub fn from_placement(p: &Placement) -> V1 {
        let hierarchies = mountinfo::host_hierarchies().unwrap_or_default();
        let unknown = || Hierarchy {
            mount_point: PathBuf::new(),
            fstype: String::new(),
            options: String::new(),
        };
        let dirs = p
            .dirs
            .iter()
            .map(|d| {
                let h = hierarchies
                    .iter()
                    .filter(|h| d.starts_with(&h.mount_point))
                    .max_by_key(|h| h.mount_point.as_os_str().len())
                    .cloned()
                    .unwrap_or_else(unknown);
                (h, d.clone())
            })
            .collect();
        V1 {
            dirs,
            runtime_dirs: Vec::new(),
            made_parents: std::cell::RefCell::new(p.made_parents.clone()),
            in_unit: false,
        }
    }

    fn dir_of(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(h, _)| h.has(controller))
            .map(|(_, d)| d.as_path())
    }

    fn unified(&self) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(h, _)| h.fstype == "cgroup2")
            .map(|(_, d)| d.as_path())
    }

    /// Makes the container's directory in hierarchy `h`: one mkdir when its
    /// parent exists (the usual case, paid on every create); otherwise each
    /// missing level from the top, remembering those this call made (not
    /// those another runtime made meanwhile: EEXIST), so that no empty level
    /// is left behind when the container goes. Says whether it made the
    /// directory itself (an existing one must be empty of processes).
    fn make_dir(&self, h: &Hierarchy, dir: &Path) -> Result<bool> {
        match std::fs::create_dir(dir) {
            Ok(()) => return Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && self.in_unit => {
                return Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return crate::check_unpopulated(dir).map(|()| false)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(dir, &e)),
        }
        let levels: Vec<&Path> = dir
            .ancestors()
            .take_while(|a| a.starts_with(&h.mount_point) && *a != h.mount_point)
            .collect();
        for level in levels.into_iter().rev() {
            match std::fs::create_dir(level) {
                Ok(()) if level != dir => self.made_parents.borrow_mut().push(level.to_path_buf()),
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && self.in_unit => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && level == dir => {
                    crate::check_unpopulated(dir)?;
                    return Ok(false);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(level, &e)),
            }
        }
        Ok(true)
    }

    /// A blkio weight: the BFQ scheduler's file where the kernel has it
    /// (CFQ's blkio.weight is gone since 5.0), as runc picks them.
    fn write_weight(&self, cfq_file: &str, value: &str) -> Result<()> {
        let bfq_file = cfq_file.replace("blkio.", "blkio.bfq.");
        let has_bfq = self
            .dir_of("blkio")
            .is_some_and(|d| d.join(&bfq_file).exists());
        let file = if has_bfq { bfq_file.as_str() } else { cfq_file };
        self.write("blkio", file, value)
    }

    /// The cfs period, then the quota, as runc: where the kernel refuses
    /// the period (EINVAL: the old quota over the new period would exceed a
    /// parent's limit) and a quota comes too, the quota goes first and the
    /// period after it. Either order alone fails one way of moving both
    /// under a limited parent: lowering them together, or raising them.
    fn set_cfs(&self, period: Option<u64>, quota: Option<i64>) -> Result<()> {
        let mut period_left = None;
        if let Some(p) = period {
            let file = self.file_of("cpu", "cpu.cfs_period_us")?;
            match crate::try_write_file(&file, &p.to_string()) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) && quota.is_some() => {
                    period_left = Some(p);
                }
                Err(e) => return Err(crate::write_error(&file, &e)),
            }
        }
        if let Some(q) = quota {
            self.write("cpu", "cpu.cfs_quota_us", &limit(q))?;
        }
        if let Some(p) = period_left {
            self.write("cpu", "cpu.cfs_period_us", &p.to_string())?;
        }
        Ok(())
    }

    /// cpu.shares, and runc's error where the kernel clamped the value
    /// into its range (2..262144).
    fn set_shares(&self, shares: u64) -> Result<()> {
        let file = self.file_of("cpu", "cpu.shares")?;
        write_file(&file, &shares.to_string())?;
        let read = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, &e))?;
        match read.trim().parse::<u64>() {
            Ok(now) if now < shares => Err(Error::Invalid(format!(
                "cpu shares {shares}: the maximum allowed cpu-shares is {now}"
            ))),
            Ok(now) if now > shares => Err(Error::Invalid(format!(
                "cpu shares {shares}: the minimum allowed cpu-shares is {now}"
            ))),
            _ => Ok(()),
        }
    }

    fn write(&self, controller: &str, file: &str, value: &str) -> Result<()> {
        write_file(&self.file_of(controller, file)?, value)
    }

    /// A control file of this cgroup in `controller`'s hierarchy.
    fn file_of(&self, controller: &str, file: &str) -> Result<PathBuf> {
        let dir = self.dir_of(controller).ok_or_else(|| {
            Error::Unsupported(format!(
                "the {controller} cgroup controller is not mounted on this host"
            ))
        })?;
        Ok(dir.join(file))
    }
}

/// runc's words for a cgroupsPath frozen before the create.
pub(crate) fn unexpectedly_frozen() -> Error {
    Error::Invalid("container's cgroup unexpectedly frozen".into())
}

fn state_is_frozen(dir: &Path) -> bool {
    // FREEZING counts: its tasks are held, or about to be.
    std::fs::read_to_string(dir.join("freezer.state")).is_ok_and(|s| s.trim() != "THAWED")
}

/// Whether a saved v1 cgroup's freezer holds its tasks.
pub(crate) fn frozen_at(p: &Placement) -> bool {
    p.dirs
        .iter()
        .find(|d| d.join("freezer.state").exists())
        .is_some_and(|d| state_is_frozen(d))
}

/// A cpuset cgroup starts with empty cpus and mems: a new directory gets
/// its parent's, or no process could join it. A parent that is new too (a
/// cgroupsPath of new levels) gets its own first.
fn inherit_cpuset(dir: &Path) -> Result<()> {
    let read = |p: PathBuf| match std::fs::read_to_string(&p) {
        Ok(v) => Ok(Some(v.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(p, &e)),
    };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let own =
            std::fs::read_to_string(dir.join(file)).map_err(|e| Error::io(dir.join(file), &e))?;
        let Some(parent) = dir.parent().filter(|_| own.trim().is_empty()) else {
            continue;
        };
        let value = match read(parent.join(file))? {
            Some(v) if v.is_empty() => {
                inherit_cpuset(parent)?;
                read(parent.join(file))?.unwrap_or_default()
            }
            Some(v) => v,
            None => continue,
        };
        write_file(&dir.join(file), &value)?;
    }
    Ok(())
}

/// Moves the calling thread into cgroup `dir` of a v1 hierarchy. "0" (this
/// thread) in `tasks` moves it without the lock on every thread group that a
/// cgroup.procs write takes, whose RCU grace period cost 6-8 ms a create
/// on this project's hosts (hack/bench.sh). A user who may write only
/// cgroup.procs (a delegated directory) moves the whole process instead.
fn move_this_thread(dir: &Path) -> Result<()> {
    match write_file(&dir.join("tasks"), "0") {
        Err(Error::Denied { .. }) => {
            write_file(&dir.join("cgroup.procs"), &std::process::id().to_string())
        }
        other => other,
    }
}

/// -1 (and a missing value) mean no limit in the runtime spec.
fn limit(v: i64) -> String {
    if v < 0 {
        "-1".to_string()
    } else {
        v.to_string()
    }
}

impl Manager for V1 {
    fn create(&self) -> Result<()> {
        let mut made = Vec::new();
        let result = self.dirs.iter().try_for_each(|(h, dir)| {
            if self.make_dir(h, dir)? {
                made.push(dir);
            } else {
                // Reused, and frozen beforehand: refused as runc refuses it
                // (and the runtime stepping in for the clone would freeze).
                if h.has("freezer") && state_is_frozen(dir) {
                    return Err(unexpectedly_frozen());
                }
                // Reused (a killed create's, say): its old device rules must
                // not hold back the new init's /dev setup, which runs before
                // the new rules are set.
                if h.has("devices") {
                    match write_file(&dir.join("devices.allow"), "a") {
                        // Rootless in a delegated directory: not ours to program.
                        Err(Error::Denied { .. }) => {}
                        other => other?,
                    }
                }
            }
            if h.has("cpuset") {
                inherit_cpuset(dir)?;
            }
            Ok(())
        });
        if result.is_err() {
            // A refusal in one hierarchy (a populated cgroup) leaves
            // nothing this call made in the others.
            for dir in made.iter().rev() {
                let _ = std::fs::remove_dir(dir);
            }
            let _ = crate::remove_made_parents(&self.made_parents.take());
        }
        result
    }

    fn join(&self, pid: i32) -> Result<()> {
        for (_, dir) in &self.dirs {
            write_file(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    fn join_sub(&self, pid: i32, subs: &[(Option<String>, PathBuf)]) -> Result<()> {
        let known = |c: &str| {
            self.dirs
                .iter()
                .any(|(h, _)| h.has(c) || (c == "unified" && h.fstype == "cgroup2"))
        };
        // A controller no hierarchy has is refused, as runc refuses it,
        // rather than the process left in the container's own cgroup there.
        if let Some(c) = subs
            .iter()
            .filter_map(|(c, _)| c.as_deref())
            .find(|c| !known(c))
        {
            return Err(Error::Invalid(format!(
                "--cgroup: unknown controller {c} (no hierarchy of this host has it)"
            )));
        }
        for (h, dir) in &self.dirs {
            let sub = subs
                .iter()
                .find(|(c, _)| {
                    c.as_deref()
                        .is_none_or(|c| h.has(c) || (c == "unified" && h.fstype == "cgroup2"))
                })
                .map(|(_, p)| p);
            let target = match sub {
                Some(p) => {
                    if p.is_absolute()
                        || p.components()
                            .any(|c| matches!(c, std::path::Component::ParentDir))
                    {
                        return Err(Error::Invalid(format!(
                            "--cgroup {}: a path inside the container's cgroup is needed",
                            p.display()
                        )));
                    }
                    let t = dir.join(p);
                    if !t.is_dir() {
                        return Err(Error::Invalid(format!(
                            "--cgroup {}: no such sub-cgroup {}",
                            p.display(),
                            t.display()
                        )));
                    }
                    t
                }
                None => dir.clone(),
            };
            write_file(&target.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    fn oom_kills(&self) -> u64 {
        self.dir_of("memory")
            .and_then(|d| std::fs::read_to_string(d.join("memory.oom_control")).ok())
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    fn stats(&self) -> crate::stats::Stats {
        crate::v1_stats::collect(&|c| self.dir_of(c).map(Path::to_path_buf))
    }

    fn before_clone(&self) -> Result<Option<std::os::fd::OwnedFd>> {
        if self.runtime_dirs.len() != self.dirs.len() {
            // Opened from a saved placement: nowhere known to come back to.
            return Err(Error::Invalid("no runtime cgroup to step back to".into()));
        }
        let mut into = None;
        for (h, dir) in &self.dirs {
            let step = if h.fstype == "cgroup2" {
                std::fs::File::open(dir)
                    .map(|f| into = Some(f.into()))
                    .map_err(|e| Error::io(dir, &e))
            } else {
                // Never frozen: create thawed it, or refused it.
                move_this_thread(dir)
            };
            if let Err(e) = step {
                // Stepping back out matters more: left inside, the runtime
                // would count against the container and die with it.
                self.after_clone()?;
                return Err(e);
            }
        }
        Ok(into)
    }

    fn after_clone(&self) -> Result<()> {
        // Every hierarchy is tried: one that fails must not keep the
        // runtime in the others, where a cleanup would kill it.
        let mut first_error = Ok(());
        for ((h, _), dir) in self.dirs.iter().zip(&self.runtime_dirs) {
            if h.fstype != "cgroup2" {
                if let Err(e) = move_this_thread(dir) {
                    first_error = first_error.and(Err(e));
                }
            }
        }
        first_error
    }

    fn for_child(&self) -> Result<crate::ForChild> {
        let mut out = crate::ForChild::default();
        let mut freezer = None;
        for (h, dir) in &self.dirs {
            if h.fstype == "cgroup2" {
                let f = std::fs::File::open(dir).map_err(|e| Error::io(dir, &e))?;
                out.into = Some(f.into());
                continue;
            }
            let tasks = dir.join("tasks");
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&tasks)
                .map_err(|e| Error::io(&tasks, &e))?;
            if h.has("freezer") {
                freezer = Some((tasks, f.into()));
            } else {
                out.tasks.push((tasks, f.into()));
            }
        }
        out.tasks.extend(freezer);
        Ok(out)
    }

    fn freeze(&self, frozen: bool) -> Result<()> {
        let dir = self.dir_of("freezer").ok_or_else(|| {
            Error::Unsupported("the freezer cgroup controller is not mounted on this host".into())
        })?;
        let want = if frozen { "FROZEN" } else { "THAWED" };
        let file = dir.join("freezer.state");
        // The freezer may stay FREEZING while a task is busy in the
        // kernel: writing again retries the freeze (runc does the same).
        crate::wait_for(want, || {
            write_file(&file, want)?;
            let now = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, &e))?;
            Ok(now.trim() == want)
        })
    }

    fn frozen(&self) -> Option<bool> {
        let dir = self.dir_of("freezer")?;
        Some(state_is_frozen(dir))
    }

    fn apply(&self, r: &LinuxResources) -> Result<()> {
        if let Some(m) = r.memory() {
            // memory.kernel and kernelTCP never reach here: the config's
            // pre-pass drops them with a warning, as runc ignores them.
            // 0 is "not set" for every limit runc's v1 driver writes (its
            // update passes 0 for each value it was not given).
            if let Some(v) = m.reservation().filter(|&v| v != 0) {
                self.write("memory", "memory.soft_limit_in_bytes", &limit(v))?;
            }
            // The kernel keeps memory+swap >= memory at every write: when
            // the new memory limit exceeds the current memory+swap limit,
            // memory+swap must move first; otherwise memory first (runc).
            match (m.limit().filter(|&v| v != 0), m.swap().filter(|&v| v != 0)) {
                (Some(l), Some(s)) => {
                    let current = self
                        .dir_of("memory")
                        .and_then(|d| {
                            std::fs::read_to_string(d.join("memory.memsw.limit_in_bytes")).ok()
                        })
                        .and_then(|t| t.trim().parse::<u64>().ok())
                        .unwrap_or(u64::MAX);
                    let as_u64 = |v: i64| if v < 0 { u64::MAX } else { v as u64 };
                    if as_u64(l) > current {
                        self.write("memory", "memory.memsw.limit_in_bytes", &limit(s))?;
                        self.write("memory", "memory.limit_in_bytes", &limit(l))?;
                    } else {
                        self.write("memory", "memory.limit_in_bytes", &limit(l))?;
                        self.write("memory", "memory.memsw.limit_in_bytes", &limit(s))?;
                    }
                }
                (Some(l), None) => self.write("memory", "memory.limit_in_bytes", &limit(l))?,
                (None, Some(s)) => {
                    self.write("memory", "memory.memsw.limit_in_bytes", &limit(s))?
                }
                (None, None) => {}
            }
            if let Some(v) = m.swappiness() {
                if v > 100 {
                    return Err(Error::Invalid(format!(
                        "memory.swappiness {v}: at most 100"
                    )));
                }
                self.write("memory", "memory.swappiness", &v.to_string())?;
            }
            if let Some(true) = m.disable_oom_killer() {
                self.write("memory", "memory.oom_control", "1")?;
            }
        }
        if let Some(c) = r.cpu() {
            if let Some(v) = c.shares().filter(|&v| v != 0) {
                self.set_shares(v)?;
            }
            let (period, quota) = (
                c.period().filter(|&v| v != 0),
                c.quota().filter(|&v| v != 0),
            );
            self.set_cfs(period, quota)?;
            if let Some(v) = c.burst() {
                self.write("cpu", "cpu.cfs_burst_us", &v.to_string())?;
            }
            if let Some(v) = c.realtime_period().filter(|&v| v != 0) {
                self.write("cpu", "cpu.rt_period_us", &v.to_string())?;
            }
            if let Some(v) = c.realtime_runtime().filter(|&v| v != 0) {
                self.write("cpu", "cpu.rt_runtime_us", &v.to_string())?;
            }
            if let Some(v) = c.idle() {
                self.write("cpu", "cpu.idle", &v.to_string())?;
            }
            if let Some(v) = c.cpus().as_deref().filter(|v| !v.is_empty()) {
                self.write("cpuset", "cpuset.cpus", v)?;
            }
            if let Some(v) = c.mems().as_deref().filter(|v| !v.is_empty()) {
                self.write("cpuset", "cpuset.mems", v)?;
            }
        }
        // 0 is "not set", as on v2 (oci-spec's LinuxPids cannot tell an
        // explicit 0 from an absent limit).
        if let Some(v) = r.pids().map(|p| p.limit()).filter(|&v| v != 0) {
            let v = if v < 0 { "max".into() } else { v.to_string() };
            self.write("pids", "pids.max", &v)?;
        }
        if let Some(b) = r.block_io() {
            // 0 means "not set" (runc; Docker always sends the field).
            if let Some(v) = b.weight().filter(|&v| v != 0) {
                self.write_weight("blkio.weight", &v.to_string())?;
            }
            if let Some(v) = b.leaf_weight().filter(|&v| v != 0) {
                self.write("blkio", "blkio.leaf_weight", &v.to_string())?;
            }
            for d in b.weight_device().iter().flatten() {
                if let Some(w) = d.weight().filter(|&w| w != 0) {
                    self.write_weight(
                        "blkio.weight_device",
                        &format!("{}:{} {w}", d.major(), d.minor()),
                    )?;
                }
                if let Some(w) = d.leaf_weight() {
                    self.write(
                        "blkio",
                        "blkio.leaf_weight_device",
                        &format!("{}:{} {w}", d.major(), d.minor()),
                    )?;
                }
            }
            let throttles = [
                (
                    "blkio.throttle.read_bps_device",
                    b.throttle_read_bps_device(),
                ),
                (
                    "blkio.throttle.write_bps_device",
                    b.throttle_write_bps_device(),
                ),
                (
                    "blkio.throttle.read_iops_device",
                    b.throttle_read_iops_device(),
                ),
                (
                    "blkio.throttle.write_iops_device",
                    b.throttle_write_iops_device(),
                ),
            ];
            for (file, list) in throttles {
                for d in list.iter().flatten() {
                    self.write(
                        "blkio",
                        file,
                        &format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                    )?;
                }
            }
        }
        for h in r.hugepage_limits().iter().flatten() {
            let size = h.page_size();
            match self.dir_of("hugetlb") {
                Some(dir) => write_file(
                    &dir.join(format!("hugetlb.{size}.limit_in_bytes")),
                    &h.limit().to_string(),
                )?,
                // On hybrid hosts hugetlb may be offered by the unified hierarchy only.
                None => match self.unified() {
                    Some(dir) => write_file(
                        &dir.join(format!("hugetlb.{size}.max")),
                        &h.limit().to_string(),
                    )?,
                    None => {
                        return Err(Error::Unsupported(
                            "the hugetlb cgroup controller is not mounted on this host".into(),
                        ))
                    }
                },
            }
        }
        if let Some(n) = r.network() {
            if let Some(id) = n.class_id() {
                self.write("net_cls", "net_cls.classid", &id.to_string())?;
            }
            for p in n.priorities().iter().flatten() {
                self.write(
                    "net_prio",
                    "net_prio.ifpriomap",
                    &format!("{} {}", p.name(), p.priority()),
                )?;
            }
        }
        if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
            return Err(Error::Unsupported(
                "rdma limits (the rdma cgroup controller is not mounted on this host)".into(),
            ));
        }
        if r.unified().as_ref().is_some_and(|m| !m.is_empty()) {
            return Err(Error::Unsupported(
                "linux.resources.unified on a cgroup v1 host".into(),
            ));
        }
        Ok(())
    }

    fn set_devices(&self, config: &[LinuxDeviceCgroup], nodes: &[Node]) -> Result<()> {
        let rules = devices::rules(config, nodes)?;
        crate::bpf_devices::check(&rules)?;
        let dir = self.dir_of("devices").ok_or_else(|| {
            Error::Unsupported("the devices cgroup controller is not mounted on this host".into())
        })?;
        // Each file opened once and written a rule at a time (the kernel
        // takes one per write): every create pays for this list.
        let open = |name: &str| {
            let path = dir.join(name);
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .map(|f| (f, path.clone()))
                .map_err(|e| Error::io(&path, &e))
        };
        let (mut allow, mut deny) = (open("devices.allow")?, open("devices.deny")?);
        // From deny-all, where runc's rules start: a new cgroup inherits
        // its parent's list, which allows everything on most hosts.
        let first = std::iter::once((false, "a".to_string()));
        for (allowed, rule) in first.chain(rules) {
            use std::io::Write;
            let (file, path) = if allowed { &mut allow } else { &mut deny };
            file.write_all(rule.as_bytes())
                .map_err(|e| Error::io(&*path, &e))?;
        }
        Ok(())
    }

    fn procs(&self) -> Result<Vec<i32>> {
        // Every hierarchy holds the same processes: any one will do.
        match self
            .dirs
            .iter()
            .find(|(_, d)| d.join("cgroup.procs").exists())
        {
            Some((_, dir)) => crate::procs_under(dir),
            None => Ok(Vec::new()),
        }
    }

    fn destroy(&self) -> Result<()> {
        for (_, dir) in &self.dirs {
            crate::remove_tree(dir)?;
        }
        crate::remove_made_parents(&self.made_parents.borrow())
    }

    fn placement(&self) -> Placement {
        Placement {
            dirs: self.dirs.iter().map(|(_, d)| d.clone()).collect(),
            made_parents: self.made_parents.borrow().clone(),
            unified: false,
            systemd: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake v1 cgroupfs in a temp dir: directories per hierarchy with the
    /// control files a test needs.
    /// Docker sends blockIO.weight 0 ("not set"): nothing is written, so a
    /// kernel without CFQ's blkio.weight runs it; a weight goes to BFQ's file.
    #[test]
    fn docker_blkio_weight_zero_is_not_set() {
        let base = std::env::temp_dir().join(format!("corten-cg-blkio-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let h = Hierarchy {
            mount_point: base.join("blkio"),
            fstype: "cgroup".into(),
            options: "blkio".into(),
        };
        let v = V1 {
            dirs: vec![(h.clone(), h.mount_point.join("c1"))],
            runtime_dirs: Vec::new(),
            made_parents: Default::default(),
            in_unit: false,
        };
        std::fs::create_dir_all(&h.mount_point).unwrap();
        v.create().unwrap();
        touch(&base.join("blkio/c1"), &["blkio.bfq.weight"]);
        let zero: LinuxResources =
            serde_json::from_value(serde_json::json!({"blockIO": {"weight": 0}})).unwrap();
        v.apply(&zero).unwrap();
        assert!(!base.join("blkio/c1/blkio.weight").exists());
        let set: LinuxResources =
            serde_json::from_value(serde_json::json!({"blockIO": {"weight": 300}})).unwrap();
        v.apply(&set).unwrap();
        let bfq = std::fs::read_to_string(base.join("blkio/c1/blkio.bfq.weight")).unwrap();
        assert_eq!(bfq, "300");
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// New levels of a cgroupsPath have empty cpus and mems: each takes its
    /// parent's, the upper ones first; a value of its own is kept.
    #[test]
    fn new_cpuset_levels_take_their_parents_values() {
        let base = std::env::temp_dir().join(format!("corten-cg-cpuset-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let leaf = base.join("a/b");
        std::fs::create_dir_all(&leaf).unwrap();
        for (dir, cpus, mems) in [
            (&base, "0-1", "0"),
            (&base.join("a"), "", ""),
            (&leaf, "", ""),
        ] {
            std::fs::write(dir.join("cpuset.cpus"), cpus).unwrap();
            std::fs::write(dir.join("cpuset.mems"), mems).unwrap();
        }
        inherit_cpuset(&leaf).unwrap();
        for dir in [base.join("a"), leaf.clone()] {
            assert_eq!(
                std::fs::read_to_string(dir.join("cpuset.cpus")).unwrap(),
                "0-1"
            );
            assert_eq!(
                std::fs::read_to_string(dir.join("cpuset.mems")).unwrap(),
                "0"
            );
        }
        std::fs::write(leaf.join("cpuset.cpus"), "1").unwrap();
        inherit_cpuset(&leaf).unwrap();
        assert_eq!(
            std::fs::read_to_string(leaf.join("cpuset.cpus")).unwrap(),
            "1"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }

    fn fake(name: &str) -> (PathBuf, Vec<Hierarchy>) {
        let base = std::env::temp_dir().join(format!("corten-cg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let mut hs = Vec::new();
        for c in ["memory", "cpu", "pids", "devices"] {
            std::fs::create_dir_all(base.join(c)).unwrap();
            hs.push(Hierarchy {
                mount_point: base.join(c),
                fstype: "cgroup".into(),
                options: c.into(),
            });
        }
        (base, hs)
    }

    /// Pretend the kernel made the control files of a new directory.
    fn touch(dir: &Path, files: &[&str]) {
        for f in files {
            std::fs::write(dir.join(f), "").unwrap();
        }
    }

    #[test]
    fn limits_land_in_their_files() {
        let (base, hs) = fake("limits");
        // /sys/fs/cgroup filter: the fake lives elsewhere, so build directly.
        let v = V1 {
            dirs: hs
                .iter()
                .map(|h| (h.clone(), h.mount_point.join("c1")))
                .collect(),
            runtime_dirs: Vec::new(),
            made_parents: Default::default(),
            in_unit: false,
        };
        v.create().unwrap();
        touch(
            &base.join("memory/c1"),
            &[
                "memory.limit_in_bytes",
                "memory.memsw.limit_in_bytes",
                "memory.swappiness",
            ],
        );
        touch(
            &base.join("cpu/c1"),
            &["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"],
        );
        touch(&base.join("pids/c1"), &["pids.max"]);
        touch(&base.join("devices/c1"), &["devices.allow", "devices.deny"]);
        let r: LinuxResources = serde_json::from_value(serde_json::json!({
            "memory": {"limit": 1048576, "swap": 2097152, "swappiness": 10},
            "cpu": {"shares": 512, "quota": 20000, "period": 100000},
            "pids": {"limit": 7},
            "devices": [{"allow": false, "access": "rwm"}]
        }))
        .unwrap();
        v.apply(&r).unwrap();
        v.set_devices(r.devices().as_deref().unwrap_or_default(), &[])
            .unwrap();
        let read = |p: &str| std::fs::read_to_string(base.join(p)).unwrap();
        assert_eq!(read("memory/c1/memory.limit_in_bytes"), "1048576");
        assert_eq!(read("memory/c1/memory.memsw.limit_in_bytes"), "2097152");
        assert_eq!(read("cpu/c1/cpu.cfs_quota_us"), "20000");
        assert_eq!(read("pids/c1/pids.max"), "7");
        // Each file is opened once: a plain file collects every write,
        // our deny-all first, then the config's.
        assert_eq!(read("devices/c1/devices.deny"), "aa");
        assert!(read("devices/c1/devices.allow").starts_with("c *:* m"));
        let missing: LinuxResources =
            serde_json::from_value(serde_json::json!({"blockIO": {"weight": 100}})).unwrap();
        let e = v.apply(&missing).unwrap_err().to_string();
        assert!(e.contains("blkio cgroup controller is not mounted"), "{e}");
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn relative_paths_sit_under_the_runtimes_own_cgroup() {
        let hs = vec![Hierarchy {
            mount_point: PathBuf::from("/sys/fs/cgroup/memory"),
            fstype: "cgroup".into(),
            options: "memory".into(),
        }];
        let v = V1::new(Path::new("corten/c1"), &hs, "4:memory:/session\n").unwrap();
        assert_eq!(
            v.placement().dirs,
            vec![PathBuf::from("/sys/fs/cgroup/memory/session/corten/c1")]
        );
        let v = V1::new(Path::new("/abs/c1"), &hs, "4:memory:/session\n").unwrap();
        assert_eq!(
            v.placement().dirs,
            vec![PathBuf::from("/sys/fs/cgroup/memory/abs/c1")]
        );
        assert!(V1::new(Path::new("/a/../../etc"), &hs, "").is_err());
    }
}
