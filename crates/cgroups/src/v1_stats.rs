//! Statistics of a v1 cgroup: each controller's files, read as runc's fs
//! driver reads them, into [`Stats`].

use crate::stats::{cpu_list, kv, Blkio, BlkioEntry, Cpu, CpuSet, CpuUsage, Memory, MemoryEntry};
use crate::stats::{Pids, Stats, Throttling};

/// A controller's file as text: `read(controller, file)`.
type Files<'a> = &'a dyn Fn(&str, &str) -> Option<String>;

fn num(read: Files<'_>, controller: &str, file: &str) -> u64 {
    read(controller, file)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Nanoseconds per clock tick (cpuacct.stat counts in USER_HZ ticks).
fn ns_per_tick() -> u64 {
    1_000_000_000 / sys::process::clock_ticks().max(1)
}

/// blkio "MAJ:MIN Op value" lines.
fn blkio_entries(text: Option<String>) -> Vec<BlkioEntry> {
    text.unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (maj, min) = f.first()?.split_once(':')?;
            Some(BlkioEntry {
                major: maj.parse().ok()?,
                minor: min.parse().ok()?,
                op: f.get(1)?.to_string(),
                value: f.get(2)?.parse().ok()?,
            })
        })
        .collect()
}

/// The stats of the hierarchies `dir_of` finds by controller.
pub fn collect(dir_of: &dyn Fn(&str) -> Option<std::path::PathBuf>) -> Stats {
    let dirs: Vec<(&str, Option<std::path::PathBuf>)> =
        ["cpuacct", "cpu", "cpuset", "memory", "pids", "blkio"]
            .into_iter()
            .map(|c| (c, dir_of(c)))
            .collect();
    from_files(&|controller, file| {
        let dir = dirs.iter().find(|(c, _)| *c == controller)?.1.as_deref()?;
        std::fs::read_to_string(dir.join(file)).ok()
    })
}

