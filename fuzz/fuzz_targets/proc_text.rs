//! The parsers of kernel text: mountinfo (the runtime's cgroup hierarchies
//! and the test probe's mount list), /proc/PID/cgroup, /proc/PID/stat (the
//! init's start time), and the v1 and v2 cgroup statistics files `events
//! --stats` reads. The input is the text of each; for the statistics, its
//! NUL-separated parts are the files in the order of FILES. A panic (an
//! overflow included) is a bug.
#![no_main]

// The in-container probe's mountinfo parser (crates/probe is a binary; its
// module is compiled here from the same file).
#[path = "../../crates/probe/src/mountinfo.rs"]
mod probe_mountinfo;

use cgroups::mountinfo;
use libfuzzer_sys::fuzz_target;

/// The statistics files, v1 and v2, in the order the input's parts fill them.
const FILES: [&str; 24] = [
    "cpuacct.stat",
    "cpuacct.usage",
    "cpuacct.usage_percpu",
    "cpuacct.usage_percpu_sys",
    "cpuacct.usage_percpu_user",
    "cpu.stat",
    "memory.stat",
    "memory.limit_in_bytes",
    "memory.usage_in_bytes",
    "memory.max_usage_in_bytes",
    "memory.memsw.usage_in_bytes",
    "memory.memsw.limit_in_bytes",
    "pids.current",
    "pids.max",
    "blkio.throttle.io_service_bytes_recursive",
    "blkio.throttle.io_serviced_recursive",
    "memory.current",
    "memory.max",
    "memory.peak",
    "memory.swap.current",
    "memory.swap.max",
    "io.stat",
    "memory.kmem.usage_in_bytes",
    "memory.failcnt",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for h in mountinfo::hierarchies(text) {
        assert!(!h.fstype.is_empty());
        let _ = h.has("cpu");
        let path = mountinfo::path_in(text, &h);
        let _ = mountinfo::under(&h.mount_point, &path);
    }
    for m in probe_mountinfo::parse(text) {
        let _ = m.to_json();
    }
    let _ = lifecycle::state::parse_stat(text);
    let parts: Vec<&str> = text.split('\0').collect();
    let file = |name: &str| {
        let i = FILES.iter().position(|f| *f == name)?;
        parts.get(i).map(|s| s.to_string())
    };
    let _ = cgroups::fuzzing::v1_stats(&|_, name| file(name));
    let _ = cgroups::fuzzing::v2_stats(&|name| file(name).unwrap_or_default());
});
