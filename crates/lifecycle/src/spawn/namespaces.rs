//! Which namespaces the init creates and which it joins, and how many stages
//! that takes.

use std::os::fd::{AsFd, OwnedFd};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Context, Error};

/// The clone flag of a namespace type.
pub fn clone_flag(t: LinuxNamespaceType) -> libc::c_int {
    match t {
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Time => libc::CLONE_NEWTIME,
    }
}

/// How the init gets its namespaces.
#[derive(Debug, Default)]
pub struct Plan {
    /// Namespaces to create (CLONE_NEW* flags).
    pub new: libc::c_int,
    /// Namespaces to join, opened by the runtime before the clone so that a
    /// bad path is reported before anything starts. The user namespace, if
    /// any, comes first: joining it grants the rights to join the others.
    pub joins: Vec<(libc::c_int, OwnedFd, String)>,
}

impl Plan {
    /// Reads `linux.namespaces`.
    pub fn from_spec(spec: &Spec) -> Result<Plan, Error> {
        let mut plan = Plan::default();
        let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
        for ns in namespaces.into_iter().flatten() {
            let flag = clone_flag(ns.typ());
            match ns.path() {
                None => plan.new |= flag,
                Some(path) => {
                    let fd = sys::fs::openat(None, path, libc::O_RDONLY, 0)
                        .with_context(|| format!("{} namespace path", ns.typ()))?;
                    plan.joins.push((flag, fd, path.display().to_string()));
                }
            }
        }
        plan.joins
            .sort_by_key(|(flag, _, _)| *flag != libc::CLONE_NEWUSER);
        // The container joins a mount namespace given by path, as the spec
        // says, and its rootfs setup (pivot_root included) happens there:
        // that is what sharing one means. The runtime's own namespace is
        // refused: the host's root would be pivoted.
        if let Some((_, fd, path)) = plan.joins.iter().find(|(f, _, _)| *f == libc::CLONE_NEWNS) {
            let own = sys::fs::openat(
                None,
                std::path::Path::new("/proc/self/ns/mnt"),
                libc::O_RDONLY,
                0,
            )
            .context("opening the runtime's mount namespace")?;
            let same = |a: &OwnedFd, b: &OwnedFd| {
                let (a, b) = (sys::fs::fstat(a.as_fd()), sys::fs::fstat(b.as_fd()));
                matches!((a, b), (Ok(a), Ok(b)) if a.st_ino == b.st_ino && a.st_dev == b.st_dev)
            };
            if same(fd, &own) {
                return Err(Error::Config(format!(
                    "mount namespace {path} is the runtime's own: corten never changes the host's mounts"
                )));
            }
        }
        Ok(plan)
    }

    /// Whether the init stays in the runtime's mount namespace (the config
    /// has no mount namespace).
    pub fn host_mounts(&self) -> bool {
        self.new & libc::CLONE_NEWNS == 0
            && !self.joins.iter().any(|(f, _, _)| *f == libc::CLONE_NEWNS)
    }

    /// Whether the init needs a new user namespace (and so id maps).
    pub fn new_user(&self) -> bool {
        self.new & libc::CLONE_NEWUSER != 0
    }

    /// Whether the init needs a new time namespace (and so offsets).
    pub fn new_time(&self) -> bool {
        self.new & libc::CLONE_NEWTIME != 0
    }

    /// One clone with every flag is enough unless namespaces must be joined
    /// first (setns before unshare) or a time namespace needs its offsets
    /// written before any process enters it.
    pub fn single_stage(&self) -> bool {
        self.joins.is_empty() && !self.new_time()
    }

    /// Namespaces the init creates itself once it is root of its new user
    /// namespace rather than in the clone. An IPC namespace makes its mqueue
    /// filesystem as it is created, its root owned by the creator's fsuid:
    /// made by the clone, under the runtime's (host) ids that the user
    /// namespace does not map, /dev/mqueue would belong to 65534. runc's
    /// nsexec, too, unshares it after setresuid(0) in the user namespace.
    pub fn after_becoming_root(&self) -> libc::c_int {
        if self.new_user() {
            self.new & libc::CLONE_NEWIPC
        } else {
            0
        }
    }

    /// The namespaces the init's clone3 creates.
    pub fn clone_flags(&self) -> libc::c_int {
        if self.single_stage() {
            self.new & !self.after_becoming_root()
        } else {
            0
        }
    }

    /// After joins and unshares, the init must be a child of stage 1 when it
    /// is to live in a pid or time namespace stage 1 only arranged for its
    /// children (unshare(CLONE_NEWPID), setns(pid), unshare(CLONE_NEWTIME)).
    pub fn needs_second_stage(&self) -> bool {
        self.new & (libc::CLONE_NEWPID | libc::CLONE_NEWTIME) != 0
            || self.joins.iter().any(|(f, _, _)| *f == libc::CLONE_NEWPID)
    }
}
