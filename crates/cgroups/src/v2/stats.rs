//! Statistics of a v2 cgroup in runc's `events` shape: the v1 names,
//! filled from the v2 files as runc's fs2 driver fills them, with the
//! pressure (PSI) files runc adds.

use std::path::Path;

use crate::stats::{kv, Blkio, BlkioEntry, Cpu, CpuUsage, Memory, MemoryEntry, Pids, PsiStats};
use crate::stats::{Stats, Throttling};

/// A file of the cgroup as text: `read(file)`, empty when missing.
type Files<'a> = &'a dyn Fn(&str) -> String;

fn num(read: Files<'_>, file: &str) -> u64 {
    read(file).trim().parse().unwrap_or(0)
}

/// "max" is no limit: runc reports it as the largest value.
fn limit(read: Files<'_>, file: &str) -> u64 {
    match read(file).trim() {
        "max" => u64::MAX,
        v => v.parse().unwrap_or(0),
    }
}

/// A pressure file, or none where the kernel has no PSI (as runc).
fn psi(read: Files<'_>, file: &str) -> Option<PsiStats> {
    let text = read(file);
    (!text.is_empty()).then(|| PsiStats::parse(&text))
}

/// io.stat lines ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...") as runc's
/// blkio entries: bytes and operations, Read and Write per device.
fn io_entries(text: &str) -> (Vec<BlkioEntry>, Vec<BlkioEntry>) {
    let (mut bytes, mut ios) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some((maj, min)) = fields.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (maj.parse::<u64>(), min.parse::<u64>()) else {
            continue;
        };
        for f in fields {
            let Some((k, v)) = f.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse::<u64>() else {
                continue;
            };
            let (list, op) = match k {
                "rbytes" => (&mut bytes, "Read"),
                "wbytes" => (&mut bytes, "Write"),
                "rios" => (&mut ios, "Read"),
                "wios" => (&mut ios, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value,
            });
        }
    }
    (bytes, ios)
}

/// The stats of the cgroup at `dir`.
pub fn collect(dir: &Path) -> Stats {
    from_files(&|file| std::fs::read_to_string(dir.join(file)).unwrap_or_default())
}

/// The stats from the cgroup's files, as `read(file)` gives their text
/// (the fuzz target `cgroup_stats` drives this).
pub fn from_files(read: Files<'_>) -> Stats {
    let cpu = kv(&read("cpu.stat"));
    // The kernel's counters are read as they are: a sum or product
    // saturates rather than overflow (a panic in a debug build).
    let usec = |k: &str| cpu.get(k).copied().unwrap_or(0);
    let raw = kv(&read("memory.stat"));
    let usage = num(read, "memory.current");
    let (bytes, ios) = io_entries(&read("io.stat"));
    Stats {
        cpu: Cpu {
            usage: CpuUsage {
                total: usec("usage_usec").saturating_mul(1000),
                kernel: usec("system_usec").saturating_mul(1000),
                user: usec("user_usec").saturating_mul(1000),
                ..CpuUsage::default()
            },
            throttling: Throttling {
                periods: usec("nr_periods"),
                throttled_periods: usec("nr_throttled"),
                throttled_time: usec("throttled_usec").saturating_mul(1000),
            },
            psi: psi(read, "cpu.pressure"),
        },
        memory: Memory {
            cache: raw.get("file").copied().unwrap_or(0),
            usage: MemoryEntry {
                limit: limit(read, "memory.max"),
                usage,
                max: num(read, "memory.peak"),
                failcnt: 0,
            },
            // v1's memsw counted memory and swap together; runc keeps that
            // meaning: usage and limit are the sums (unless either limit is
            // unlimited), the peak unknown.
            swap: MemoryEntry {
                limit: limit(read, "memory.swap.max").saturating_add(limit(read, "memory.max")),
                usage: num(read, "memory.swap.current").saturating_add(usage),
                max: 0,
                failcnt: 0,
            },
            raw,
            psi: psi(read, "memory.pressure"),
            ..Memory::default()
        },
        // pids.max "max" is no limit: 0.
        pids: Pids {
            current: num(read, "pids.current"),
            limit: num(read, "pids.max"),
        },
        blkio: Blkio {
            io_service_bytes_recursive: bytes,
            io_serviced_recursive: ios,
            psi: psi(read, "io.pressure"),
        },
        ..Stats::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// cpu.stat's microseconds times 1000, and memory.swap.current plus
    /// memory.current, overflowed u64 (the fuzz target proc_text).
    #[test]
    fn huge_counters_saturate_instead_of_overflowing() {
        let v = from_files(&|file| match file {
            "cpu.stat" => "usage_usec 18446744073709552\nthrottled_usec 18446744073709552\n".into(),
            "memory.swap.current" | "memory.current" => "18446744073709551615\n".into(),
            _ => String::new(),
        });
        assert_eq!(v.cpu.usage.total, u64::MAX);
        assert_eq!(v.cpu.throttling.throttled_time, u64::MAX);
        assert_eq!(v.memory.swap.usage, u64::MAX);
    }

    #[test]
    fn reads_a_fake_v2_cgroup() {
        let dir = std::env::temp_dir().join(format!("corten-stats2-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let files = [
            (
                "cpu.stat",
                "usage_usec 12\nuser_usec 5\nsystem_usec 7\nnr_periods 3\n",
            ),
            ("memory.current", "4096\n"),
            ("memory.max", "max\n"),
            ("memory.stat", "anon 4096\nfile 8192\n"),
            ("pids.current", "2\n"),
            ("pids.max", "9\n"),
            (
                "cpu.pressure",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=42\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
            ),
            (
                "io.stat",
                "8:0 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
            ),
        ];
        for (f, t) in files {
            std::fs::write(dir.join(f), t).unwrap();
        }
        let v = serde_json::to_value(collect(&dir)).unwrap();
        assert_eq!(v["cpu"]["usage"]["total"], 12_000);
        assert_eq!(v["cpu"]["usage"]["kernel"], 7_000);
        assert_eq!(v["cpu"]["throttling"]["periods"], 3);
        assert_eq!(v["memory"]["usage"]["usage"], 4096);
        assert_eq!(v["memory"]["usage"]["limit"], u64::MAX);
        assert_eq!(v["memory"]["cache"], 8192);
        assert_eq!(v["pids"], json!({"current": 2, "limit": 9}));
        assert_eq!(
            v["cpu"]["psi"],
            json!({"some": {"avg10": 0, "avg60": 0, "avg300": 0, "total": 42}})
        );
        assert_eq!(v["memory"].get("psi"), None, "no pressure file: none");
        assert_eq!(
            v["memory"].get("kernel"),
            None,
            "all zero: left out, as runc 1.4"
        );
        assert_eq!(v["cpu"]["usage"].get("percpu"), None);
        assert_eq!(
            v["blkio"]["ioServiceBytesRecursive"][0],
            json!({"major": 8, "op": "Read", "value": 512}), // minor 0: omitempty, as runc
        );
        assert_eq!(
            v["blkio"]["ioServicedRecursive"].as_array().unwrap().len(),
            2
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
