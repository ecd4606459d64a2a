//! Which descriptors the container's process inherits.

use crate::error::{Context, Error};

/// Marks every fd from 3 + `preserve` up close-on-exec and clears the flag
/// on 3 .. 3 + `preserve`, so execve leaves exactly stdio and the preserved
/// range. The runtime keeps its own descriptors above that range
/// (`sys::fs::dup_at_least`), so none of them can slip in.
pub fn close_on_exec(preserve: u32) -> Result<(), Error> {
    let first = 3 + preserve as i32;
    sys::fs::cloexec_from(first).context("marking descriptors close-on-exec")?;
    for fd in 3..first {
        if sys::fs::is_open(fd) {
            sys::fs::set_cloexec(fd, false).with_context(|| format!("preserving fd {fd}"))?;
        }
    }
    Ok(())
}
