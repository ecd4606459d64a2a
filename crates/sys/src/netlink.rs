//! rtnetlink, just enough to move a network device into a container:
//! set a link down or up, list and add its addresses, and move it into
//! another network namespace under a new name (one message, so that the
//! rename and the move cannot be split by another program).
//!
//! Messages are built as bytes in the host's byte order (netlink's); the
//! only unsafe calls are the socket, its send and its receive.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::{check, Error, Result};

const NLMSG_HDR: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
const IFF_UP: u32 = 1;
/// ifa_flags: an address configured by hand, not by autoconfiguration.
pub const IFA_F_PERMANENT: u32 = 0x80;
/// ifa_scope of an address that is valid everywhere.
pub const RT_SCOPE_UNIVERSE: u8 = 0;

/// An interface address, as RTM_GETADDR reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub family: u8,
    pub prefix_len: u8,
    pub flags: u32,
    pub scope: u8,
    /// IFA_LOCAL (the interface's own address), if reported.
    pub local: Option<Vec<u8>>,
    /// IFA_ADDRESS (the peer on point-to-point links, else the same).
    pub address: Option<Vec<u8>>,
}

/// A link's name and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub name: String,
    pub up: bool,
}

/// A NETLINK_ROUTE socket in the network namespace it was opened in.
pub struct Route {
    fd: OwnedFd,
    seq: u32,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Appends an rtattr.
fn attr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
    buf.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(align4(buf.len()), 0);
}

/// ifinfomsg for link `index`: family, pad, type, index, flags, change.
fn ifinfo(index: u32, flags: u32, change: u32) -> Vec<u8> {
    let mut b = vec![0u8; 4];
    b.extend_from_slice(&(index as i32).to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&change.to_ne_bytes());
    b
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The (type, data) attributes packed in `b`.
fn attrs(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while let (Some(len), Some(kind)) = (u16_at(b, 0), u16_at(b, 2)) {
        let len = len as usize;
        if len < 4 || len > b.len() {
            break;
        }
        out.push((kind, &b[4..len]));
        b = &b[align4(len).min(b.len())..];
    }
    out
}

/// The interface index of `name` in this process's network namespace.
pub fn if_index(name: &str) -> Result<u32> {
    let c = crate::fs::cstr("if_nametoindex", name)?;
    // SAFETY: `c` is a valid NUL-terminated string for the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(Error::new("if_nametoindex", crate::last_errno()).with_path(name));
    }
    Ok(index)
}

impl Route {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> Result<Route> {
        // SAFETY: socket(2) takes no pointers.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        let fd = check(fd, "socket(NETLINK_ROUTE)")?;
        // SAFETY: the kernel just returned this descriptor; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Route { fd, seq: 0 })
    }

