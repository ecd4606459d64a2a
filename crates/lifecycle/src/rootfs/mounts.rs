//! One configured mount: options parsed as mount(8) and runc do, the target
//! made and resolved inside the rootfs, the mount done through /proc/self/fd.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;
use sys::mount::{self as m, MountAttr};

use super::{cgroupfs, resolve};
use crate::error::{Context, Error};

/// What a mount needs to know about its surroundings.
pub struct Ctx<'a> {
    pub root: BorrowedFd<'a>,
    pub bundle: &'a Path,
    pub in_userns: bool,
    /// The init has a cgroup namespace of its own (new or joined).
    pub in_cgroupns: bool,
    /// The user namespace of each idmapped mount, by mount index (made by
    /// the runtime, see rootfs::idmap::prepare).
    pub idmap_userns: &'a [Option<std::os::fd::OwnedFd>],
    /// Bind sources the runtime cloned (idmapped where asked), by mount
    /// index, for a user-namespaced container (see rootfs::sources).
    pub sources: &'a [Option<std::os::fd::OwnedFd>],
}

/// Parsed `options` of a mount.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// MS_* flags to pass to mount(2).
    pub flags: libc::c_ulong,
    /// Propagation changes to apply after the mount, in order.
    pub propagation: Vec<libc::c_ulong>,
    /// Recursive attributes (rro, rnosuid, ...) for mount_setattr.
    pub recursive: MountAttr,
    /// Filesystem-specific options, comma-joined.
    pub data: String,
    /// tmpcopyup: fill a new tmpfs with what it hides.
    pub copyup: bool,
    /// idmap (Some(false)) or ridmap (Some(true)).
    pub idmap: Option<bool>,
}

/// Flag options: (name, set?, flag).
const FLAGS: &[(&str, bool, libc::c_ulong)] = &[
    ("defaults", true, 0),
    ("ro", true, libc::MS_RDONLY),
    ("rw", false, libc::MS_RDONLY),
    ("suid", false, libc::MS_NOSUID),
    ("nosuid", true, libc::MS_NOSUID),
    ("dev", false, libc::MS_NODEV),
    ("nodev", true, libc::MS_NODEV),
    ("exec", false, libc::MS_NOEXEC),
    ("noexec", true, libc::MS_NOEXEC),
    ("sync", true, libc::MS_SYNCHRONOUS),
    ("async", false, libc::MS_SYNCHRONOUS),
    ("dirsync", true, libc::MS_DIRSYNC),
    ("remount", true, libc::MS_REMOUNT),
    ("mand", true, libc::MS_MANDLOCK),
    ("nomand", false, libc::MS_MANDLOCK),
    ("atime", false, libc::MS_NOATIME),
    ("noatime", true, libc::MS_NOATIME),
    ("diratime", false, libc::MS_NODIRATIME),
    ("nodiratime", true, libc::MS_NODIRATIME),
    ("bind", true, libc::MS_BIND),
    ("rbind", true, libc::MS_BIND | libc::MS_REC),
    ("relatime", true, libc::MS_RELATIME),
    ("norelatime", false, libc::MS_RELATIME),
    ("strictatime", true, libc::MS_STRICTATIME),
    ("nostrictatime", false, libc::MS_STRICTATIME),
    ("lazytime", true, libc::MS_LAZYTIME),
    ("nolazytime", false, libc::MS_LAZYTIME),
    ("silent", true, libc::MS_SILENT),
    ("loud", false, libc::MS_SILENT),
    ("nosymfollow", true, MS_NOSYMFOLLOW),
    ("symfollow", false, MS_NOSYMFOLLOW),
];

/// MS_NOSYMFOLLOW (Linux 5.10), missing from libc's list.
const MS_NOSYMFOLLOW: libc::c_ulong = 256;

