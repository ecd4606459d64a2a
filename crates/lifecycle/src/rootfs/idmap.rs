//! Idmapped bind mounts (mounts[].uidMappings/gidMappings, options idmap
//! and ridmap): the files of the source appear with their ids mapped.
//!
//! The kernel takes the mapping as a user namespace: a child is forked into
//! a new one, its maps written, its namespace opened, and the child let go.
//! The mount is cloned with open_tree, idmapped with mount_setattr, and
//! attached with move_mount, all through descriptors.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::LinuxIdMapping;
use sys::mount::MountAttr;

use crate::error::{Context, Error};
use crate::spawn::idmap::format_map;

/// For each mount of the config, the user namespace of its idmapping, if
/// it is an idmapped bind. Made by the runtime before the clone: the maps
/// are written through /proc/PID of a holder child, which only the
/// runtime's pid namespace names right.
pub fn prepare(spec: &oci_spec::runtime::Spec) -> Result<Vec<Option<OwnedFd>>, Error> {
    let linux = spec.linux().as_ref();
    let mut out = Vec::new();
    for m in spec.mounts().iter().flatten() {
        let opts = super::MountOptions::parse(m.options().as_deref().unwrap_or_default())?;
        match super::mounts::idmaps(linux, m, &opts) {
            Some((uid, gid)) => {
                if !super::mounts::is_bind(m) {
                    return Err(Error::Config(format!(
                        "mount {}: only bind mounts can be idmapped",
                        m.destination().display()
                    )));
                }
                out.push(Some(userns_with_maps(&uid, &gid).with_context(|| {
                    format!("idmap of mount {}", m.destination().display())
                })?));
            }
            None => out.push(None),
        }
    }
    Ok(out)
}

/// A user namespace with these maps, held by its descriptor.
pub fn userns_with_maps(uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<OwnedFd, Error> {
    if uid.is_empty() || gid.is_empty() {
        return Err(Error::Config(
            "an idmapped mount needs uidMappings and gidMappings".into(),
        ));
    }
    let (keep, hold) = sys::socket::seqpacket_pair().context("socketpair for the idmap holder")?;
    let one = sys::process::SingleThreaded::check().context("forking the idmap holder")?;
    let pid = match sys::process::fork_child(one, libc::CLONE_NEWUSER as u64, None)
        .context("forking the idmap holder")?
    {
        sys::process::Fork::Child(_) => {
            drop(keep);
            // Wait until the parent is done with our namespace (end of file).
            let mut b = [0u8; 1];
            let _ = sys::socket::recv(hold.as_fd(), &mut b);
            sys::process::exit_now(0)
        }
        sys::process::Fork::Parent(pid) => pid,
    };
    drop(hold);
    let result = (|| {
        for (file, maps) in [("uid_map", uid), ("gid_map", gid)] {
            let path = format!("/proc/{pid}/{file}");
            std::fs::write(&path, format_map(maps)).with_context(|| format!("writing {path}"))?;
        }
        let ns = format!("/proc/{pid}/ns/user");
        sys::fs::openat(None, Path::new(&ns), libc::O_RDONLY, 0)
            .context("opening the idmap user namespace")
    })();
    drop(keep);
    let _ = sys::process::waitpid(pid, false);
    result
}

/// Binds `source` (a descriptor on the host) onto `target` (a descriptor
/// in the rootfs) with its ids mapped through `userns`, plus `attr_set`.
pub fn bind(
    source: &Path,
    target: BorrowedFd<'_>,
    userns: BorrowedFd<'_>,
    recursive: bool,
    attr_set: u64,
) -> Result<(), Error> {
    let tree = sys::mount::open_tree_clone(source, recursive).context("cloning the bind source")?;
    let attr = MountAttr {
        attr_set: sys::mount::MOUNT_ATTR_IDMAP | attr_set,
        userns_fd: std::os::fd::AsRawFd::as_raw_fd(&userns) as u64,
        ..Default::default()
    };
    sys::mount::set_tree_attr(tree.as_fd(), &attr, recursive).context("idmapping the mount")?;
    sys::mount::move_mount_to(tree.as_fd(), target).context("attaching the idmapped mount")
}
