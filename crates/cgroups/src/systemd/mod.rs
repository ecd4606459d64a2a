//! The systemd driver (`--systemd-cgroup`): the container's cgroup is a
//! transient scope unit that systemd makes and owns, as with runc's
//! systemd drivers, so that systemd neither fights over the cgroup nor
//! loses track of it. The files are still written by the cgroupfs drivers
//! (`inner`), at the scope's directory: systemd gets the properties it has
//! (see `properties`), the files get everything, as runc does.
//!
//! ```text
//!  cgroupsPath "system.slice:docker:abc"  ->  unit docker-abc.scope in
//!  system.slice, cgroup /system.slice/docker-abc.scope (v2, or in every
//!  v1 hierarchy of a legacy or hybrid host)
//! ```
//!
//! A scope needs a process when it is made, and ours are born in their
//! cgroup (CLONE_INTO_CGROUP, or the runtime's thread stepping in on v1):
//! so `create` forks a placeholder that waits, has systemd make the scope
//! around it, and the placeholder is killed once the container's first
//! process is inside ([`Manager::after_clone`]).
//!
//! D-Bus: `bus` and `wire`, our own client. systemd's private socket as
//! root, the user's session bus rootless (the user's manager).

mod annotations;
mod bus;
mod properties;
mod wire;

use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxResources};
use serde::{Deserialize, Serialize};

use self::bus::Bus;
use self::properties::Property;
use self::wire::{Message, Value};
use crate::{mountinfo, stats, DeviceNode, Error, ForChild, Manager, Mode, Placement, Result};

/// The unit of a systemd-managed cgroup, saved in the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// `prefix-name.scope` (or a `.slice` the config names).
    pub name: String,
    /// Made by the user's manager (rootless), not the system's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub user: bool,
}

/// What a new systemd-managed cgroup is made from.
pub struct Request<'a> {
    /// `slice:prefix:name`, or empty for the default.
    pub cgroups_path: &'a str,
    pub id: &'a str,
    /// Through the user's manager (an unprivileged runtime).
    pub user: bool,
    /// The config's annotations (`org.systemd.property.*`).
    pub annotations: &'a HashMap<String, String>,
    /// The limits, given to systemd with the start (see [`Systemd::start`]).
    pub resources: Option<&'a LinuxResources>,
    /// The device rules and the config's device nodes, or `None` where the
    /// runtime does not program devices (rootless).
    pub devices: Option<(&'a [LinuxDeviceCgroup], &'a [DeviceNode])>,
}

/// A container's cgroup as a systemd unit, over the cgroupfs driver of
/// the host's mode at the unit's directory.
pub struct Systemd {
    unit: Unit,
    /// Slice= of a scope (Wants= of a slice), for the start.
    slice: String,
    description: String,
    unified: bool,
    inner: Box<dyn Manager>,
    /// Asked for by annotations, sent with the start.
    extra: Vec<Property>,
    /// The limits and device rules to send with the start.
    initial: Option<Initial>,
    /// The resource and device properties the start sent, which a later
    /// `apply` or `set_devices` of the same need not send again.
    sent: RefCell<Vec<Vec<Property>>>,
    bus: RefCell<Option<Bus>>,
    version: Cell<Option<u32>>,
    /// The process the scope was made around, until the container's first
    /// process is inside.
    placeholder: Cell<Option<libc::pid_t>>,
}

/// What a new unit starts with: the limits, and the device rules with the
/// config's device nodes (`None`: the runtime does not program devices).
type Initial = (
    LinuxResources,
    Option<(Vec<LinuxDeviceCgroup>, Vec<DeviceNode>)>,
);

/// The prefix of the unit when the config gives no cgroupsPath (runc's
/// is "runc").
const DEFAULT_PREFIX: &str = "corten";

/// Whether systemd is this host's init (sd_booted(3)).
pub fn running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// `a-b.slice` as the path systemd gives it, `/a.slice/a-b.slice`
/// (runc's ExpandSlice, with its refusals).
pub fn expand_slice(slice: &str) -> Result<String> {
    let bad = || Error::Invalid(format!("slice name: {slice}"));
    let stem = slice.strip_suffix(".slice").ok_or_else(bad)?;
    if slice.contains('/') {
        return Err(bad());
    }
    if stem == "-" {
        return Ok("/".into());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if part.is_empty() {
            return Err(bad());
        }
        path += &format!("/{prefix}{part}.slice");
        prefix += &format!("{part}-");
    }
    Ok(path)
}

