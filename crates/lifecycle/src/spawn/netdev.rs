//! linux.netDevices: host network devices moved into the container's
//! network namespace, renamed there if asked, as runc does it: the link's
//! permanent global addresses are noted, it goes down, one message moves
//! (and renames) it, then the addresses are added back in the container
//! and the link goes up. The init asks for this right after its namespaces
//! exist, before any of its own setup (sysctls of the new interface name
//! included) and before any hook.
//!
//! A device leaves with the namespace: a physical one returns to the host
//! (under its container name), a virtual one (a veth end) is destroyed. So
//! when a create fails after the move, [`Moved::restore`] brings each one
//! back first, under its host name, with its addresses and up state.

use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::LinuxNetDevice;
use sys::netlink::{Address, Route, IFA_F_PERMANENT, RT_SCOPE_UNIVERSE};

use crate::error::{Context, Error};

/// A device as it was on the host, to move it back.
struct Device {
    host_name: String,
    container_name: String,
    was_up: bool,
    addresses: Vec<Address>,
}

/// The devices moved into a container so far.
#[derive(Default)]
pub struct Moved {
    devices: Vec<Device>,
    /// The container's network namespace.
    netns: Option<OwnedFd>,
}

fn open_ns(p: &str) -> Result<OwnedFd, Error> {
    sys::fs::openat(None, Path::new(p), libc::O_RDONLY, 0).with_context(|| format!("opening {p}"))
}

/// Runs `f` with a netlink socket opened in `netns`, and comes back to the
/// runtime's own network namespace (`ours`) whatever happened: a socket
/// belongs to the namespace it was opened in.
fn in_netns<T>(
    netns: BorrowedFd<'_>,
    ours: BorrowedFd<'_>,
    f: impl FnOnce(&mut Route) -> sys::Result<T>,
) -> Result<T, Error> {
    sys::ns::setns(netns, libc::CLONE_NEWNET)
        .context("joining the container's network namespace")?;
    let result = Route::open().and_then(|mut nl| f(&mut nl));
    sys::ns::setns(ours, libc::CLONE_NEWNET)
        .context("returning to the runtime's network namespace")?;
    result.context("in the container's network namespace")
}

impl Moved {
    /// Moves every device of `devices` into the network namespace of `pid`.
    pub fn move_all(
        &mut self,
        pid: i32,
        devices: &HashMap<String, LinuxNetDevice>,
    ) -> Result<(), Error> {
        let theirs = open_ns(&format!("/proc/{pid}/ns/net"))?;
        let ours = open_ns("/proc/self/ns/net")?;
        self.netns = Some(theirs.try_clone().context("keeping the namespace")?);
        // In name order, so that a failure is the same on every run.
        let mut names: Vec<&String> = devices.keys().collect();
        names.sort();
        for host_name in names {
            let container_name = devices[host_name]
                .name()
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(host_name);
            let mut nl = Route::open().context("opening rtnetlink")?;
            let what = || format!("linux.netDevices: moving {host_name}");
            let index = sys::netlink::if_index(host_name).with_context(what)?;
            // Before the link goes down: down drops its IPv6 addresses.
            let link = nl.link(index).with_context(what)?;
            let addresses: Vec<Address> = nl
                .addresses(index)
                .with_context(what)?
                .into_iter()
                // Only what a user configured and is valid anywhere.
                .filter(|a| a.flags & IFA_F_PERMANENT != 0 && a.scope == RT_SCOPE_UNIVERSE)
                .collect();
            nl.set_up(index, false).with_context(what)?;
            // Renamed only when the name changes: an altname given as the
            // host name must not become the device's name.
            let rename = (link.name != container_name).then_some(container_name);
            let moved = nl.move_to(index, rename, theirs.as_fd());
            // From here the device may be in the container even if the
            // move failed (the kernel moves, then renames): restore finds
            // it under either name.
            self.devices.push(Device {
                host_name: link.name.clone(),
                container_name: container_name.to_string(),
                was_up: link.up,
                addresses: addresses.clone(),
            });
            if let Err(e) = moved {
                if !in_container(&theirs, &ours, container_name, &link.name) {
                    // Never left: just as it was.
                    self.devices.pop();
                    let _ = nl.set_up(index, link.up);
                }
                return Err(e).with_context(what);
            }
            in_netns(theirs.as_fd(), ours.as_fd(), |nl| {
                let index = sys::netlink::if_index(container_name)?;
                for a in &addresses {
                    nl.add_address(index, a)?;
                }
                nl.set_up(index, true)
            })
            .with_context(|| format!("linux.netDevices: configuring {container_name}"))?;
        }
        Ok(())
    }

    /// Moves every device back to the runtime's network namespace under
    /// its host name, with its addresses and up state (a failed create),
    /// as far as it goes.
    pub fn restore(&mut self) {
        let Some(theirs) = self.netns.take() else {
            return;
        };
        let Ok(ours) = open_ns("/proc/self/ns/net") else {
            return;
        };
        for d in self.devices.drain(..).rev() {
            let back = in_netns(theirs.as_fd(), ours.as_fd(), |nl| {
                let index = sys::netlink::if_index(&d.container_name)
                    .or_else(|_| sys::netlink::if_index(&d.host_name))?;
                nl.set_up(index, false)?;
                let name = nl.link(index)?.name;
                nl.move_to(
                    index,
                    (name != d.host_name).then_some(&d.host_name),
                    ours.as_fd(),
                )
            });
            if back.is_err() {
                continue;
            }
            if let (Ok(index), Ok(mut nl)) = (sys::netlink::if_index(&d.host_name), Route::open()) {
                for a in &d.addresses {
                    let _ = nl.add_address(index, a);
                }
                let _ = nl.set_up(index, d.was_up);
            }
        }
    }
}

/// Whether a device named `a` or `b` is in the container's namespace.
fn in_container(theirs: &OwnedFd, ours: &OwnedFd, a: &str, b: &str) -> bool {
    in_netns(theirs.as_fd(), ours.as_fd(), |_| {
        sys::netlink::if_index(a).or_else(|_| sys::netlink::if_index(b))
    })
    .is_ok()
}

/// An interface name the kernel takes as it is: 1 to 15 bytes, no '/',
/// ':', '%' (a pattern to the kernel) or whitespace, not "." or "..".
pub fn valid_name(name: &str) -> bool {
    (1..16).contains(&name.len())
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| matches!(c, '/' | ':' | '%') || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_as_the_kernel_takes_them() {
        assert!(valid_name("eth0"));
        assert!(valid_name("a23456789012345"));
        assert!(!valid_name("a234567890123456"));
        assert!(!valid_name(""));
        assert!(!valid_name(".."));
        assert!(!valid_name("a/b"));
        assert!(!valid_name("a b"));
        assert!(!valid_name("eth0:1"));
        assert!(!valid_name("eth%d"));
    }
}
