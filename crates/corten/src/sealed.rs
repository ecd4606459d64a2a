//! CVE-2019-5736: the container init is a clone of this process, so its
//! /proc/PID/exe is this binary. A container that reached it (by execing
//! /proc/self/exe as its command, or through a shared pid namespace) could
//! open it for writing and replace the runtime on the host.
//!
//! Before starting a container, corten re-executes itself from a sealed
//! memfd copy: /proc/PID/exe of every process it clones is then a file the
//! kernel refuses to change (F_SEAL_WRITE), whoever opens it. The copy
//! costs one read of the binary from the page cache and one execve, paid
//! only by the commands that start container processes.

use std::ffi::{CString, OsString};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use lifecycle::error::{Context, Error};

/// Returns if this process already runs from a sealed copy; otherwise
/// replaces it with one (same argv and environment) and never returns.
pub fn ensure() -> Result<(), Error> {
    let exe = sys::fs::openat(None, Path::new("/proc/self/exe"), libc::O_RDONLY, 0)
        .context("opening /proc/self/exe")?;
    if sys::fs::seals_of(exe.as_fd()) & libc::F_SEAL_WRITE != 0 {
        return Ok(());
    }
    let memfd = sys::fs::memfd_sealable(c"corten").context("memfd_create for the sealed binary")?;
    let mut from = std::fs::File::from(exe);
    let mut to = std::fs::File::from(memfd);
    std::io::copy(&mut from, &mut to).context("copying the binary into a sealed memfd")?;
    sys::fs::seal_all(to.as_fd()).context("sealing the binary")?;
    let argv = to_cstrings(std::env::args_os())?;
    let envp = to_cstrings(std::env::vars_os().map(|(k, v)| {
        let mut kv = k;
        kv.push("=");
        kv.push(v);
        kv
    }))?;
    Err(sys::process::fexecve(to.as_fd(), &argv, &envp)).context("re-executing the sealed binary")
}

fn to_cstrings(items: impl Iterator<Item = OsString>) -> Result<Vec<CString>, Error> {
    items
        .map(|s| {
            CString::new(s.into_vec())
                .map_err(|_| Error::Config("argument or environment with a NUL byte".into()))
        })
        .collect()
}