/// The unit's name, its slice and its description, from cgroupsPath as
/// runc reads it for systemd.
fn parse_path(cgroups_path: &str, id: &str, user: bool) -> Result<(Unit, String, String)> {
    let (parent, prefix, name) = if cgroups_path.is_empty() {
        ("", DEFAULT_PREFIX, id)
    } else {
        match cgroups_path.split(':').collect::<Vec<_>>().as_slice() {
            [a, b, c] => (*a, *b, *c),
            _ => {
                return Err(Error::Invalid(format!(
                    "cgroupsPath: expected cgroupsPath to be of format \"slice:prefix:name\" \
                     for systemd cgroups, got {cgroups_path:?} instead"
                )))
            }
        }
    };
    if name.is_empty() || name.contains('/') || prefix.contains('/') {
        return Err(Error::Invalid(format!(
            "cgroupsPath {cgroups_path:?}: a unit name"
        )));
    }
    let unit = if name.ends_with(".slice") {
        name.to_string()
    } else {
        format!("{prefix}-{name}.scope")
    };
    let slice = match parent {
        "" if user => "user.slice",
        "" => "system.slice",
        p => p,
    };
    // Checked here, where a bad one is refused before anything is made.
    expand_slice(slice)?;
    Ok((
        Unit { name: unit, user },
        slice.to_string(),
        format!("libcontainer container {name}"),
    ))
}

/// The driver for a new container's systemd unit.
pub fn new(req: &Request<'_>) -> Result<Systemd> {
    if !running() {
        return Err(Error::Unsupported(
            "systemd not running on this host, cannot use systemd cgroups manager".into(),
        ));
    }
    let mode = Mode::detect();
    let unified = mode == Mode::Unified;
    if req.user && !unified {
        return Err(Error::Unsupported(
            "cannot use rootless systemd cgroups manager on cgroup v1".into(),
        ));
    }
    let (unit, slice, description) = parse_path(req.cgroups_path, req.id, req.user)?;
    let extra = annotations::properties(req.annotations)?;
    let initial = Some((
        req.resources.cloned().unwrap_or_default(),
        req.devices
            .map(|(rules, nodes)| (rules.to_vec(), nodes.to_vec())),
    ));
    let mut me = Systemd {
        unit,
        slice,
        description,
        unified,
        inner: Box::new(crate::V2::from_placement(&Placement::default())),
        extra,
        initial,
        sent: RefCell::new(Vec::new()),
        bus: RefCell::new(None),
        version: Cell::new(None),
        placeholder: Cell::new(None),
    };
    let mut parent = expand_slice(&me.slice)?;
    if me.unit.user {
        // The user's manager lives in a cgroup of its own, and its slices
        // are below it: /user.slice/user-1000.slice/user@1000.service.
        let cg = me.manager_property("ControlGroup")?;
        parent = format!(
            "{}/{}",
            cg.trim_end_matches('/'),
            parent.trim_start_matches('/')
        );
    }
    let path = PathBuf::from(&parent).join(&me.unit.name);
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| Error::io("/proc/self/cgroup", &e))?;
    me.inner = if unified {
        Box::new(crate::V2::new(&path, &own)?.in_systemd_unit())
    } else {
        let hierarchies =
            mountinfo::host_hierarchies().map_err(|e| Error::io("/proc/self/mountinfo", &e))?;
        Box::new(crate::V1::new(&path, &hierarchies, &own)?.in_systemd_unit())
    };
    Ok(me)
}

/// The driver for a unit saved in a container's state.
pub fn open(p: &Placement, unit: &Unit) -> Systemd {
    let inner: Box<dyn Manager> = if p.unified {
        Box::new(crate::V2::from_placement(p))
    } else {
        Box::new(crate::V1::from_placement(p))
    };
    Systemd {
        unit: unit.clone(),
        slice: String::new(),
        description: String::new(),
        unified: p.unified,
        inner,
        extra: Vec::new(),
        initial: None,
        sent: RefCell::new(Vec::new()),
        bus: RefCell::new(None),
        version: Cell::new(None),
        placeholder: Cell::new(None),
    }
}

