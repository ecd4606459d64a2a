//! linux.netDevices: host network devices moved into the container's
//! network namespace, renamed there if asked, as runc does it: the link
//! goes down, its permanent global addresses are noted, one message moves
//! and renames it (so no other program can take the name in between),
//! then the addresses are added back in the container and the link goes
//! up. The device leaves with the namespace: a physical one returns to
//! the host when the container's network namespace goes, a virtual one
//! (a veth end) is destroyed with it.

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::path::Path;

use oci_spec::runtime::LinuxNetDevice;
use sys::netlink::{Address, Route, IFA_F_PERMANENT, RT_SCOPE_UNIVERSE};

use crate::error::{Context, Error};

/// Moves every device of `devices` into the network namespace of `pid`.
pub fn move_all(pid: i32, devices: &HashMap<String, LinuxNetDevice>) -> Result<(), Error> {
    if devices.is_empty() {
        return Ok(());
    }
    let open = |p: &str| {
        sys::fs::openat(None, Path::new(p), libc::O_RDONLY, 0)
            .with_context(|| format!("opening {p}"))
    };
    let theirs = open(&format!("/proc/{pid}/ns/net"))?;
    let ours = open("/proc/self/ns/net")?;
    // In name order, so that a failure is the same on every run.
    let mut names: Vec<&String> = devices.keys().collect();
    names.sort();
    for host_name in names {
        let new_name = devices[host_name]
            .name()
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(host_name);
        let addresses = move_one(host_name, new_name, theirs.as_fd())
            .with_context(|| format!("linux.netDevices: moving {host_name}"))?;
        // The addresses are added from inside the container's namespace:
        // a netlink socket belongs to the namespace it was opened in.
        sys::ns::setns(theirs.as_fd(), libc::CLONE_NEWNET)
            .context("joining the container's network namespace")?;
        let configured = configure(new_name, &addresses);
        // Back at once: the runtime must not stay in the container's
        // network namespace, whatever happened.
        sys::ns::setns(ours.as_fd(), libc::CLONE_NEWNET)
            .context("returning to the runtime's network namespace")?;
        configured.with_context(|| format!("linux.netDevices: configuring {new_name}"))?;
    }
    Ok(())
}

/// Takes `host_name` down and moves it, named `new_name`, into `netns`;
/// returns the addresses to give it there.
fn move_one(
    host_name: &str,
    new_name: &str,
    netns: std::os::fd::BorrowedFd<'_>,
) -> sys::Result<Vec<Address>> {
    let index = sys::netlink::if_index(host_name)?;
    let mut nl = Route::open()?;
    nl.set_up(index, false)?;
    // Only what a user configured and is valid anywhere: dynamic and
    // link- or host-scoped addresses belong to the host's network.
    let addresses = nl
        .addresses(index)?
        .into_iter()
        .filter(|a| a.flags & IFA_F_PERMANENT != 0 && a.scope == RT_SCOPE_UNIVERSE)
        .collect();
    nl.move_to(index, new_name, netns)?;
    Ok(addresses)
}

/// In the container's namespace: the addresses, then the link up.
fn configure(name: &str, addresses: &[Address]) -> sys::Result<()> {
    let index = sys::netlink::if_index(name)?;
    let mut nl = Route::open()?;
    for a in addresses {
        nl.add_address(index, a)?;
    }
    nl.set_up(index, true)
}

/// An interface name the kernel takes: 1 to 15 bytes, no '/', ':' or
/// whitespace, not "." or "..".
pub fn valid_name(name: &str) -> bool {
    (1..16).contains(&name.len())
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace())
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
    }
}
