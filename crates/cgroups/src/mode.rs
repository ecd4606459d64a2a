//! Which cgroup filesystems the host has.

use std::path::Path;

/// The host's cgroup layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// cgroup2 mounted at /sys/fs/cgroup.
    Unified,
    /// v1 hierarchies only.
    Legacy,
    /// v1 hierarchies plus cgroup2 at /sys/fs/cgroup/unified.
    Hybrid,
}

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

impl Mode {
    /// Reads the host's layout from statfs of /sys/fs/cgroup.
    pub fn detect() -> Mode {
        if fs_type(Path::new("/sys/fs/cgroup")) == Some(CGROUP2_SUPER_MAGIC) {
            return Mode::Unified;
        }
        if fs_type(Path::new("/sys/fs/cgroup/unified")) == Some(CGROUP2_SUPER_MAGIC) {
            return Mode::Hybrid;
        }
        Mode::Legacy
    }
}

fn fs_type(path: &Path) -> Option<i64> {
    sys::fs::fs_type(path).ok()
}