    fn send(&mut self, kind: u16, flags: u16, body: &[u8]) -> Result<u32> {
        self.seq += 1;
        let mut msg = Vec::with_capacity(NLMSG_HDR + body.len());
        msg.extend_from_slice(&((NLMSG_HDR + body.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(body);
        crate::socket::send(self.fd.as_fd(), &msg)?;
        Ok(self.seq)
    }

    fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        crate::socket::recv(self.fd.as_fd(), buf)
    }

    /// Sends a request and reads the replies to it until the ACK (or the
    /// end of a dump), handing each other message's body to `each`.
    fn exchange(
        &mut self,
        kind: u16,
        flags: u16,
        body: &[u8],
        op: &'static str,
        mut each: impl FnMut(u16, &[u8]),
    ) -> Result<()> {
        let seq = self.send(kind, flags, body)?;
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = self.recv(&mut buf)?;
            let mut at = 0;
            while at + NLMSG_HDR <= n {
                let len = u32_at(&buf, at).unwrap_or(0) as usize;
                let kind = u16_at(&buf, at + 4).unwrap_or(0);
                let msg_seq = u32_at(&buf, at + 8).unwrap_or(0);
                if len < NLMSG_HDR || at + len > n {
                    return Err(Error::new(op, libc::EBADMSG));
                }
                let body = &buf[at + NLMSG_HDR..at + len];
                at += align4(len);
                if msg_seq != seq {
                    continue;
                }
                match kind {
                    NLMSG_ERROR => {
                        // 0 is the ACK; otherwise a negative errno.
                        let code = u32_at(body, 0).map_or(-libc::EBADMSG, |c| c as i32);
                        return if code == 0 {
                            Ok(())
                        } else {
                            Err(Error::new(op, -code))
                        };
                    }
                    NLMSG_DONE => {
                        // A dump that ended early says why here.
                        return match u32_at(body, 0).map(|c| c as i32) {
                            Some(code) if code < 0 => Err(Error::new(op, -code)),
                            _ => Ok(()),
                        };
                    }
                    other => each(other, body),
                }
            }
        }
    }

    /// Sets link `index` up or down.
    pub fn set_up(&mut self, index: u32, up: bool) -> Result<()> {
        let body = ifinfo(index, if up { IFF_UP } else { 0 }, IFF_UP);
        self.exchange(
            RTM_NEWLINK,
            NLM_F_ACK,
            &body,
            "netlink: set link state",
            |_, _| {},
        )
    }

    /// The name and state of link `index`.
    pub fn link(&mut self, index: u32) -> Result<Link> {
        let body = ifinfo(index, 0, 0);
        let mut found = None;
        self.exchange(
            RTM_GETLINK,
            NLM_F_ACK,
            &body,
            "netlink: get link",
            |kind, b| {
                if kind != RTM_NEWLINK || b.len() < 16 {
                    return;
                }
                let up = u32_at(b, 8).is_some_and(|f| f & IFF_UP != 0);
                let name = attrs(&b[16..]).into_iter().find_map(|(k, v)| {
                    (k == IFLA_IFNAME).then(|| {
                        String::from_utf8_lossy(v)
                            .trim_end_matches('\0')
                            .to_string()
                    })
                });
                if let Some(name) = name {
                    found = Some(Link { name, up });
                }
            },
        )?;
        found.ok_or_else(|| Error::new("netlink: get link", libc::ENODEV))
    }

    /// Moves link `index` into the network namespace `netns`, renamed
    /// there to `name` if given (in the same message, so that no other
    /// program can take the name in between).
    pub fn move_to(&mut self, index: u32, name: Option<&str>, netns: BorrowedFd<'_>) -> Result<()> {
        let mut body = ifinfo(index, 0, 0);
        if let Some(name) = name {
            let mut ifname = name.as_bytes().to_vec();
            ifname.push(0);
            attr(&mut body, IFLA_IFNAME, &ifname);
        }
        attr(
            &mut body,
            IFLA_NET_NS_FD,
            &(netns.as_raw_fd() as u32).to_ne_bytes(),
        );
        self.exchange(
            RTM_NEWLINK,
            NLM_F_ACK,
            &body,
            "netlink: move link",
            |_, _| {},
        )
    }

    /// The addresses of link `index`.
    pub fn addresses(&mut self, index: u32) -> Result<Vec<Address>> {
        let mut out = Vec::new();
        // An ifaddrmsg of family AF_UNSPEC: every family.
        let body = [0u8; 8];
        self.exchange(
            RTM_GETADDR,
            NLM_F_DUMP,
            &body,
            "netlink: list addresses",
            |kind, b| {
                if kind != RTM_NEWADDR || b.len() < 8 || u32_at(b, 4) != Some(index) {
                    return;
                }
                let mut a = Address {
                    family: b[0],
                    prefix_len: b[1],
                    flags: u32::from(b[2]),
                    scope: b[3],
                    local: None,
                    address: None,
                };
                for (k, v) in attrs(&b[8..]) {
                    match k {
                        IFA_LOCAL => a.local = Some(v.to_vec()),
                        IFA_ADDRESS => a.address = Some(v.to_vec()),
                        // The full 32-bit flags, where the kernel sends them.
                        IFA_FLAGS => a.flags = u32_at(v, 0).unwrap_or(a.flags),
                        _ => {}
                    }
                }
                out.push(a);
            },
        )?;
        Ok(out)
    }

    /// Adds `a` to link `index`.
    pub fn add_address(&mut self, index: u32, a: &Address) -> Result<()> {
        let mut body = vec![a.family, a.prefix_len, 0, a.scope];
        body.extend_from_slice(&index.to_ne_bytes());
        if let Some(l) = &a.local {
            attr(&mut body, IFA_LOCAL, l);
        }
        if let Some(p) = &a.address {
            attr(&mut body, IFA_ADDRESS, p);
        }
        self.exchange(
            RTM_NEWADDR,
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            &body,
            "netlink: add address",
            |_, _| {},
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_round_trip() {
        let mut b = Vec::new();
        attr(&mut b, IFLA_IFNAME, b"eth1\0");
        attr(&mut b, IFLA_NET_NS_FD, &7u32.to_ne_bytes());
        assert_eq!(b.len(), 12 + 8);
        let parsed = attrs(&b);
        assert_eq!(parsed[0], (IFLA_IFNAME, &b"eth1\0"[..]));
        assert_eq!(parsed[1].0, IFLA_NET_NS_FD);
        assert_eq!(u32_at(parsed[1].1, 0), Some(7));
    }

    #[test]
    fn loopback_is_listed_with_its_address() {
        let mut nl = Route::open().unwrap();
        let lo = if_index("lo").unwrap();
        let addrs = nl.addresses(lo).unwrap();
        assert!(
            addrs.iter().any(|a| a.family == libc::AF_INET as u8
                && a.local.as_deref() == Some(&[127, 0, 0, 1][..])),
            "{addrs:?}"
        );
        assert!(if_index("no-such-if0").is_err());
        assert_eq!(
            nl.link(lo).unwrap(),
            Link {
                name: "lo".into(),
                up: true
            }
        );
    }
}
