//! A mount of type "cgroup": the container's view of the cgroup hierarchies.
//!
//! On a cgroup2-only host that is one cgroup2 mount. On v1 and hybrid hosts
//! (v1 controllers plus cgroup2 at /sys/fs/cgroup/unified, as here) it is a
//! tmpfs holding one mount per v1 hierarchy: a fresh instance inside a
//! cgroup namespace (which shows the namespace's root), or else a bind of
//! the container's own cgroup directory, as runc does.
//!
//! A hybrid host's cgroup2 hierarchy is not shown, as no runc shows it
//! (runc lists the hierarchies to mount by fstype "cgroup" only, from 1.1
//! to 1.4): a container's software sees the legacy layout it sees under
//! runc, and systemd in it runs in legacy mode there as well.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use sys::mount::mount;

use super::mounts::{remount, MountOptions};
use super::resolve;
use crate::error::{Context, Error};

/// Mounts the cgroup view at `dest`.
pub fn mount_hierarchies(
    root: BorrowedFd<'_>,
    dest: &Path,
    opts: &MountOptions,
    fstype: &str,
    in_cgroupns: bool,
) -> Result<(), Error> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").context("reading mountinfo")?;
    let hierarchies = cgroups::mountinfo::hierarchies(&mountinfo);
    let own_cgroups =
        std::fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
    let flags = opts.flags & !(libc::MS_REMOUNT | libc::MS_BIND | libc::MS_REC);
    let target = resolve::mkdir_all(root, dest, 0o755).context("creating mount target")?;
    super::mounts::check_target_not_in_procfs(target.as_fd(), dest, fstype)?;
    let unified_only = fstype == "cgroup2"
        || hierarchies.iter().all(|h| h.fstype == "cgroup2")
            && hierarchies
                .iter()
                .any(|h| h.mount_point == Path::new("/sys/fs/cgroup"));
    if unified_only {
        let at = sys::fs::proc_fd_path(target.as_fd());
        return match mount(
            Some(Path::new("cgroup2")),
            &at,
            Some("cgroup2"),
            flags,
            None,
        ) {
            // A user namespace mounts cgroup2 only in a cgroup namespace it
            // owns (EPERM) and not where its cgroup is not delegated to it
            // (EBUSY: rootless without a cgroup): the host's view is bound
            // instead, as runc does there.
            Err(e) if matches!(e.errno(), libc::EPERM | libc::EBUSY) => {
                bind_unified(root, dest, &hierarchies, flags)
            }
            other => other.context("mounting cgroup2"),
        };
    }
    // The tmpfs stays writable until the hierarchies' directories exist.
    mount(
        Some(Path::new("tmpfs")),
        &sys::fs::proc_fd_path(target.as_fd()),
        Some("tmpfs"),
        flags & !libc::MS_RDONLY,
        Some("mode=755"),
    )
    .context("mounting tmpfs for cgroups")?;
    // The tmpfs is new and no container process has run yet: its mount
    // points are made and opened relative to it, with no resolution.
    let tmpfs = resolve::open(root, dest).context("opening cgroup tmpfs")?;
    let open_point = |name: &Path| {
        let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        sys::fs::openat(Some(tmpfs.as_fd()), name, flags, 0).context("opening cgroup mount point")
    };
    for h in hierarchies
        .iter()
        .filter(|h| h.fstype == "cgroup" && h.mount_point.starts_with("/sys/fs/cgroup"))
    {
        let Some(name) = h.mount_point.file_name() else {
            continue;
        };
        let name = Path::new(name);
        match sys::fs::mkdirat(tmpfs.as_fd(), name, 0o755) {
            Err(e) if e.errno() != libc::EEXIST => {
                return Err(e).context("creating cgroup mount point")
            }
            _ => {}
        }
        let fd = open_point(name)?;
        let at = sys::fs::proc_fd_path(fd.as_fd());
        if in_cgroupns {
            // runc's source: "systemd" for the name=systemd hierarchy.
            let source = if h.controllers().any(|c| c == "name=systemd") {
                "systemd"
            } else {
                "cgroup"
            };
            mount(
                Some(Path::new(source)),
                &at,
                Some("cgroup"),
                flags,
                Some(h.options.as_str()),
            )
            .with_context(|| format!("mounting cgroup hierarchy {}", name.display()))?;
        } else {
            let own = cgroups::mountinfo::path_in(&own_cgroups, h);
            let source = h.mount_point.join(own.strip_prefix("/").unwrap_or(&own));
            mount(Some(&source), &at, None, libc::MS_BIND | libc::MS_REC, None)
                .with_context(|| format!("binding cgroup {}", source.display()))?;
            // The bind, now on top of the mount point.
            let mounted = open_point(name)?;
            remount(mounted.as_fd(), flags).context("remounting cgroup bind")?;
        }
        // Co-mounted controllers (cpu,cpuacct) get a link per controller.
        let name = name.to_string_lossy();
        if name.contains(',') {
            for part in name.split(',') {
                match sys::fs::symlinkat(Path::new(name.as_ref()), tmpfs.as_fd(), Path::new(part)) {
                    Err(e) if e.errno() != libc::EEXIST => {
                        return Err(e).context("linking controller")
                    }
                    _ => {}
                }
            }
        }
    }
    // runc leaves this tmpfs writable whatever the config says (since
    // 1.0.0-rc91, which dropped its read-only remount as "useless"); the
    // config's `ro` is kept here (SPEC-COVERAGE.md, differences from runc).
    if flags & libc::MS_RDONLY != 0 {
        mount(
            None,
            &sys::fs::proc_fd_path(tmpfs.as_fd()),
            None,
            libc::MS_REMOUNT | flags,
            Some("mode=755"),
        )
        .context("making the cgroup tmpfs read-only")?;
    }
    Ok(())
}

/// The host's cgroup2 hierarchy bound at `dest` (recursively, with the
/// mount's flags), where a cgroup2 mount of the container's own is refused.
fn bind_unified(
    root: BorrowedFd<'_>,
    dest: &Path,
    hierarchies: &[cgroups::mountinfo::Hierarchy],
    flags: libc::c_ulong,
) -> Result<(), Error> {
    let Some(unified) = hierarchies.iter().find(|h| h.fstype == "cgroup2") else {
        return Err(Error::Config(
            "mounting cgroup2: refused, and the host has no cgroup2 hierarchy to bind".into(),
        ));
    };
    let target = resolve::open(root, dest).context("opening the cgroup mount point")?;
    mount(
        Some(&unified.mount_point),
        &sys::fs::proc_fd_path(target.as_fd()),
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .context("binding the host's cgroup2 hierarchy")?;
    // The bind, now on top of the mount point.
    let mounted = resolve::open(root, dest).context("opening the cgroup bind")?;
    remount(mounted.as_fd(), flags).context("remounting the cgroup2 bind")
}