/// The stats from the controllers' files, as `read(controller, file)`
/// gives their text (the fuzz target `cgroup_stats` drives this).
pub fn from_files(read: Files<'_>) -> Stats {
    let percpu = |file: &str| -> Vec<u64> {
        read("cpuacct", file)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect()
    };
    let acct = kv(&read("cpuacct", "cpuacct.stat").unwrap_or_default());
    // The kernel's counters are read as they are: a product saturates
    // rather than overflow (a panic in a debug build, nonsense in release).
    let tick = ns_per_tick();
    let throttle = kv(&read("cpu", "cpu.stat").unwrap_or_default());
    let mstat = kv(&read("memory", "memory.stat").unwrap_or_default());
    let mem_entry = |prefix: &str| MemoryEntry {
        limit: num(read, "memory", &format!("{prefix}limit_in_bytes")),
        usage: num(read, "memory", &format!("{prefix}usage_in_bytes")),
        max: num(read, "memory", &format!("{prefix}max_usage_in_bytes")),
        failcnt: num(read, "memory", &format!("{prefix}failcnt")),
    };
    let cpuset = |file: &str| num(read, "cpuset", &format!("cpuset.{file}"));
    Stats {
        cpu: Cpu {
            usage: CpuUsage {
                total: num(read, "cpuacct", "cpuacct.usage"),
                percpu: percpu("cpuacct.usage_percpu"),
                percpu_kernel: percpu("cpuacct.usage_percpu_sys"),
                percpu_user: percpu("cpuacct.usage_percpu_user"),
                kernel: acct
                    .get("system")
                    .copied()
                    .unwrap_or(0)
                    .saturating_mul(tick),
                user: acct.get("user").copied().unwrap_or(0).saturating_mul(tick),
            },
            throttling: Throttling {
                periods: throttle.get("nr_periods").copied().unwrap_or(0),
                throttled_periods: throttle.get("nr_throttled").copied().unwrap_or(0),
                throttled_time: throttle.get("throttled_time").copied().unwrap_or(0),
            },
            psi: None,
        },
        cpuset: CpuSet {
            cpus: cpu_list(&read("cpuset", "cpuset.cpus").unwrap_or_default()),
            cpu_exclusive: cpuset("cpu_exclusive"),
            mems: cpu_list(&read("cpuset", "cpuset.mems").unwrap_or_default()),
            mem_hardwall: cpuset("mem_hardwall"),
            mem_exclusive: cpuset("mem_exclusive"),
            memory_migrate: cpuset("memory_migrate"),
            memory_spread_page: cpuset("memory_spread_page"),
            memory_spread_slab: cpuset("memory_spread_slab"),
            memory_pressure: cpuset("memory_pressure"),
            sched_load_balance: cpuset("sched_load_balance"),
            sched_relax_domain_level: read("cpuset", "cpuset.sched_relax_domain_level")
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0),
        },
        memory: Memory {
            cache: mstat.get("cache").copied().unwrap_or(0),
            usage: mem_entry("memory."),
            swap: mem_entry("memory.memsw."),
            kernel: mem_entry("memory.kmem."),
            kernel_tcp: mem_entry("memory.kmem.tcp."),
            raw: mstat,
            psi: None,
        },
        // pids.max "max" is no limit: 0.
        pids: Pids {
            current: num(read, "pids", "pids.current"),
            limit: num(read, "pids", "pids.max"),
        },
        blkio: Blkio {
            io_service_bytes_recursive: blkio_entries(read(
                "blkio",
                "blkio.throttle.io_service_bytes_recursive",
            )),
            io_serviced_recursive: blkio_entries(read(
                "blkio",
                "blkio.throttle.io_serviced_recursive",
            )),
            psi: None,
        },
        ..Stats::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// cpuacct.stat's ticks times the nanoseconds per tick overflowed u64
    /// (found by the fuzz target proc_text).
    #[test]
    fn huge_cpuacct_ticks_saturate_instead_of_overflowing() {
        let v = from_files(&|_, file| {
            (file == "cpuacct.stat").then(|| "user 10744073709551615\nsystem 5\n".to_string())
        });
        assert_eq!(v.cpu.usage.user, u64::MAX);
        assert_eq!(v.cpu.usage.kernel, 5 * ns_per_tick());
    }

    #[test]
    fn reads_a_fake_cgroup() {
        let base = std::env::temp_dir().join(format!("corten-stats-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        for d in ["cpuacct", "cpuset", "memory", "pids", "blkio"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
        }
        std::fs::write(base.join("cpuacct/cpuacct.usage"), "12345\n").unwrap();
        std::fs::write(base.join("cpuacct/cpuacct.usage_percpu"), "10000 2345 \n").unwrap();
        std::fs::write(base.join("memory/memory.usage_in_bytes"), "4096\n").unwrap();
        std::fs::write(base.join("memory/memory.stat"), "cache 8192\nrss 4096\n").unwrap();
        std::fs::write(base.join("cpuset/cpuset.cpus"), "0-1\n").unwrap();
        std::fs::write(base.join("cpuset/cpuset.sched_relax_domain_level"), "-1\n").unwrap();
        std::fs::write(base.join("pids/pids.current"), "3\n").unwrap();
        std::fs::write(base.join("pids/pids.max"), "max\n").unwrap();
        std::fs::write(
            base.join("blkio/blkio.throttle.io_service_bytes_recursive"),
            "8:0 Read 512\nTotal 512\n",
        )
        .unwrap();
        let b = base.clone();
        let v = serde_json::to_value(collect(&move |c| Some(b.join(c)))).unwrap();
        assert_eq!(v["cpu"]["usage"]["total"], 12345);
        assert_eq!(v["cpu"]["usage"]["percpu"], json!([10000, 2345]));
        assert_eq!(v["memory"]["usage"]["usage"], 4096);
        assert_eq!(v["memory"]["cache"], 8192);
        assert_eq!(v["memory"]["raw"]["rss"], 4096);
        assert_eq!(v["pids"], json!({"current": 3}));
        assert_eq!(v["cpuset"]["cpus"], json!([0, 1]));
        assert_eq!(v["cpuset"]["sched_relax_domain_level"], -1);
        assert_eq!(v["cpu"].get("throttling"), None, "all zero: left out");
        assert_eq!(
            v["blkio"]["ioServiceBytesRecursive"],
            json!([{"major": 8, "op": "Read", "value": 512}]), // minor 0: omitempty, as runc
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