impl Systemd {
    /// The connection, made on first use.
    fn bus(&self) -> Result<RefMut<'_, Bus>> {
        let mut slot = self.bus.borrow_mut();
        if slot.is_none() {
            *slot = Some(if self.unit.user {
                Bus::user()?
            } else {
                Bus::system()?
            });
        }
        Ok(RefMut::map(slot, |b| b.as_mut().expect("connected above")))
    }

    fn manager_property(&self, name: &str) -> Result<String> {
        let call = Message::call(
            bus::SYSTEMD,
            bus::MANAGER_PATH,
            "org.freedesktop.DBus.Properties",
            "Get",
        );
        let reply = self.bus()?.call(
            call,
            vec![Value::Str(bus::MANAGER.into()), Value::Str(name.into())],
        )?;
        reply
            .first()
            .and_then(|v| v.unwrap_variant().as_str())
            .map(str::to_string)
            .ok_or_else(|| Error::Systemd(format!("systemd's {name} is not a string")))
    }

    /// systemd's version number ("252.39-1~deb12u1" is 252), 0 if unknown:
    /// properties newer than that are left to the files.
    fn version(&self) -> u32 {
        if let Some(v) = self.version.get() {
            return v;
        }
        let v = self
            .manager_property("Version")
            .ok()
            .and_then(|s| {
                let digits: String = s
                    .trim_start_matches(['"', 'v'])
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse().ok()
            })
            .unwrap_or(0);
        self.version.set(Some(v));
        v
    }

    /// Starts the unit around `pid`, replacing a failed leftover of the
    /// same name once (runc's startUnit), and waits for the job.
    fn start(&self, pid: libc::pid_t) -> Result<()> {
        let mut props = vec![(
            "Description".to_string(),
            Value::Str(self.description.clone()),
        )];
        if self.unit.name.ends_with(".slice") {
            props.push(("Wants".into(), Value::Str(self.slice.clone())));
        } else {
            props.push(("Slice".into(), Value::Str(self.slice.clone())));
            props.push(("Delegate".into(), Value::Bool(true)));
        }
        props.push((
            "PIDs".into(),
            Value::Array("u".into(), vec![Value::U32(pid as u32)]),
        ));
        let io = if self.unified {
            "IOAccounting"
        } else {
            "BlockIOAccounting"
        };
        for name in ["MemoryAccounting", "CPUAccounting", io, "TasksAccounting"] {
            props.push((name.into(), Value::Bool(true)));
        }
        props.push(("DefaultDependencies".into(), Value::Bool(false)));
        // The limits go with the start, as crun sends them: systemd then
        // realizes the unit's cgroups once, with every controller the limits
        // need, before the container's first process is born in them. Set
        // later, they made systemd realize the unit again: on v1 it moves
        // the unit's processes out of a controller the first realization
        // did not have and back in later, asynchronously, so a process
        // could run outside its limits for a moment (seen in the hybrid VM).
        if let Some((resources, devices)) = &self.initial {
            let (limits, _) = properties::resources(resources, self.unified, self.version())?;
            props.extend(limits.iter().cloned());
            self.sent.borrow_mut().push(limits);
            if let Some((rules, nodes)) = devices {
                let dev = properties::devices(&device_rules(rules, nodes)?);
                props.extend(dev.iter().cloned());
                self.sent.borrow_mut().push(dev);
            }
        }
        props.extend(self.extra.iter().cloned());
        let args = vec![
            Value::Str(self.unit.name.clone()),
            Value::Str("replace".into()),
            property_array(&props),
            Value::Array("(sa(sv))".into(), vec![]),
        ];
        let mut retried = false;
        let job = loop {
            match self.bus()?.manager("StartTransientUnit", args.clone()) {
                Ok(reply) => break reply,
                Err(Error::SystemdRefused { name, .. })
                    if name.ends_with(".UnitExists") && !retried =>
                {
                    // A failed unit of a killed create, say: systemd forgets
                    // it when told, and the start is tried once more.
                    retried = true;
                    let _ = self.reset_failed();
                }
                Err(e) => return Err(self.start_error(e)),
            }
        };
        let job = job
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let result = self.bus()?.wait_job(&job);
        match result {
            Ok(r) if r == "done" => Ok(()),
            Ok(r) => {
                let _ = self.reset_failed();
                Err(Error::Systemd(format!(
                    "error creating systemd unit `{}`: got `{r}`",
                    self.unit.name
                )))
            }
            Err(e) => {
                let _ = self.reset_failed();
                Err(e)
            }
        }
    }

    fn start_error(&self, e: Error) -> Error {
        match e {
            Error::SystemdRefused { message, .. } => Error::Systemd(format!(
                "unable to start unit {:?}: {message}",
                self.unit.name
            )),
            e => e,
        }
    }

    fn reset_failed(&self) -> Result<()> {
        self.bus()?
            .manager("ResetFailedUnit", vec![Value::Str(self.unit.name.clone())])
            .map(drop)
    }

    fn set_properties(&self, props: &[Property]) -> Result<()> {
        if props.is_empty() || self.sent.borrow().iter().any(|sent| sent == props) {
            return Ok(());
        }
        let args = vec![
            Value::Str(self.unit.name.clone()),
            Value::Bool(true),
            property_array(props),
        ];
        match self.bus()?.manager("SetUnitProperties", args) {
            Ok(_) => Ok(()),
            Err(Error::SystemdRefused { message, .. }) => Err(Error::Systemd(format!(
                "unable to set unit properties of {}: {message}",
                self.unit.name
            ))),
            Err(e) => Err(e),
        }
    }

    /// A process that waits, to make the scope around: killed by
    /// [`Systemd::release_placeholder`], or with the runtime if it dies.
    fn fork_placeholder(&self) -> Result<libc::pid_t> {
        let failed = |e: sys::Error| Error::Systemd(format!("a process for the new scope: {e}"));
        let one = sys::process::SingleThreaded::check().map_err(failed)?;
        let runtime = std::process::id();
        match sys::process::fork_child(one, 0, None).map_err(failed)? {
            sys::process::Fork::Child(_) => {
                // A runtime that died before the death signal was asked for
                // has left this process to another parent already.
                if sys::process::set_parent_death_signal(libc::SIGKILL).is_err()
                    || std::os::unix::process::parent_id() != runtime
                {
                    sys::process::exit_now(1);
                }
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                }
            }
            sys::process::Fork::Parent(pid) => Ok(pid),
        }
    }

    fn release_placeholder(&self) {
        if let Some(pid) = self.placeholder.take() {
            let _ = sys::process::kill(pid, libc::SIGKILL);
            let _ = sys::process::waitpid(pid, false);
        }
    }
}