/// Recursive options (mount_setattr): (name, set?, attribute).
const RECURSIVE: &[(&str, bool, u64)] = &[
    ("rro", true, m::MOUNT_ATTR_RDONLY),
    ("rrw", false, m::MOUNT_ATTR_RDONLY),
    ("rnosuid", true, m::MOUNT_ATTR_NOSUID),
    ("rsuid", false, m::MOUNT_ATTR_NOSUID),
    ("rnodev", true, m::MOUNT_ATTR_NODEV),
    ("rdev", false, m::MOUNT_ATTR_NODEV),
    ("rnoexec", true, m::MOUNT_ATTR_NOEXEC),
    ("rexec", false, m::MOUNT_ATTR_NOEXEC),
    ("rnodiratime", true, m::MOUNT_ATTR_NODIRATIME),
    ("rdiratime", false, m::MOUNT_ATTR_NODIRATIME),
    ("rnosymfollow", true, m::MOUNT_ATTR_NOSYMFOLLOW),
    ("rsymfollow", false, m::MOUNT_ATTR_NOSYMFOLLOW),
];

/// Recursive atime options, which replace the whole atime field.
const RECURSIVE_ATIME: &[(&str, u64)] = &[
    ("rnoatime", m::MOUNT_ATTR_NOATIME),
    ("ratime", m::MOUNT_ATTR_RELATIME),
    ("rrelatime", m::MOUNT_ATTR_RELATIME),
    ("rstrictatime", m::MOUNT_ATTR_STRICTATIME),
];

/// A propagation option as mount flags.
pub fn propagation_flag(name: &str) -> Option<libc::c_ulong> {
    Some(match name {
        "private" => libc::MS_PRIVATE,
        "rprivate" => libc::MS_PRIVATE | libc::MS_REC,
        "shared" => libc::MS_SHARED,
        "rshared" => libc::MS_SHARED | libc::MS_REC,
        "slave" => libc::MS_SLAVE,
        "rslave" => libc::MS_SLAVE | libc::MS_REC,
        "unbindable" => libc::MS_UNBINDABLE,
        "runbindable" => libc::MS_UNBINDABLE | libc::MS_REC,
        _ => return None,
    })
}

impl MountOptions {
    /// Parses a mount's options.
    pub fn parse(options: &[String]) -> Result<MountOptions, Error> {
        let mut out = MountOptions::default();
        let mut data = Vec::new();
        for opt in options {
            let opt = opt.as_str();
            // The kernel reads an option up to its first NUL: "ro\0x" would
            // be neither "ro" nor refused, and a bind would stay writable.
            if opt.contains('\0') {
                return Err(Error::Config(format!(
                    "mount option {opt:?} contains a NUL byte"
                )));
            }
            if let Some(&(_, set, flag)) = FLAGS.iter().find(|(n, _, _)| *n == opt) {
                if set {
                    out.flags |= flag;
                } else {
                    out.flags &= !flag;
                }
            } else if let Some(flag) = propagation_flag(opt) {
                out.propagation.push(flag);
            } else if let Some(&(_, set, attr)) = RECURSIVE.iter().find(|(n, _, _)| *n == opt) {
                if set {
                    out.recursive.attr_set |= attr;
                    out.recursive.attr_clr &= !attr;
                } else {
                    out.recursive.attr_clr |= attr;
                    out.recursive.attr_set &= !attr;
                }
            } else if let Some(&(_, attr)) = RECURSIVE_ATIME.iter().find(|(n, _)| *n == opt) {
                out.recursive.attr_clr |= m::MOUNT_ATTR__ATIME;
                out.recursive.attr_set = (out.recursive.attr_set & !m::MOUNT_ATTR__ATIME) | attr;
            } else if opt == "rnorelatime" {
                // runc clears MOUNT_ATTR_RELATIME, which is 0: the atime
                // mode stays (relatime), where strictatime was made here.
            } else if opt == "tmpcopyup" {
                out.copyup = true;
            } else if opt == "idmap" || opt == "ridmap" {
                out.idmap = Some(opt == "ridmap");
            } else if opt.starts_with("x-") || opt.starts_with("X-") {
                // mount(8)'s userspace-only options: never for the kernel.
            } else {
                data.push(opt);
            }
        }
        out.data = data.join(",");
        Ok(out)
    }

    fn has_recursive(&self) -> bool {
        self.recursive != MountAttr::default()
    }
}

