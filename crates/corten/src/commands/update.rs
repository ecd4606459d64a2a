//! `corten update [-r FILE|-] [--memory N ...] ID`: new limits for a
//! container, from LinuxResources JSON and runc's per-resource flags (the
//! flags win).

use std::io::Read;

use lifecycle::state::Store;
use lifecycle::Error;
use serde_json::{json, Value};

use crate::cli::UpdateArgs;

pub fn run(store: &Store, a: &UpdateArgs) -> Result<i32, Error> {
    if a.kernel_memory.is_some() || a.kernel_memory_tcp.is_some() {
        return Err(Error::Unsupported(
            "--kernel-memory (no v1 kernel memory accounting on current kernels)".into(),
        ));
    }
    if a.l3_cache_schema.is_some() || a.mem_bw_schema.is_some() {
        return Err(Error::Unsupported(
            "Intel RDT (--l3-cache-schema, --mem-bw-schema)".into(),
        ));
    }
    let mut v: Value = match a.resources.as_deref() {
        Some(source) => {
            let mut text = String::new();
            let read = if source == "-" {
                std::io::stdin().read_to_string(&mut text).map(drop)
            } else {
                std::fs::read_to_string(source).map(|t| text = t)
            };
            read.map_err(|e| Error::Io {
                context: format!("reading {source}"),
                source: e,
            })?;
            serde_json::from_str(&text)
                .map_err(|e| Error::Config(format!("resources {source}: {e}")))?
        }
        None => json!({}),
    };
    let mut set = |path: &[&str], value: Value| {
        let mut cur = &mut v;
        for key in &path[..path.len() - 1] {
            cur = cur
                .as_object_mut()
                .map(|o| o.entry(key.to_string()).or_insert_with(|| json!({})))
                .expect("objects");
        }
        cur[path[path.len() - 1]] = value;
    };
    if let Some(x) = a.blkio_weight {
        set(&["blockIO", "weight"], json!(x));
    }
    if let Some(x) = a.cpu_period {
        set(&["cpu", "period"], json!(x));
    }
    if let Some(x) = a.cpu_quota {
        set(&["cpu", "quota"], json!(x));
    }
    if let Some(x) = a.cpu_share {
        set(&["cpu", "shares"], json!(x));
    }
    if let Some(x) = a.cpu_rt_period {
        set(&["cpu", "realtimePeriod"], json!(x));
    }
    if let Some(x) = a.cpu_rt_runtime {
        set(&["cpu", "realtimeRuntime"], json!(x));
    }
    if let Some(x) = a.cpu_idle {
        set(&["cpu", "idle"], json!(x));
    }
    if let Some(x) = &a.cpuset_cpus {
        set(&["cpu", "cpus"], json!(x));
    }
    if let Some(x) = &a.cpuset_mems {
        set(&["cpu", "mems"], json!(x));
    }
    for (flag, key) in [
        (&a.memory, "limit"),
        (&a.memory_reservation, "reservation"),
        (&a.memory_swap, "swap"),
    ] {
        if let Some(x) = flag {
            set(&["memory", key], json!(parse_bytes(x)?));
        }
    }
    if let Some(x) = a.pids_limit {
        set(&["pids", "limit"], json!(x));
    }
    let resources =
        serde_json::from_value(v).map_err(|e| Error::Config(format!("resources: {e}")))?;
    lifecycle::container::update(store, &a.id, &resources)?;
    Ok(0)
}

/// Bytes, or a number with a k, m, g or t suffix (binary units, as runc's
/// RAMInBytes); -1 means no limit.
fn parse_bytes(s: &str) -> Result<i64, Error> {
    let bad = || Error::Config(format!("invalid size {s:?}"));
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.strip_suffix('b').unwrap_or(&t);
    let t = t.strip_suffix('i').unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num.trim().parse().map_err(|_| bad())?;
    if n < 0.0 {
        return Err(bad());
    }
    Ok((n * mult as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn sizes_parse_as_runc() {
        assert_eq!(parse_bytes("1024").unwrap(), 1024);
        assert_eq!(parse_bytes("100M").unwrap(), 100 << 20);
        assert_eq!(parse_bytes("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_bytes("2KiB").unwrap(), 2048);
        assert_eq!(parse_bytes("-1").unwrap(), -1);
        assert!(parse_bytes("x").is_err());
        assert!(parse_bytes("-5").is_err());
    }
}
