//! A mount's options (lifecycle::rootfs::MountOptions::parse), one per
//! line of the input. Every option is either understood or handed to the
//! filesystem as data, never dropped; a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifecycle::rootfs::MountOptions;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let options: Vec<String> = text.split('\n').map(String::from).collect();
    let Ok(parsed) = MountOptions::parse(&options) else {
        return;
    };
    // What goes to the filesystem came from the options.
    for d in parsed.data.split(',').filter(|d| !d.is_empty()) {
        assert!(options.iter().any(|o| o.contains(d)), "{d:?} from nowhere");
    }
    assert_eq!(
        MountOptions::parse(&options).ok(),
        Some(parsed),
        "deterministic"
    );
});