impl Drop for Systemd {
    fn drop(&mut self) {
        self.release_placeholder();
    }
}

/// The device rules from deny-all, as the cgroupfs drivers set them.
fn device_rules(config: &[LinuxDeviceCgroup], nodes: &[DeviceNode]) -> Result<Vec<(bool, String)>> {
    let mut rules = vec![(false, "a".to_string())];
    rules.extend(crate::devices::rules(config, nodes)?);
    Ok(rules)
}

/// Properties as the `a(sv)` systemd takes.
fn property_array(props: &[Property]) -> Value {
    Value::Array(
        "(sv)".into(),
        props
            .iter()
            .map(|(n, v)| {
                Value::Struct(vec![
                    Value::Str(n.clone()),
                    Value::Variant(Box::new(v.clone())),
                ])
            })
            .collect(),
    )
}

impl Manager for Systemd {
    fn create(&self) -> Result<()> {
        let pid = self.fork_placeholder()?;
        self.placeholder.set(Some(pid));
        if let Err(e) = self.start(pid) {
            self.release_placeholder();
            return Err(e);
        }
        // The levels systemd does not make (v1 hierarchies it does not
        // manage) and the controllers it does not delegate (hugetlb, rdma
        // and misc on v2), as runc's drivers add them.
        if let Err(e) = self.inner.create() {
            let _ = self.destroy();
            return Err(e);
        }
        Ok(())
    }

    fn join(&self, pid: i32) -> Result<()> {
        self.inner.join(pid)
    }

    fn join_sub(&self, pid: i32, subs: &[(Option<String>, PathBuf)]) -> Result<()> {
        self.inner.join_sub(pid, subs)
    }

    fn before_clone(&self) -> Result<Option<OwnedFd>> {
        self.inner.before_clone()
    }

