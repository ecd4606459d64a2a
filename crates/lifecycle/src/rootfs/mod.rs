//! The container's root filesystem: propagation, the rootfs bind, every
//! configured mount, /dev, and the switch into it with pivot_root.
//!
//! Every path inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT)
//! against a descriptor of the rootfs, so a symlink planted in the rootfs
//! cannot redirect a mount onto the host (CVE-2021-30465). Before
//! pivot_root a target is named through the runtime's (the host's)
//! /proc/self/fd; binds, and every mount after pivot_root, are made
//! detached and attached to the target's descriptor (move_mount), since the
//! container's /proc is the container's to shape.

mod cgroupfs;
mod copyup;
mod devices;
pub mod host;
pub(crate) mod idmap;
mod mounts;
mod nopivot;
mod paths;
mod resolve;
pub mod sources;

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::Spec;

use crate::error::{Context, Error};
use crate::spawn::namespaces::Plan;
use crate::spec::Bundle;

pub use mounts::MountOptions;
pub use paths::{open_following_in_container, open_in_container};

/// The rootfs, bound onto itself and ready to become `/`.
pub struct Root {
    fd: OwnedFd,
    /// In the runtime's own mount namespace: no pivot_root, which would
    /// move the host's root (see [`enter`]).
    host_mounts: bool,
}

/// Sets the hostname and domain name of the (new) UTS namespace.
pub fn set_names(spec: &Spec) -> Result<(), Error> {
    if let Some(h) = spec.hostname() {
        sys::ns::sethostname(h).with_context(|| format!("setting hostname {h:?}"))?;
    }
    if let Some(d) = spec.domainname() {
        sys::ns::setdomainname(d).with_context(|| format!("setting domainname {d:?}"))?;
    }
    Ok(())
}

/// Everything before pivot_root.
/// `runtime_sources` asks the runtime for the bind sources it clones
/// (see [`sources`]), by mount index, when it is the one to open them.
pub fn prepare(
    bundle: &Bundle,
    plan: &Plan,
    idmap_userns: &[Option<OwnedFd>],
    unprivileged: bool,
    runtime_sources: &dyn Fn() -> Result<Vec<Option<OwnedFd>>, Error>,
) -> Result<Root, Error> {
    // An unprivileged runtime (rootless podman runs it as root of a user
    // namespace) may not mknod either.
    let in_userns = plan.new_user()
        || plan.joins.iter().any(|(f, _, _)| *f == libc::CLONE_NEWUSER)
        || unprivileged;
    let in_cgroupns = plan.new & libc::CLONE_NEWCGROUP != 0
        || plan
            .joins
            .iter()
            .any(|(f, _, _)| *f == libc::CLONE_NEWCGROUP);
    let spec = &bundle.spec;
    // Every mount goes through /proc/self/fd: in a joined mount namespace
    // whose /proc belongs to another pid namespace, the init is not there.
    if !Path::new("/proc/self/fd").is_dir() {
        return Err(Error::Config(
            "the mount namespace's /proc does not show the container init (it belongs to another pid namespace): corten mounts through /proc/self/fd".into(),
        ));
    }
    let host_mounts = plan.host_mounts();
    if !host_mounts {
        let prop = root_propagation(spec)?;
        match prop {
            // rootfsPropagation shared asks for mounts to reach the host
            // (Kubernetes' Bidirectional volumes): / as asked, as runc does,
            // and only the rootfs's own mount is cut off, so the binds of
            // shared host volumes stay peers of the host's.
            Some(flag) if flag & libc::MS_SHARED != 0 => {
                sys::mount::mount(None, Path::new("/"), None, flag, None)
                    .context("setting rootfsPropagation on /")?;
                let parent = host::mount_point_of(&bundle.rootfs)?;
                sys::mount::mount(None, &parent, None, libc::MS_PRIVATE, None)
                    .with_context(|| format!("making {} private", parent.display()))?;
            }
            // Otherwise our mount changes must never reach the host: every
            // mount in this namespace a slave (or private) first.
            _ => {
                let first = match prop {
                    Some(f) if f & libc::MS_PRIVATE != 0 => libc::MS_PRIVATE,
                    _ => libc::MS_SLAVE,
                };
                sys::mount::mount(None, Path::new("/"), None, first | libc::MS_REC, None)
                    .context("making / a slave mount")?;
            }
        }
    }
    // After the propagation change: the copies are slaves (or peers) as
    // the mounts they copy now are.
    let sources = if sources::opened_by_runtime(spec, plan, unprivileged) {
        runtime_sources()?
    } else {
        Vec::new()
    };
    // pivot_root needs the new root to be a mount point. Sharing the host's
    // mount namespace, it is also the one mount that holds every other one
    // the container makes (delete detaches it, and with it them all), and
    // what a read-only root remounts instead of the host's filesystem.
    sys::mount::mount(
        Some(&bundle.rootfs),
        &bundle.rootfs,
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .context("binding the rootfs onto itself")?;
    if host_mounts {
        // The host's / must not change; its peers must not see our mounts.
        make_private(&bundle.rootfs).context("making the rootfs private")?;
    }
    let fd = sys::fs::openat(None, &bundle.rootfs, libc::O_PATH | libc::O_DIRECTORY, 0)
        .context("opening the rootfs")?;
    let ctx = mounts::Ctx {
        root: fd.as_fd(),
        bundle: &bundle.dir,
        in_userns,
        in_cgroupns,
        idmap_userns,
        sources: &sources,
    };
    let list = spec.mounts().as_deref().unwrap_or_default();
    for (i, m) in list.iter().enumerate() {
        mounts::mount_one(&ctx, i, m)
            .with_context(|| format!("mounting {}", m.destination().display()))?;
    }
    if host_mounts {
        // A bind of a shared host mount joined that mount's peer group:
        // cut it off, so that nothing the container mounts reaches the
        // host's view of the source.
        make_private(&bundle.rootfs).context("making the container's mounts private")?;
    }
    if !list
        .iter()
        .any(|m| m.destination() == Path::new("/dev") && mounts::is_bind(m))
    {
        devices::populate(fd.as_fd(), spec, in_userns).context("populating /dev")?;
    }
    if let Some(p) = spec.process() {
        // The cwd is made here, as root; it is entered after the user switch.
        resolve::mkdir_all(fd.as_fd(), p.cwd(), 0o755)
            .with_context(|| format!("creating cwd {}", p.cwd().display()))?;
    }
    Ok(Root { fd, host_mounts })
}

/// Makes `path` and every mount below it private.
fn make_private(path: &Path) -> sys::Result<()> {
    sys::mount::mount(None, path, None, libc::MS_PRIVATE | libc::MS_REC, None)
}

/// What `--no-pivot` needs to find the host's mounts it must not leave.
pub struct NoPivot<'a> {
    /// The runtime's own procfs, for the mount table.
    pub proc: &'a sys::procfs::ProcFs,
    /// The rootfs as the host names it.
    pub rootfs: &'a Path,
}

