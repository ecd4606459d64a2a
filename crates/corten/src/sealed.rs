//! CVE-2019-5736: the container init is a clone of this process, so its
//! /proc/PID/exe is this binary. A container that reached it (by execing
//! /proc/self/exe as its command, directly or as a script's interpreter, or
//! through a shared pid namespace) could open it for writing and replace
//! the runtime on the host.
//!
//! Before starting a container, corten re-executes itself from a copy no
//! one can write: a detached read-only bind mount of the binary (a mount in
//! no namespace, so no one can remount it; writes fail with EROFS), or where
//! that is not allowed, a sealed memfd copy (F_SEAL_WRITE). The bind costs
//! two system calls and the execve; the copy also a read of the binary.

use std::ffi::{CString, OsString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use lifecycle::error::{Context, Error};

const SELF_EXE: &str = "/proc/self/exe";

/// Returns if this process already runs from a copy no one can write;
/// otherwise replaces it with one (same argv and environment) and never
/// returns.
pub fn ensure() -> Result<(), Error> {
    let exe = sys::fs::openat(None, Path::new(SELF_EXE), libc::O_RDONLY, 0)
        .context("opening /proc/self/exe")?;
    if is_unwritable(&exe) {
        return Ok(());
    }
    let image = match sys::mount::detached_readonly_bind(Path::new(SELF_EXE)) {
        Ok(fd) => fd,
        Err(_) => sealed_copy(exe)?,
    };
    let argv = to_cstrings(std::env::args_os())?;
    let envp = to_cstrings(std::env::vars_os().map(|(k, v)| {
        let mut kv = k;
        kv.push("=");
        kv.push(v);
        kv
    }))?;
    Err(sys::process::fexecve(image.as_fd(), &argv, &envp))
        .context("re-executing from a read-only copy")
}

/// A sealed memfd or a file on a read-only mount.
fn is_unwritable(exe: &OwnedFd) -> bool {
    sys::fs::seals_of(exe.as_fd()) & libc::F_SEAL_WRITE != 0
        || sys::fs::mount_flags_of(exe.as_fd()).is_ok_and(|f| f & libc::ST_RDONLY != 0)
}

fn sealed_copy(exe: OwnedFd) -> Result<OwnedFd, Error> {
    let memfd = sys::fs::memfd_sealable(c"corten").context("memfd_create for the sealed binary")?;
    let mut from = std::fs::File::from(exe);
    let mut to = std::fs::File::from(memfd);
    std::io::copy(&mut from, &mut to).context("copying the binary into a sealed memfd")?;
    sys::fs::seal_all(to.as_fd()).context("sealing the binary")?;
    Ok(OwnedFd::from(to))
}

fn to_cstrings(items: impl Iterator<Item = OsString>) -> Result<Vec<CString>, Error> {
    items
        .map(|s| {
            CString::new(s.into_vec())
                .map_err(|_| Error::Config("argument or environment with a NUL byte".into()))
        })
        .collect()
}
