//! The device controller of cgroup v2: an eBPF program of type
//! BPF_PROG_TYPE_CGROUP_DEVICE, built here from the same rules v1 takes and
//! attached to the container's cgroup2 directory.
//!
//! - `rule`: the typed rule and its v1 text.
//! - `emulator`: what a list of rules means to the v1 kernel (runc's
//!   devices emulator), reduced to a default and exceptions.
//! - `insn`, `program`: the eBPF instructions for that state.
//!
//! The kernel runs the program on every open and mknod of a block or char
//! device by a process in the cgroup or below it; on hybrid hosts too, for
//! processes in the cgroup2 directory. It returns 1 to allow and 0 to deny.

mod emulator;
mod insn;
mod program;
pub mod rule;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use sys::bpf;

use crate::{Error, Result};
use emulator::Emulator;
use program::program;

/// runc's license string; the kernel only asks it of programs calling
/// GPL-only helpers, which ours does not.
const LICENSE: &std::ffi::CStr = c"Apache";
/// The name bpftool shows for our programs.
const NAME: &str = "corten_devices";

/// Makes `rules` (as `devices::rules` lists them) the device policy of the
/// cgroup2 directory `dir`: loads their program, attaches it, then detaches
/// the programs attached before (an earlier `create`'s, for `update`).
/// Attaching first leaves no moment without a filter: while both are
/// attached, an access needs both to allow it. Like runc, every program
/// found on the cgroup is replaced, the container's cgroup being ours; one
/// we may not open (an LSM label, as with systemd's) is left, which can
/// only restrict more.
///
/// The rules are checked before anything is loaded: a rule v1 would
/// silently ignore fails here and leaves the cgroup as it was.
pub fn attach(dir: impl AsFd, rules: &[crate::devices::Rule]) -> Result<()> {
    let rules = rule::from_v1(rules)?;
    let insns = program(&Emulator::from_rules(&rules)?);
    let dir = dir.as_fd();
    let io = |reason: String| Error::Io {
        path: dir_path(dir),
        reason,
    };
    let sys_err = |e: sys::Error| io(e.to_string());
    let old = attached(dir).map_err(sys_err)?;
    let prog = bpf::prog_load(bpf::PROG_TYPE_CGROUP_DEVICE, &insns, LICENSE, NAME)
        .map_err(|e| io(e.to_string()))?;
    bpf::prog_attach(dir, prog.as_fd(), bpf::CGROUP_DEVICE, bpf::F_ALLOW_MULTI).map_err(sys_err)?;
    for fd in old {
        match bpf::prog_detach2(dir, fd.as_fd(), bpf::CGROUP_DEVICE) {
            // ENOENT: someone detached it meanwhile.
            Err(e) if e.errno() != libc::ENOENT => return Err(sys_err(e)),
            _ => {}
        }
    }
    // `prog` closes here; the attachment holds the program.
    Ok(())
}

/// Detaches every device program from the cgroup2 directory `dir` (an
/// existing cgroup reused by a new container: a killed create's rules must
/// not hold back the new init's /dev setup, which runs before the new rules
/// are set).
pub fn reset(dir: impl AsFd) -> Result<()> {
    let dir = dir.as_fd();
    let sys_err = |e: sys::Error| Error::Io {
        path: dir_path(dir),
        reason: e.to_string(),
    };
    let old = match attached(dir) {
        Ok(old) => old,
        // An unprivileged runtime may not look: it could not have attached
        // one either.
        Err(e) if matches!(e.errno(), libc::EPERM | libc::EACCES) => return Ok(()),
        Err(e) => return Err(sys_err(e)),
    };
    for fd in old {
        match bpf::prog_detach2(dir, fd.as_fd(), bpf::CGROUP_DEVICE) {
            Err(e) if e.errno() != libc::ENOENT => return Err(sys_err(e)),
            _ => {}
        }
    }
    Ok(())
}

/// Checks `rules` as [`attach`] does, for the v1 driver: a rule the v1
/// kernel would silently ignore (a hole in a wildcard) is refused on both.
pub fn check(rules: &[crate::devices::Rule]) -> Result<()> {
    Emulator::from_rules(&rule::from_v1(rules)?).map(drop)
}

/// Descriptors of the device programs attached to `dir` now, taken before
/// ours is attached so that it cannot be among them.
fn attached(dir: BorrowedFd<'_>) -> sys::Result<Vec<OwnedFd>> {
    let mut fds = Vec::new();
    for id in bpf::prog_query(dir, bpf::CGROUP_DEVICE)? {
        match bpf::prog_get_fd_by_id(id) {
            Ok(fd) => fds.push(fd),
            // Gone since the query, or not ours to touch (runc skips these).
            Err(e) if matches!(e.errno(), libc::ENOENT | libc::EPERM | libc::EACCES) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(fds)
}

/// The directory's path, for messages only.
fn dir_path(dir: BorrowedFd<'_>) -> PathBuf {
    let link = sys::fs::proc_fd_path(dir);
    std::fs::read_link(&link).unwrap_or(link)
}

#[cfg(test)]
mod tests;
