//! Bind sources of a user-namespaced container, opened by the runtime.
//!
//! In a user namespace of its own the init is root only there: a source
//! under a directory only the host's root may search is out of its reach,
//! and the kernel refuses it MOUNT_ATTR_IDMAP on the host's filesystems.
//! As runc does, the runtime, still the host's root, enters the init's new
//! mount namespace once its propagation is set, clones each bind source
//! there (open_tree: a detached copy of the container's view of the source,
//! slave or shared as the init just made it) and idmaps it where asked. The
//! init attaches the copies to their targets by descriptor.

use std::os::fd::{AsFd, OwnedFd};

use oci_spec::runtime::Spec;

use super::mounts::{is_bind, MountOptions};
use crate::error::{Context, Error};
use crate::spawn::namespaces::Plan;
use crate::spec::Bundle;

/// Whether the runtime opens the bind sources: the container has a user
/// namespace (new or joined), the runtime is privileged on the host (an
/// unprivileged one can reach no more than the container's root), and the
/// config has a bind mount. Not in a mount namespace the config joins: that
/// one may be another container's, shaped by it, and the runtime resolves
/// host paths with the host's credentials only where no container process
/// has been. Both sides decide with this.
pub fn opened_by_runtime(spec: &Spec, plan: &Plan, unprivileged: bool) -> bool {
    let joins = |ns| plan.joins.iter().any(|(f, _, _)| *f == ns);
    let userns = plan.new_user() || joins(libc::CLONE_NEWUSER);
    userns
        && !joins(libc::CLONE_NEWNS)
        && !unprivileged
        && spec.mounts().iter().flatten().any(is_bind)
}

/// The detached copy of every bind source, by mount index, with its ids
/// mapped where the mount is idmapped. Called in the container's mount
/// namespace with the host's credentials.
pub fn clone_all(
    bundle: &Bundle,
    idmap_userns: &[Option<OwnedFd>],
) -> Result<Vec<(usize, OwnedFd)>, Error> {
    let mut out = Vec::new();
    for (i, m) in bundle.spec.mounts().iter().flatten().enumerate() {
        if !is_bind(m) {
            continue;
        }
        let dest = m.destination().display();
        let opts = MountOptions::parse(m.options().as_deref().unwrap_or_default())?;
        let source = m
            .source()
            .as_ref()
            .ok_or_else(|| Error::Config(format!("bind mount {dest} has no source")))?;
        // Relative to the bundle, as every bind source.
        let source = bundle.dir.join(source);
        let userns = idmap_userns.get(i).and_then(Option::as_ref);
        let recursive = opts.flags & libc::MS_REC != 0 || opts.idmap == Some(true);
        let tree = sys::mount::open_tree_clone(&source, recursive)
            .with_context(|| format!("mounting {dest}: opening bind source"))?;
        if let Some(userns) = userns {
            let attr = sys::mount::MountAttr {
                attr_set: sys::mount::MOUNT_ATTR_IDMAP,
                userns_fd: std::os::fd::AsRawFd::as_raw_fd(&userns.as_fd()) as u64,
                ..Default::default()
            };
            sys::mount::set_tree_attr(tree.as_fd(), &attr, recursive)
                .with_context(|| format!("mounting {dest}: idmapping the mount"))?;
        }
        out.push((i, tree));
    }
    Ok(out)
}