    fn after_clone(&self) -> Result<()> {
        let left = self.inner.after_clone();
        self.release_placeholder();
        left
    }

    fn for_child(&self) -> Result<ForChild> {
        self.inner.for_child()
    }

    fn apply(&self, resources: &LinuxResources) -> Result<()> {
        let (props, quota) = properties::resources(resources, self.unified, self.version())?;
        self.set_properties(&props)?;
        match quota {
            // The files get the quota systemd rounded, so the two agree.
            Some(q) => {
                let mut r = resources.clone();
                if let Some(mut cpu) = r.cpu().clone() {
                    cpu.set_quota(Some(q));
                    r.set_cpu(Some(cpu));
                }
                self.inner.apply(&r)
            }
            None => self.inner.apply(resources),
        }
    }

    fn set_devices(&self, config: &[LinuxDeviceCgroup], nodes: &[DeviceNode]) -> Result<()> {
        self.set_properties(&properties::devices(&device_rules(config, nodes)?))?;
        self.inner.set_devices(config, nodes)
    }

    fn procs(&self) -> Result<Vec<i32>> {
        self.inner.procs()
    }

    fn freeze(&self, frozen: bool) -> Result<()> {
        self.inner.freeze(frozen)
    }

    fn frozen(&self) -> Option<bool> {
        self.inner.frozen()
    }

    fn stats(&self) -> stats::Stats {
        self.inner.stats()
    }

    fn oom_kills(&self) -> u64 {
        self.inner.oom_kills()
    }

    /// Stops the unit and has systemd forget it if it failed (a scope whose
    /// processes are gone is usually gone already), then removes what
    /// systemd did not make.
    fn destroy(&self) -> Result<()> {
        self.release_placeholder();
        let name = Value::Str(self.unit.name.clone());
        let stopped = self.bus().and_then(|mut bus| {
            match bus.manager("StopUnit", vec![name.clone(), Value::Str("replace".into())]) {
                Ok(reply) => {
                    let job = reply.first().and_then(Value::as_str).unwrap_or_default();
                    bus.wait_job(job).map(drop)
                }
                Err(Error::SystemdRefused { name, .. }) if name.ends_with(".NoSuchUnit") => Ok(()),
                Err(e) => Err(e),
            }
        });
        let _ = self.reset_failed();
        let removed = self.inner.destroy();
        stopped.and(removed)
    }

    fn placement(&self) -> Placement {
        let mut p = self.inner.placement();
        p.systemd = Some(self.unit.clone());
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_expand_as_systemd_nests_them() {
        assert_eq!(expand_slice("system.slice").unwrap(), "/system.slice");
        assert_eq!(
            expand_slice("a-b-c.slice").unwrap(),
            "/a.slice/a-b.slice/a-b-c.slice"
        );
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        for bad in [
            "system",
            ".slice",
            "a--b.slice",
            "-a.slice",
            "a/b.slice",
            "a-.slice",
        ] {
            assert!(expand_slice(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cgroups_paths_read_as_runc_reads_them() {
        let (u, slice, d) = parse_path("system.slice:docker:abc", "id", false).unwrap();
        assert_eq!(
            (u.name.as_str(), slice.as_str()),
            ("docker-abc.scope", "system.slice")
        );
        assert_eq!(d, "libcontainer container abc");
        let (u, slice, _) = parse_path("", "id", false).unwrap();
        assert_eq!(
            (u.name.as_str(), slice.as_str()),
            ("corten-id.scope", "system.slice")
        );
        let (_, slice, _) = parse_path("", "id", true).unwrap();
        assert_eq!(slice, "user.slice");
        let (u, slice, _) = parse_path(":libpod:x", "id", true).unwrap();
        assert_eq!(
            (u.name.as_str(), slice.as_str()),
            ("libpod-x.scope", "user.slice")
        );
        let (u, _, _) = parse_path("machine.slice::pod-a.slice", "id", false).unwrap();
        assert_eq!(u.name, "pod-a.slice");
        let e = parse_path("/sys/fs/cgroup/x", "id", false).unwrap_err();
        assert!(
            e.to_string()
                .contains("expected cgroupsPath to be of format \"slice:prefix:name\""),
            "{e}"
        );
        assert!(parse_path("bad:p:n", "id", false).is_err());
        assert!(parse_path("system.slice:p:", "id", false).is_err());
    }
}