/// Whether a mount is a bind mount.
pub fn is_bind(mount: &Mount) -> bool {
    mount.typ().as_deref() == Some("bind")
        || mount
            .options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
}

/// The only files under /proc a mount may cover: the ones lxcfs emulates
/// (runc's list). A mount anywhere else in /proc could hide what the
/// runtime masks or make read-only, or redirect the runtime's own /proc
/// paths (CVE-2019-16884, CVE-2019-19921).
const PROC_MOUNTS_ALLOWED: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// runc's rule for destinations inside /proc, on the config's path: /proc
/// itself takes a procfs (new, or a bind of one), below it only the
/// allowed files.
fn check_proc_destination(
    dest: &Path,
    mount: &Mount,
    fstype: &str,
    bundle: &Path,
) -> Result<(), Error> {
    if dest == Path::new("/proc") {
        // A bind source is relative to the bundle, as bind() takes it.
        let procfs_bind = is_bind(mount)
            && mount.source().as_ref().is_some_and(|s| {
                sys::fs::openat(None, &bundle.join(s), libc::O_PATH, 0)
                    .and_then(|fd| sys::procfs::is_procfs(fd.as_fd()))
                    .unwrap_or(false)
            });
        if fstype == "proc" || procfs_bind {
            return Ok(());
        }
        return Err(Error::Config(format!(
            "{:?} cannot be mounted because it is not of type proc",
            dest.display().to_string()
        )));
    }
    if dest.starts_with("/proc") && !PROC_MOUNTS_ALLOWED.iter().any(|p| dest == Path::new(p)) {
        return Err(Error::Config(format!(
            "{:?} cannot be mounted because it is inside /proc",
            dest.display().to_string()
        )));
    }
    Ok(())
}

/// The same rule on where the target really is: a procfs reached through
/// a symlink (an image's /proc pointing at a volume's directory) is /proc
/// all the same.
pub(super) fn check_target_not_in_procfs(
    target: BorrowedFd<'_>,
    dest: &Path,
    fstype: &str,
) -> Result<(), Error> {
    if fstype == "proc" && dest == Path::new("/proc")
        || PROC_MOUNTS_ALLOWED.iter().any(|p| dest == Path::new(p))
    {
        return Ok(());
    }
    if sys::procfs::is_procfs(target).context("checking the mount target")? {
        return Err(Error::Config(format!(
            "{:?} cannot be mounted because it resolves to a file inside a procfs",
            dest.display().to_string()
        )));
    }
    Ok(())
}

/// A procfs or sysfs goes on a real directory of the rootfs: reached
/// through a symlink, the runtime's later paths into it would follow the
/// image's choice of where /proc is (CVE-2019-19921; runc's message, where
/// runc checks the last component only).
fn check_no_symlink(root: BorrowedFd<'_>, dest: &Path, fstype: &str) -> Result<(), Error> {
    if fstype != "proc" && fstype != "sysfs" {
        return Ok(());
    }
    match sys::fs::openat2(
        Some(root),
        dest,
        libc::O_PATH,
        0,
        libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_SYMLINKS,
    ) {
        Err(e) if e.errno() == libc::ELOOP => Err(Error::Config(format!(
            "filesystem {fstype:?} must be mounted on ordinary directory ({} goes through a symlink in the rootfs)",
            dest.display()
        ))),
        _ => Ok(()),
    }
}

/// Performs mount number `index` of the config.
pub fn mount_one(ctx: &Ctx<'_>, index: usize, mount: &Mount) -> Result<(), Error> {
    let opts = MountOptions::parse(mount.options().as_deref().unwrap_or_default())?;
    let dest = resolve::normalize(mount.destination());
    let fstype = mount.typ().as_deref().unwrap_or("none");
    check_proc_destination(&dest, mount, fstype, ctx.bundle)?;
    check_no_symlink(ctx.root, &dest, fstype)?;
    if is_bind(mount) {
        if let Some(tree) = ctx.sources.get(index).and_then(Option::as_ref) {
            return attach_bind(ctx, tree.as_fd(), &dest, &opts);
        }
        let userns = ctx.idmap_userns.get(index).and_then(|u| u.as_ref());
        bind(ctx, mount, &dest, &opts, userns)
    } else if fstype == "cgroup" || fstype == "cgroup2" {
        cgroupfs::mount_hierarchies(ctx.root, &dest, &opts, fstype, ctx.in_cgroupns)?;
        if opts.propagation.is_empty() && !opts.has_recursive() {
            return Ok(());
        }
        let mounted = resolve::open(ctx.root, &dest).context("opening mount")?;
        apply_after(mounted.as_fd(), &opts)
    } else {
        new_fs(ctx, mount, &dest, &opts, fstype)
    }
}

