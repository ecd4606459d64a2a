//! The container user: supplementary groups, gid, uid.

use oci_spec::runtime::Spec;

use crate::error::{Context, Error};

/// Switches to process.user with the capabilities the config asks for, in
/// runc's order: bounding set and keepcaps while root, then groups, gid and
/// uid, then the exact capability sets. With `defer_caps` the permitted
/// set is kept and the last step is left to the caller (see [`DeferredCaps`]).
pub fn switch(spec: &Spec, defer_caps: bool, bounding: u64) -> Result<Option<DeferredCaps>, Error> {
    let Some(p) = spec.process() else {
        return Ok(None);
    };
    let caps = super::caps::wanted(spec);
    if let Some(w) = &caps {
        super::caps::before_user_switch(w, bounding)?;
    } else if defer_caps {
        sys::caps::set_keepcaps(true).context("keeping capabilities across the user switch")?;
    }
    let user = p.user();
    give_stdio_to(user.uid())?;
    let groups = user.additional_gids().clone().unwrap_or_default();
    match sys::process::setgroups(&groups) {
        // A user namespace with setgroups "deny" (rootless) cannot set
        // groups; that is only an error when the config asks for some.
        Err(e) if e.errno() == libc::EPERM && groups.is_empty() => {}
        other => other.context("setgroups")?,
    }
    sys::process::setresgid(user.gid()).with_context(|| format!("setting gid {}", user.gid()))?;
    sys::process::setresuid(user.uid()).with_context(|| format!("setting uid {}", user.uid()))?;
    if defer_caps {
        return Ok(Some(DeferredCaps {
            wanted: caps,
            uid: user.uid(),
        }));
    }
    if let Some(w) = &caps {
        super::caps::after_user_switch(w)?;
    }
    Ok(None)
}

/// Gives the process's pipes and sockets on stdin, stdout and stderr to
/// its user, as runc does, so that a process that reopens them
/// (`/dev/stdout`, as nginx's logs do) may: an engine's pipes are made 0600
/// by its root. The group stays. A regular file or device the caller passed
/// is a host inode and stays as it is (runc gives it away too); a pipe or
/// socket lives on the kernel's internal filesystems. An owner the user
/// namespace does not map cannot be changed, and that is not an error.
fn give_stdio_to(uid: u32) -> Result<(), Error> {
    for fd in (0..=2).filter_map(sys::fs::stdio) {
        let Ok(st) = sys::fs::fstat(fd) else {
            continue;
        };
        let kind = st.st_mode & libc::S_IFMT;
        if st.st_uid != uid && (kind == libc::S_IFIFO || kind == libc::S_IFSOCK) {
            match sys::fs::fchown(fd, uid, u32::MAX) {
                // An unmapped owner or uid leaves it as it is, as runc.
                Err(e) if e.errno() == libc::EPERM || e.errno() == libc::EINVAL => {}
                other => other.context("giving stdio to the process's user")?,
            }
        }
    }
    Ok(())
}

/// The capability step of the user switch, held back while a seccomp
/// filter goes in without no_new_privs: that takes CAP_SYS_ADMIN, and the
/// filter must come after the init's own calls (getcwd, close_range), which
/// a profile may forbid.
pub struct DeferredCaps {
    wanted: Option<super::caps::Wanted>,
    uid: u32,
}

impl DeferredCaps {
    /// Raises the kept permitted set into effective (a uid change cleared it).
    pub fn raise(&self) -> Result<(), Error> {
        let cur = sys::caps::get().context("capget")?;
        sys::caps::set(&sys::caps::CapSets {
            effective: cur.permitted,
            ..cur
        })
        .context("raising capabilities for the seccomp filter")
    }

    /// The sets the config asks for; without any, what the kernel's uid
    /// change would have left (nothing, for a uid other than 0).
    pub fn finish(self) -> Result<(), Error> {
        match &self.wanted {
            Some(w) => super::caps::after_user_switch(w),
            None => {
                if self.uid != 0 {
                    sys::caps::set(&sys::caps::CapSets {
                        effective: 0,
                        permitted: 0,
                        inheritable: 0,
                    })
                    .context("dropping capabilities after the user switch")?;
                }
                sys::caps::set_keepcaps(false).context("resetting keepcaps")
            }
        }
    }
}

/// The most of the container's /etc/passwd that is read.
const PASSWD_MAX: u64 = 1 << 20;

/// The home directory of `uid` in the container's /etc/passwd, or "/".
/// The file is the image's: a FIFO there must not hang the init (opened
/// non-blocking, regular files only) and /dev/zero must not fill memory.
pub fn home_of(uid: u32) -> String {
    let passwd = read_regular(std::path::Path::new("/etc/passwd"), PASSWD_MAX).unwrap_or_default();
    passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 7 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
        })
        .next()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".into())
}

/// Reads at most `max` bytes of `path` if it is a regular file.
fn read_regular(path: &std::path::Path, max: u64) -> Option<String> {
    use std::io::Read;
    use std::os::fd::AsFd;
    // Inside the container's root and without a magic link: an image's
    // /etc/passwd must not read a host file through a runtime descriptor.
    let fd = crate::rootfs::open_following_in_container(path, libc::O_RDONLY | libc::O_NONBLOCK, 0)
        .ok()?;
    let st = sys::fs::fstat(fd.as_fd()).ok()?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return None;
    }
    let mut text = String::new();
    std::fs::File::from(fd)
        .take(max)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}
