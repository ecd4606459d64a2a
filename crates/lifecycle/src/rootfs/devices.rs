//! /dev: the default devices, the config's devices, and the standard links.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceType, Spec};

use super::resolve;
use crate::error::{Context, Error};

/// A device node to create.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    path: String,
    kind: libc::mode_t,
    major: u32,
    minor: u32,
    mode: libc::mode_t,
    uid: u32,
    gid: u32,
}

/// The devices every container gets, as runc's and the runtime spec's list.
const DEFAULTS: &[(&str, u32, u32)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

const LINKS: &[(&str, &str)] = &[
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
    ("pts/ptmx", "/dev/ptmx"),
];

/// Creates the nodes and links in the container's /dev.
pub fn populate(root: BorrowedFd<'_>, spec: &Spec, in_userns: bool) -> Result<(), Error> {
    // Nothing of the container runs yet: /dev, resolved once, stays /dev.
    let mut parents = resolve::Parents::new(root);
    for node in nodes(spec)? {
        create_node(root, &mut parents, &node, in_userns)
            .with_context(|| format!("creating device {}", node.path))?;
    }
    for (target, link) in LINKS {
        let (dir, name) = parents.get(Path::new(link)).context("resolving /dev")?;
        if *link == "/dev/ptmx" {
            // A ptmx node from the rootfs would be the host's; the link reaches
            // the container's own devpts instance.
            let _ = sys::fs::unlinkat(dir.as_fd(), &name);
        }
        match sys::fs::symlinkat(Path::new(target), dir.as_fd(), &name) {
            Err(e) if e.errno() != libc::EEXIST => return Err(e).context("linking /dev"),
            _ => {}
        }
    }
    if Path::new("/proc/kcore").exists() {
        let (dir, name) = parents
            .get(Path::new("/dev/core"))
            .context("resolving /dev")?;
        match sys::fs::symlinkat(Path::new("/proc/kcore"), dir.as_fd(), &name) {
            Err(e) if e.errno() != libc::EEXIST => return Err(e).context("linking /dev/core"),
            _ => {}
        }
    }
    Ok(())
}

/// The defaults, overridden by and followed by the config's devices.
fn nodes(spec: &Spec) -> Result<Vec<Node>, Error> {
    let mut out: Vec<Node> = DEFAULTS
        .iter()
        .map(|(p, ma, mi)| Node {
            path: p.to_string(),
            kind: libc::S_IFCHR,
            major: *ma,
            minor: *mi,
            mode: 0o666,
            uid: 0,
            gid: 0,
        })
        .collect();
    let devices = spec.linux().as_ref().and_then(|l| l.devices().as_ref());
    for d in devices.into_iter().flatten() {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
            LinuxDeviceType::B => libc::S_IFBLK,
            LinuxDeviceType::P => libc::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(Error::Config(format!(
                    "device {}: type \"a\" is not a node type",
                    d.path().display()
                )))
            }
        };
        let path = resolve::normalize(d.path()).display().to_string();
        let node = Node {
            path,
            kind,
            major: u32::try_from(d.major())
                .map_err(|_| Error::Config(format!("device {}: bad major", d.path().display())))?,
            minor: u32::try_from(d.minor())
                .map_err(|_| Error::Config(format!("device {}: bad minor", d.path().display())))?,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        out.retain(|n| n.path != node.path);
        out.push(node);
    }
    Ok(out)
}

fn create_node(
    root: BorrowedFd<'_>,
    parents: &mut resolve::Parents<'_>,
    node: &Node,
    in_userns: bool,
) -> Result<(), Error> {
    let path = Path::new(&node.path);
    let (dir, name) = parents.get(path).context("resolving device path")?;
    match sys::fs::mknodat(
        dir.as_fd(),
        &name,
        node.kind | node.mode,
        node.major,
        node.minor,
    ) {
        Ok(()) => {
            // Our own new node, named through the directory we hold.
            sys::fs::fchownat_nofollow(dir.as_fd(), &name, node.uid, node.gid).context("chown")?;
            Ok(())
        }
        Err(e) if e.errno() == libc::EEXIST => Ok(()),
        // A user namespace may not mknod: bind the host's node instead, and
        // never chown or chmod it (it is the host's).
        Err(e) if e.errno() == libc::EPERM && in_userns => {
            resolve::create_file(root, path).context("creating bind target")?;
            let target = resolve::open(root, path).context("opening bind target")?;
            let src =
                sys::fs::openat(None, path, libc::O_PATH, 0).context("opening host device")?;
            sys::mount::mount(
                Some(&sys::fs::proc_fd_path(src.as_fd())),
                &sys::fs::proc_fd_path(target.as_fd()),
                None,
                libc::MS_BIND,
                None,
            )
            .context("binding host device")
        }
        Err(e) => Err(e).context("mknod"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_device_overrides_a_default() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0",
            "linux": {"devices": [
                {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600, "uid": 5},
                {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0}
            ]}
        }))
        .unwrap();
        let n = nodes(&spec).unwrap();
        assert_eq!(n.len(), 7);
        let null = n.iter().find(|d| d.path == "/dev/null").unwrap();
        assert_eq!((null.mode, null.uid), (0o600, 5));
        assert!(n
            .iter()
            .any(|d| d.path == "/dev/sda" && d.kind == libc::S_IFBLK));
    }
}