/// A mount of a filesystem (not a bind): tmpfs, proc, sysfs, mqueue...
fn new_fs(
    ctx: &Ctx<'_>,
    mount: &Mount,
    dest: &Path,
    opts: &MountOptions,
    fstype: &str,
) -> Result<(), Error> {
    let target = resolve::mkdir_all(ctx.root, dest, 0o755).context("creating mount target")?;
    check_target_not_in_procfs(target.as_fd(), dest, fstype)?;
    let src = mount
        .source()
        .clone()
        .unwrap_or_else(|| PathBuf::from(fstype));
    let mut flags = opts.flags & !libc::MS_REMOUNT;
    if dev_made_readonly_last(dest, mount) {
        // Its nodes, pts, shm and the console go in first (runc's order).
        flags &= !libc::MS_RDONLY;
    }
    let hidden = if opts.copyup {
        if fstype != "tmpfs" {
            return Err(Error::Config(format!(
                "tmpcopyup needs a tmpfs mount, not {fstype}"
            )));
        }
        // Filled while writable, made read-only after.
        flags &= !libc::MS_RDONLY;
        let fd = sys::fs::open_in_root(ctx.root, dest, libc::O_RDONLY | libc::O_DIRECTORY, 0)
            .context("opening the directory to copy up")?;
        Some(fd)
    } else {
        None
    };
    let data = tmpfs_data(fstype, &opts.data, target.as_fd())?;
    let r = m::mount(
        Some(&src),
        &sys::fs::proc_fd_path(target.as_fd()),
        Some(fstype),
        flags,
        Some(&data),
    );
    match r {
        // sysfs belongs to the network namespace; a user namespace that
        // does not own one may not mount it, so bind the host's, as runc.
        Err(e) if e.errno() == libc::EPERM && fstype == "sysfs" && ctx.in_userns => {
            let host = Path::new("/sys");
            let f = libc::MS_BIND | libc::MS_REC | (flags & libc::MS_RDONLY);
            m::mount(
                Some(host),
                &sys::fs::proc_fd_path(target.as_fd()),
                None,
                f,
                None,
            )
            .context("binding /sys")?;
        }
        other => other.context(format!("mounting {fstype}"))?,
    }
    if let Some(hidden) = hidden {
        // Looked up again, inside the root: a descriptor of the target
        // names the directory under the new mount, not the mount.
        let fresh = sys::fs::open_in_root(ctx.root, dest, libc::O_RDONLY | libc::O_DIRECTORY, 0)
            .context("opening the new tmpfs")?;
        super::copyup::copy_tree(hidden.as_fd(), fresh.as_fd()).context("tmpcopyup")?;
        if opts.flags & libc::MS_RDONLY != 0 {
            let at = sys::fs::proc_fd_path(fresh.as_fd());
            m::mount(
                None,
                &at,
                None,
                libc::MS_REMOUNT | (opts.flags & !libc::MS_REMOUNT),
                Some(&opts.data),
            )
            .context("making the copied-up tmpfs read-only")?;
        }
    }
    if opts.propagation.is_empty() && !opts.has_recursive() {
        return Ok(());
    }
    let mounted = resolve::open(ctx.root, dest).context("opening mount")?;
    apply_after(mounted.as_fd(), opts)
}

/// Whether `mount` is a /dev of its own (not a bind) asked to be read-only:
/// it is mounted writable and made read-only after pivot_root, once it is
/// filled ([`super::finish`]).
pub fn dev_made_readonly_last(dest: &Path, mount: &Mount) -> bool {
    dest == Path::new("/dev")
        && !is_bind(mount)
        && mount.options().iter().flatten().any(|o| o == "ro")
        && !mount.options().iter().flatten().any(|o| o == "rw")
}

