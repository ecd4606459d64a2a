//! Pseudo-terminals: the container's pty pair, its size, and making it the
//! controlling terminal and the stdio of a process.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::{check, Result};

/// Unlocks a pty master's peer (TIOCSPTLCK 0), as unlockpt(3).
pub fn unlock(master: BorrowedFd<'_>) -> Result<()> {
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from the pointer, which is live.
    let ret = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) };
    check(ret, "ioctl(TIOCSPTLCK)").map(drop)
}

/// Opens a pty master's peer by the master itself (TIOCGPTPEER, Linux
/// 4.13): no path to /dev/pts/N that the container could swap.
pub fn open_peer(master: BorrowedFd<'_>) -> Result<OwnedFd> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes the open flags as its integer argument and
    // returns a new descriptor.
    let ret = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) };
    let fd = check(ret, "ioctl(TIOCGPTPEER)")?;
    // SAFETY: the ioctl returned a new descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The number N of the pty's /dev/pts/N (TIOCGPTN).
pub fn pty_number(master: BorrowedFd<'_>) -> Result<u32> {
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one unsigned int through the live pointer.
    let ret = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n) };
    check(ret, "ioctl(TIOCGPTN)").map(|_| n)
}

/// Sets a terminal's size in characters (TIOCSWINSZ).
pub fn set_size(tty: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from the live pointer.
    let ret = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    check(ret, "ioctl(TIOCSWINSZ)").map(drop)
}

/// A terminal's size (rows, cols) (TIOCGWINSZ).
pub fn size(tty: BorrowedFd<'_>) -> Result<(u16, u16)> {
    // SAFETY: winsize is plain data; all-zero is valid.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize through the live pointer.
    let ret = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    check(ret, "ioctl(TIOCGWINSZ)").map(|_| (ws.ws_row, ws.ws_col))
}

/// Makes `tty` the controlling terminal of the calling session leader.
pub fn make_controlling(tty: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal).
    let ret = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSCTTY, 0) };
    check(ret, "ioctl(TIOCSCTTY)").map(drop)
}

/// `dup2(fd, target)`: the new descriptor is not close-on-exec.
pub fn dup_to(fd: BorrowedFd<'_>, target: libc::c_int) -> Result<()> {
    // SAFETY: dup2 takes two integers; replacing `target` is the point.
    let ret = unsafe { libc::dup2(fd.as_raw_fd(), target) };
    check(ret, "dup2").map(drop)
}

/// Whether `fd` is a terminal.
pub fn is_terminal(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd.as_raw_fd()) == 1 }
}

/// A terminal's attributes, to restore them later.
pub struct Attrs(libc::termios);

/// Puts a terminal into raw mode (cfmakeraw); returns its old attributes.
pub fn make_raw(tty: BorrowedFd<'_>) -> Result<Attrs> {
    // SAFETY: termios is plain data; all-zero is valid before tcgetattr fills it.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: tcgetattr writes one termios through the live pointer.
    let ret = unsafe { libc::tcgetattr(tty.as_raw_fd(), &mut t) };
    check(ret, "tcgetattr")?;
    let old = Attrs(t);
    // SAFETY: cfmakeraw edits the termios we own.
    unsafe { libc::cfmakeraw(&mut t) };
    // SAFETY: tcsetattr reads one termios from the live pointer.
    let ret = unsafe { libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, &t) };
    check(ret, "tcsetattr")?;
    Ok(old)
}

/// Restores attributes saved by [`make_raw`].
pub fn restore(tty: BorrowedFd<'_>, attrs: &Attrs) -> Result<()> {
    // SAFETY: tcsetattr reads one termios from the live pointer.
    let ret = unsafe { libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, &attrs.0) };
    check(ret, "tcsetattr").map(drop)
}
