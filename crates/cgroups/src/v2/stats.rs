//! Statistics of a v2 cgroup in runc's `events` JSON shape (the v1 names,
//! filled from the v2 files as runc's fs2 driver fills them).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value};

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

fn kv(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

/// io.stat lines ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...") as runc's
/// blkio entries: bytes and operations, Read and Write per device.
fn io_entries(text: &str) -> (Vec<Value>, Vec<Value>) {
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
            list.push(json!({"major": major, "minor": minor, "op": op, "value": value}));
        }
    }
    (bytes, ios)
}

/// The stats of the cgroup at `dir`.
pub fn collect(dir: &Path) -> Value {
    from_files(&|file| std::fs::read_to_string(dir.join(file)).unwrap_or_default())
}

/// The stats from the cgroup's files, as `read(file)` gives their text
/// (the fuzz target `cgroup_stats` drives this).
pub fn from_files(read: Files<'_>) -> Value {
    let cpu = kv(&read("cpu.stat"));
    // The kernel's counters are read as they are: a sum or product
    // saturates rather than overflow (a panic in a debug build).
    let usec = |k: &str| cpu.get(k).copied().unwrap_or(0);
    let mstat = kv(&read("memory.stat"));
    let raw: Map<String, Value> = mstat.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let usage = num(read, "memory.current");
    // v1's memsw counted memory and swap together; runc keeps that meaning.
    let swap_usage = num(read, "memory.swap.current").saturating_add(usage);
    // ...and its limit likewise: swap.max plus memory.max, unless either
    // is unlimited.
    let swap_limit = limit(read, "memory.swap.max").saturating_add(limit(read, "memory.max"));
    let pids_limit = match read("pids.max").trim() {
        "max" | "" => 0,
        v => v.parse().unwrap_or(0),
    };
    let (bytes, ios) = io_entries(&read("io.stat"));
    json!({
        "cpu": {
            "usage": {
                "total": usec("usage_usec").saturating_mul(1000),
                "percpu": [],
                "kernel": usec("system_usec").saturating_mul(1000),
                "user": usec("user_usec").saturating_mul(1000),
            },
            "throttling": {
                "periods": usec("nr_periods"),
                "throttledPeriods": usec("nr_throttled"),
                "throttledTime": usec("throttled_usec").saturating_mul(1000),
            }
        },
        "memory": {
            "cache": mstat.get("file").copied().unwrap_or(0),
            "usage": {"usage": usage, "limit": limit(read, "memory.max"), "max": num(read, "memory.peak"), "failcnt": 0},
            "swap": {"usage": swap_usage, "limit": swap_limit, "max": 0, "failcnt": 0},
            "kernel": {"usage": 0, "limit": 0, "max": 0, "failcnt": 0},
            "kernelTCP": {"usage": 0, "limit": 0, "max": 0, "failcnt": 0},
            "raw": raw,
        },
        "pids": {"current": num(read, "pids.current"), "limit": pids_limit},
        "blkio": {"ioServiceBytesRecursive": bytes, "ioServicedRecursive": ios},
        "hugetlb": {},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// cpu.stat's microseconds times 1000, and memory.swap.current plus
    /// memory.current, overflowed u64 (the fuzz target proc_text).
    #[test]
    fn huge_counters_saturate_instead_of_overflowing() {
        let v = from_files(&|file| match file {
            "cpu.stat" => "usage_usec 18446744073709552\nthrottled_usec 18446744073709552\n".into(),
            "memory.swap.current" | "memory.current" => "18446744073709551615\n".into(),
            _ => String::new(),
        });
        assert_eq!(v["cpu"]["usage"]["total"], u64::MAX);
        assert_eq!(v["cpu"]["throttling"]["throttledTime"], u64::MAX);
        assert_eq!(v["memory"]["swap"]["usage"], u64::MAX);
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
                "io.stat",
                "8:0 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
            ),
        ];
        for (f, t) in files {
            std::fs::write(dir.join(f), t).unwrap();
        }
        let v = collect(&dir);
        assert_eq!(v["cpu"]["usage"]["total"], 12_000);
        assert_eq!(v["cpu"]["usage"]["kernel"], 7_000);
        assert_eq!(v["cpu"]["throttling"]["periods"], 3);
        assert_eq!(v["memory"]["usage"]["usage"], 4096);
        assert_eq!(v["memory"]["usage"]["limit"], u64::MAX);
        assert_eq!(v["memory"]["cache"], 8192);
        assert_eq!(v["pids"], json!({"current": 2, "limit": 9}));
        assert_eq!(
            v["blkio"]["ioServiceBytesRecursive"][0],
            json!({"major": 8, "minor": 0, "op": "Read", "value": 512})
        );
        assert_eq!(
            v["blkio"]["ioServicedRecursive"].as_array().unwrap().len(),
            2
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