/// A tmpfs without `mode=` takes the mode of the directory it covers, as
/// runc makes it (the kernel's default, 1777, would open a 0755 /tmp to
/// every user).
fn tmpfs_data(
    fstype: &str,
    data: &str,
    target: std::os::fd::BorrowedFd<'_>,
) -> Result<String, Error> {
    if fstype != "tmpfs" || data.split(',').any(|o| o.starts_with("mode=")) {
        return Ok(data.to_string());
    }
    let st = sys::fs::fstat(target).context("reading the tmpfs mount point's mode")?;
    let mode = format!("mode={:04o}", st.st_mode & 0o7777);
    Ok(if data.is_empty() {
        mode
    } else {
        format!("{data},{mode}")
    })
}

fn bind(
    ctx: &Ctx<'_>,
    mount: &Mount,
    dest: &Path,
    opts: &MountOptions,
    userns: Option<&std::os::fd::OwnedFd>,
) -> Result<(), Error> {
    let source = mount
        .source()
        .as_ref()
        .ok_or_else(|| Error::Config(format!("bind mount {} has no source", dest.display())))?;
    let source = if source.is_absolute() {
        source.clone()
    } else {
        ctx.bundle.join(source)
    };
    // The source is a host path chosen by the config's author: resolved on
    // the host, then held by descriptor so it cannot change under us.
    let src = sys::fs::openat(None, &source, libc::O_PATH, 0).context("opening bind source")?;
    let target = bind_target(ctx, dest, src.as_fd())?;
    if let Some(userns) = userns {
        let recursive = opts.flags & libc::MS_REC != 0 || opts.idmap == Some(true);
        return super::idmap::bind(
            &sys::fs::proc_fd_path(src.as_fd()),
            target.as_fd(),
            userns.as_fd(),
            recursive,
            attrs_of(opts.flags),
        );
    }
    let tree =
        m::open_tree_clone_fd(src.as_fd(), opts.flags & libc::MS_REC != 0).context("bind mount")?;
    finish_bind(tree.as_fd(), target.as_fd(), opts)
}

/// A bind whose detached copy the runtime made (rootfs::sources).
fn attach_bind(
    ctx: &Ctx<'_>,
    tree: BorrowedFd<'_>,
    dest: &Path,
    opts: &MountOptions,
) -> Result<(), Error> {
    let target = bind_target(ctx, dest, tree)?;
    finish_bind(tree, target.as_fd(), opts)
}

/// The target of a bind of `src` at `dest`, made inside the root (a
/// directory or a file, as the source is) and checked.
fn bind_target(
    ctx: &Ctx<'_>,
    dest: &Path,
    src: BorrowedFd<'_>,
) -> Result<std::os::fd::OwnedFd, Error> {
    let is_dir =
        sys::fs::fstat(src).context("stat of bind source")?.st_mode & libc::S_IFMT == libc::S_IFDIR;
    if is_dir {
        resolve::mkdir_all(ctx.root, dest, 0o755).context("creating mount target")?;
    } else {
        resolve::create_file(ctx.root, dest).context("creating mount target")?;
    }
    let target = resolve::open(ctx.root, dest).context("opening mount target")?;
    check_target_not_in_procfs(target.as_fd(), dest, "bind")?;
    Ok(target)
}

/// Gives the detached copy `tree` its flags and attaches it to `target`.
/// CVE-2021-30465's mechanics: the copy is made and given its flags (ro,
/// nosuid, ...) while detached, then attached to the target's descriptor.
/// A bind followed by a remount of the path would look the destination up
/// again, and a volume swapped for a symlink meanwhile would have the
/// remount land elsewhere and the bind stay writable.
fn finish_bind(
    tree: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    opts: &MountOptions,
) -> Result<(), Error> {
    // A bind ignores every other flag: they are set on the copy.
    let extra = opts.flags & !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT);
    if extra != 0 {
        set_bind_flags(tree, extra).context("applying bind mount options")?;
    }
    if opts.has_recursive() {
        m::mount_setattr_recursive(tree, &opts.recursive)
            .context("setting recursive mount attributes")?;
    }
    m::move_mount_to(tree, target).context("bind mount")?;
    set_propagation(tree, opts)
}

