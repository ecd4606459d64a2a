//! config.json as `create` loads it (lifecycle::spec::from_bytes: the
//! pre-pass, oci-spec's parse, validation), then the steps `create` takes
//! on the spec before anything is made: each mount's options and
//! idmapping, and the seccomp profile compiled. The same bytes go through
//! `exec --process`'s parse. Errors are fine; a panic is a bug.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lifecycle::rootfs::MountOptions;

/// A bundle with an empty rootfs/: validation asks the filesystem only
/// whether the rootfs is a directory (and, without a mount namespace, for
/// its real path).
fn bundle() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("corten-fuzz-bundle");
        std::fs::create_dir_all(dir.join("rootfs")).expect("making the fuzz bundle");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let origin = Path::new("config.json");
    let _ = lifecycle::spec::parse_process(data, origin);
    let Ok(b) = lifecycle::spec::from_bytes(data, bundle().to_path_buf(), origin) else {
        return;
    };
    assert!(b.rootfs.is_absolute(), "{}", b.rootfs.display());
    for m in b.spec.mounts().iter().flatten() {
        let _ = MountOptions::parse(m.options().as_deref().unwrap_or_default());
    }
    if let Some(profile) = b.spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        let _ = seccomp::Filter::compile(profile);
    }
});