/// Makes the rootfs `/`: pivot_root(".", ".") from a descriptor, or with
/// `--no-pivot` a move mount and chroot (for initramfs hosts), the host's
/// procfs and sysfs mounts detached first (see [`nopivot`]). In the
/// host's mount namespace, chroot alone: pivot_root or a move to / there
/// would change the root of every process on the host.
pub fn enter(root: Root, no_pivot: Option<NoPivot<'_>>) -> Result<(), Error> {
    sys::fs::fchdir(root.fd.as_fd()).context("entering the rootfs")?;
    let here = Path::new(".");
    if root.host_mounts {
        sys::fs::chroot(here).context("chroot into the rootfs")?;
    } else if let Some(n) = no_pivot {
        nopivot::hide_host_procfs(n.proc, n.rootfs)?;
        sys::mount::mount(Some(here), Path::new("/"), None, libc::MS_MOVE, None)
            .context("moving the rootfs to /")?;
        sys::fs::chroot(here).context("chroot into the rootfs")?;
    } else {
        let old_root = sys::fs::openat(None, Path::new("/"), libc::O_PATH | libc::O_DIRECTORY, 0)
            .context("opening the old root")?;
        // The old root ends up stacked on ".", so unmounting "." drops it.
        sys::mount::pivot_root(here, here).context("pivot_root")?;
        // "." is still the new root's directory for mount(2): the old root
        // is named by its own descriptor, or the slave change below would
        // cut the container's shared volumes (rshared) from the host.
        sys::fs::fchdir(old_root.as_fd()).context("entering the old root")?;
        // A slave first: the lazy unmount must not propagate to the host.
        sys::mount::mount(None, here, None, libc::MS_SLAVE | libc::MS_REC, None)
            .context("making the old root a slave")?;
        sys::mount::umount(here, libc::MNT_DETACH).context("unmounting the old root")?;
    }
    sys::fs::chdir(Path::new("/")).context("chdir to the new root")
}

/// Everything after pivot_root: masked and read-only paths, a read-only
/// root, the root's propagation.
pub fn finish(spec: &Spec) -> Result<(), Error> {
    let linux = spec.linux().as_ref();
    let mut paths = paths::Paths::open().context("opening the container's root")?;
    // Read-only paths first and the masks over them, as runc: where a path
    // is in both lists (or a mask lies below a read-only path) the mask is
    // on top, and the mount table reads in runc's order.
    for p in linux
        .and_then(|l| l.readonly_paths().as_ref())
        .into_iter()
        .flatten()
    {
        paths
            .make_readonly(Path::new(p))
            .with_context(|| format!("making {p} read-only"))?;
    }
    for p in linux
        .and_then(|l| l.masked_paths().as_ref())
        .into_iter()
        .flatten()
    {
        paths
            .mask(Path::new(p))
            .with_context(|| format!("masking {p}"))?;
    }
    if spec
        .mounts()
        .iter()
        .flatten()
        .any(|m| mounts::dev_made_readonly_last(&resolve::normalize(m.destination()), m))
    {
        paths
            .mount_readonly(Path::new("/dev"))
            .context("making /dev read-only")?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        paths.root_readonly().context("making / read-only")?;
    }
    if let Some(flag) = root_propagation(spec)? {
        sys::mount::mount(None, Path::new("/"), None, flag, None)
            .context("setting rootfsPropagation")?;
    }
    Ok(())
}

/// `linux.rootfsPropagation` as mount flags.
fn root_propagation(spec: &Spec) -> Result<Option<libc::c_ulong>, Error> {
    let Some(p) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
    else {
        return Ok(None);
    };
    if p.is_empty() {
        return Ok(None);
    }
    match mounts::propagation_flag(p) {
        Some(flag) => Ok(Some(flag)),
        None => Err(Error::Config(format!("unknown rootfsPropagation {p:?}"))),
    }
}