/// Gives the detached bind `tree` exactly the flags `flags` names, as a
/// bind remount does (the atime mode is kept unless named). A user
/// namespace may not clear flags that lock the source mount (nosuid,
/// nodev, noexec, ro, atime): on EPERM they are kept.
fn set_bind_flags(tree: BorrowedFd<'_>, flags: libc::c_ulong) -> sys::Result<()> {
    let all = m::MOUNT_ATTR_RDONLY
        | m::MOUNT_ATTR_NOSUID
        | m::MOUNT_ATTR_NODEV
        | m::MOUNT_ATTR_NOEXEC
        | m::MOUNT_ATTR_NODIRATIME;
    let mut attr = MountAttr {
        attr_set: attrs_of(flags) & !m::MOUNT_ATTR__ATIME,
        ..Default::default()
    };
    attr.attr_clr = all & !attr.attr_set;
    let atime = [
        (libc::MS_NOATIME, m::MOUNT_ATTR_NOATIME),
        (libc::MS_STRICTATIME, m::MOUNT_ATTR_STRICTATIME),
        (libc::MS_RELATIME, m::MOUNT_ATTR_RELATIME),
    ]
    .into_iter()
    .find(|(ms, _)| flags & ms != 0);
    if let Some((_, mode)) = atime {
        attr.attr_clr |= m::MOUNT_ATTR__ATIME;
        attr.attr_set |= mode;
    }
    match m::set_tree_attr(tree, &attr, false) {
        Err(e) if e.errno() == libc::EPERM => {
            let st = sys::fs::mount_flags_of(tree)?;
            let locked = [
                (libc::ST_NOSUID, m::MOUNT_ATTR_NOSUID),
                (libc::ST_NODEV, m::MOUNT_ATTR_NODEV),
                (libc::ST_NOEXEC, m::MOUNT_ATTR_NOEXEC),
                (libc::ST_RDONLY, m::MOUNT_ATTR_RDONLY),
                (libc::ST_NODIRATIME, m::MOUNT_ATTR_NODIRATIME),
            ]
            .iter()
            .filter(|(st_flag, _)| st & st_flag != 0)
            .fold(0, |a, (_, at)| a | at);
            attr.attr_clr &= !locked;
            if atime.is_some() {
                // The atime mode of a locked mount stays as it is.
                attr.attr_clr &= !m::MOUNT_ATTR__ATIME;
                attr.attr_set &= !m::MOUNT_ATTR__ATIME;
            }
            m::set_tree_attr(tree, &attr, false)
        }
        other => other,
    }
}

type Maps = Vec<oci_spec::runtime::LinuxIdMapping>;

/// The id maps of an idmapped bind: the mount's own, or with only the
/// idmap option the container's (runtime spec).
pub fn idmaps(
    linux: Option<&oci_spec::runtime::Linux>,
    mount: &Mount,
    opts: &MountOptions,
) -> Option<(Maps, Maps)> {
    let own = (mount.uid_mappings().clone(), mount.gid_mappings().clone());
    if own.0.is_some() || own.1.is_some() {
        return Some((own.0.unwrap_or_default(), own.1.unwrap_or_default()));
    }
    opts.idmap?;
    let l = linux;
    Some((
        l.and_then(|l| l.uid_mappings().clone()).unwrap_or_default(),
        l.and_then(|l| l.gid_mappings().clone()).unwrap_or_default(),
    ))
}

/// The MOUNT_ATTR_* equivalents of a bind's flags.
fn attrs_of(flags: libc::c_ulong) -> u64 {
    [
        (libc::MS_RDONLY, m::MOUNT_ATTR_RDONLY),
        (libc::MS_NOSUID, m::MOUNT_ATTR_NOSUID),
        (libc::MS_NODEV, m::MOUNT_ATTR_NODEV),
        (libc::MS_NOEXEC, m::MOUNT_ATTR_NOEXEC),
        (libc::MS_NOATIME, m::MOUNT_ATTR_NOATIME),
        (libc::MS_NODIRATIME, m::MOUNT_ATTR_NODIRATIME),
    ]
    .iter()
    .filter(|(ms, _)| flags & ms != 0)
    .fold(0, |a, (_, attr)| a | attr)
}

