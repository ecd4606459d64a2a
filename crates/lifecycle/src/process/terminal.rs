//! process.terminal: a pty from the container's own devpts instance, its
//! master handed to the caller's console socket, its other end the
//! process's controlling terminal and stdio (and the container's
//! /dev/console, for the init).

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::Spec;

use crate::error::{Context, Error};

/// Where a pty master goes: the caller's console socket, or back to the
/// caller itself (a foreground `run`/`exec` attaches its own terminal).
#[derive(Debug, Clone, Copy)]
pub enum ConsoleTo<'a> {
    Socket(&'a Path),
    Caller,
}

/// A pty pair.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// Whether the config's process asks for a terminal.
pub fn wanted(spec: &Spec) -> bool {
    spec.process()
        .as_ref()
        .is_some_and(|p| p.terminal().unwrap_or(false))
}

/// Opens a pty through /dev/ptmx, which after pivot_root (or setns into the
/// container's mount namespace) is the container's devpts instance, with
/// process.consoleSize.
pub fn open(spec: &Spec) -> Result<Pty, Error> {
    let flags = libc::O_RDWR | libc::O_NOCTTY;
    // Inside the root and without a magic link (an image's /dev/ptmx could
    // lead to the host's through /proc/1/root), and a multiplexer (5:2).
    let master = crate::rootfs::open_following_in_container(Path::new("/dev/ptmx"), flags, 0)
        .context("opening the container's /dev/ptmx")?;
    let st = sys::fs::fstat(master.as_fd()).context("checking /dev/ptmx")?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != libc::makedev(5, 2) {
        return Err(Error::Config(
            "the container's /dev/ptmx is not a pty multiplexer".into(),
        ));
    }
    sys::tty::unlock(master.as_fd()).context("unlocking the pty")?;
    // The peer by the master itself: no /dev/pts/N path to swap.
    let slave = sys::tty::open_peer(master.as_fd()).context("opening the pty's terminal")?;
    // The process's own terminal is its user's, as runc makes it; the group
    // is devpts' (tty, gid=5).
    if let Some(p) = spec.process() {
        sys::fs::fchown(slave.as_fd(), p.user().uid(), u32::MAX)
            .context("giving the terminal to the process's user")?;
    }
    if let Some(size) = spec.process().as_ref().and_then(|p| p.console_size()) {
        let rows = u16::try_from(size.height()).unwrap_or(u16::MAX);
        let cols = u16::try_from(size.width()).unwrap_or(u16::MAX);
        sys::tty::set_size(slave.as_fd(), rows, cols).context("setting the console size")?;
    }
    Ok(Pty { master, slave })
}

/// Binds the terminal over /dev/console, as runc does: programs that write
/// to the console reach it. /dev is the container's; a /dev/console that is
/// a symlink is refused (it could point anywhere).
pub fn bind_console(pty: &Pty) -> Result<(), Error> {
    let path = Path::new("/dev/console");
    // Resolved inside the container's root without magic links: an image's
    // /dev could be a symlink through /proc.
    match crate::rootfs::open_in_container(
        path,
        libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY,
        0o666,
    ) {
        Ok(_) => {}
        Err(e) if e.errno() == libc::EEXIST => {}
        Err(e) => return Err(e).context("creating /dev/console"),
    }
    let target =
        crate::rootfs::open_in_container(path, libc::O_PATH, 0).context("opening /dev/console")?;
    let st = sys::fs::fstat(target.as_fd()).context("checking /dev/console")?;
    if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
        return Err(Error::Config(
            "/dev/console in the container is a symlink".into(),
        ));
    }
    // Attached to the descriptor, never through the container's /proc
    // (CVE-2025-52565: a /dev/console swapped or redirected during setup).
    let tree = sys::mount::open_tree_clone_fd(pty.slave.as_fd(), false)
        .context("binding the terminal over /dev/console")?;
    sys::mount::move_mount_to(tree.as_fd(), target.as_fd())
        .context("binding the terminal over /dev/console")
}

/// Makes the terminal the controlling terminal of this session (the caller
/// is a session leader) and the process's stdin, stdout and stderr.
pub fn attach(pty: &Pty) -> Result<(), Error> {
    sys::tty::make_controlling(pty.slave.as_fd())
        .context("making the pty the controlling terminal")?;
    for fd in 0..=2 {
        sys::tty::dup_to(pty.slave.as_fd(), fd).context("making the pty the process's stdio")?;
    }
    Ok(())
}