/// Remounts the bind mount at `fd` with `flags`. A user namespace may not
/// clear flags that lock the original mount (nosuid, nodev, noexec, ro,
/// atime), so on EPERM they are kept and the remount retried.
pub fn remount(fd: BorrowedFd<'_>, flags: libc::c_ulong) -> sys::Result<()> {
    let path = sys::fs::proc_fd_path(fd);
    let base = libc::MS_BIND | libc::MS_REMOUNT;
    match m::mount(None, &path, None, base | flags, None) {
        Err(e) if e.errno() == libc::EPERM => {
            let st = sys::fs::mount_flags_of(fd)?;
            let mut locked = 0;
            for (st_flag, ms_flag) in [
                (libc::ST_NOSUID, libc::MS_NOSUID),
                (libc::ST_NODEV, libc::MS_NODEV),
                (libc::ST_NOEXEC, libc::MS_NOEXEC),
                (libc::ST_RDONLY, libc::MS_RDONLY),
                (libc::ST_NOATIME, libc::MS_NOATIME),
                (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
                (libc::ST_RELATIME, libc::MS_RELATIME),
            ] {
                if st & st_flag != 0 {
                    locked |= ms_flag;
                }
            }
            m::mount(None, &path, None, base | flags | locked, None)
        }
        other => other,
    }
}

/// Propagation and recursive attributes, applied to the finished mount
/// `mounted`.
fn apply_after(mounted: BorrowedFd<'_>, opts: &MountOptions) -> Result<(), Error> {
    if opts.has_recursive() {
        m::mount_setattr_recursive(mounted, &opts.recursive)
            .context("setting recursive mount attributes")?;
    }
    set_propagation(mounted, opts)
}

/// The propagation options, in order, on the mount `mounted`.
fn set_propagation(mounted: BorrowedFd<'_>, opts: &MountOptions) -> Result<(), Error> {
    for flag in &opts.propagation {
        let attr = MountAttr {
            propagation: flag & !libc::MS_REC,
            ..Default::default()
        };
        m::set_tree_attr(mounted, &attr, flag & libc::MS_REC != 0)
            .context("setting mount propagation")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(opts: &[&str]) -> MountOptions {
        MountOptions::parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn flags_set_and_clear_in_order() {
        let o = parse(&[
            "nosuid",
            "noexec",
            "nodev",
            "ro",
            "rw",
            "mode=755",
            "size=65536k",
        ]);
        assert_eq!(o.flags, libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV);
        assert_eq!(o.data, "mode=755,size=65536k");
    }

    #[test]
    fn rbind_and_propagation() {
        let o = parse(&["rbind", "rprivate", "ro"]);
        assert_eq!(o.flags, libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY);
        assert_eq!(o.propagation, vec![libc::MS_PRIVATE | libc::MS_REC]);
    }

    #[test]
    fn recursive_attributes() {
        let o = parse(&["rro", "rnosuid", "rnoatime"]);
        assert_eq!(
            o.recursive.attr_set,
            m::MOUNT_ATTR_RDONLY | m::MOUNT_ATTR_NOSUID | m::MOUNT_ATTR_NOATIME
        );
        assert_eq!(o.recursive.attr_clr, m::MOUNT_ATTR__ATIME);
    }

    #[test]
    fn an_option_with_a_nul_byte_is_refused() {
        let e = MountOptions::parse(&["ro\0x".to_string()]).unwrap_err();
        assert!(e.to_string().contains("NUL"), "{e}");
    }

    #[test]
    fn unsupported_options_are_refused_not_ignored() {
        assert!(
            MountOptions::parse(&["tmpcopyup".to_string()])
                .unwrap()
                .copyup
        );
        assert_eq!(
            MountOptions::parse(&["ridmap".to_string()]).unwrap().idmap,
            Some(true)
        );
    }
}
