//! `corten update [-r FILE|-] [--memory N ...] ID`: new limits for a
//! container, from LinuxResources JSON or runc's per-resource flags. As
//! with runc, a JSON file makes the flags be ignored, and kernel memory
//! limits are ignored with runc's warning.

use lifecycle::state::Store;
use lifecycle::Error;
use serde_json::{json, Value};

use crate::cli::UpdateArgs;
use crate::log::Logger;

/// runc's words for the kernel memory limits it ignores.
const KERNEL_MEMORY_IGNORED: &str = "kernel memory settings are ignored and will be removed";

pub fn run(store: &Store, a: &UpdateArgs, log: &Logger) -> Result<i32, Error> {
    if a.l3_cache_schema.is_some() || a.mem_bw_schema.is_some() {
        return Err(Error::Unsupported(
            "Intel RDT (--l3-cache-schema, --mem-bw-schema)".into(),
        ));
    }
    let mut v = match a.resources.as_deref() {
        Some(source) => from_json(source)?,
        None => from_flags(a)?,
    };
    let root = v
        .as_object_mut()
        .ok_or_else(|| Error::Config("resources must be a JSON object".into()))?;
    let mut kernel = false;
    if let Some(memory) = root.get_mut("memory").and_then(Value::as_object_mut) {
        kernel |= memory.remove("kernel").is_some();
        kernel |= memory.remove("kernelTCP").is_some();
    }
    if a.resources.is_none() {
        let memory = |x: &Option<String>| x.as_deref().map(parse_bytes).transpose();
        kernel |= memory(&a.kernel_memory)?.is_some() | memory(&a.kernel_memory_tcp)?.is_some();
    }
    if kernel {
        log.warn(KERNEL_MEMORY_IGNORED);
    }
    drop_unset(root);
    let resources =
        serde_json::from_value(v).map_err(|e| Error::Config(format!("resources: {e}")))?;
    lifecycle::container::update(store, &a.id, &resources)?;
    Ok(0)
}

/// The values runc's update takes for "not given": a 0 limit, shares or
/// period, an empty cpuset. Left in, they would be merged over the saved
/// values (v2's cpu.max would lose its quota to "max").
fn drop_unset(root: &mut serde_json::Map<String, Value>) {
    const UNSET_AT_ZERO: [(&str, &[&str]); 4] = [
        ("memory", &["limit", "reservation", "swap"]),
        (
            "cpu",
            &[
                "shares",
                "quota",
                "period",
                "realtimePeriod",
                "realtimeRuntime",
            ],
        ),
        ("pids", &["limit"]),
        ("blockIO", &["weight"]),
    ];
    for (section, keys) in UNSET_AT_ZERO {
        let Some(obj) = root.get_mut(section).and_then(Value::as_object_mut) else {
            continue;
        };
        obj.retain(|k, v| !(keys.contains(&k.as_str()) && v.as_i64() == Some(0)));
        if section == "cpu" {
            obj.retain(|k, v| !(matches!(k.as_str(), "cpus" | "mems") && v.as_str() == Some("")));
        }
    }
}

/// LinuxResources JSON from a file, or stdin for "-".
fn from_json(source: &str) -> Result<Value, Error> {
    let text = if source == "-" {
        lifecycle::spec::read_stream(std::io::stdin().lock())
    } else {
        lifecycle::spec::read_file(std::path::Path::new(source))
    };
    let text = text.map_err(|e| Error::Io {
        context: format!("reading {source}"),
        source: e,
    })?;
    serde_json::from_slice(&text).map_err(|e| Error::Config(format!("resources {source}: {e}")))
}

/// runc's flags, each the field it sets.
fn from_flags(a: &UpdateArgs) -> Result<Value, Error> {
    let memory = |x: &Option<String>| x.as_deref().map(parse_bytes).transpose();
    let flags: [(&str, &str, Option<Value>); 13] = [
        ("blockIO", "weight", a.blkio_weight.map(|x| json!(x))),
        ("cpu", "period", a.cpu_period.map(|x| json!(x))),
        ("cpu", "quota", a.cpu_quota.map(|x| json!(x))),
        ("cpu", "shares", a.cpu_share.map(|x| json!(x))),
        ("cpu", "realtimePeriod", a.cpu_rt_period.map(|x| json!(x))),
        ("cpu", "realtimeRuntime", a.cpu_rt_runtime.map(|x| json!(x))),
        ("cpu", "idle", a.cpu_idle.map(|x| json!(x))),
        ("cpu", "cpus", a.cpuset_cpus.as_ref().map(|x| json!(x))),
        ("cpu", "mems", a.cpuset_mems.as_ref().map(|x| json!(x))),
        ("memory", "limit", memory(&a.memory)?.map(|x| json!(x))),
        (
            "memory",
            "reservation",
            memory(&a.memory_reservation)?.map(|x| json!(x)),
        ),
        ("memory", "swap", memory(&a.memory_swap)?.map(|x| json!(x))),
        ("pids", "limit", a.pids_limit.map(|x| json!(x))),
    ];
    let mut root = serde_json::Map::new();
    for (section, key, value) in flags {
        let Some(value) = value else { continue };
        let entry = root.entry(section.to_string()).or_insert_with(|| json!({}));
        if let Some(obj) = entry.as_object_mut() {
            obj.insert(key.to_string(), value);
        }
    }
    Ok(Value::Object(root))
}

/// Bytes, or a number with a k, m, g or t suffix (binary units, as runc's
/// RAMInBytes); -1 means no limit.
pub(crate) fn parse_bytes(s: &str) -> Result<i64, Error> {
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
    // "nan" and "inf" parse as floats; NaN would become a limit of 0.
    if !(0.0..=f64::MAX).contains(&n) {
        return Err(bad());
    }
    Ok((n * mult as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn nan_and_infinite_sizes_are_refused() {
        assert!(parse_bytes("nan").is_err());
        assert!(parse_bytes("NaNm").is_err());
        assert!(parse_bytes("inf").is_err());
        assert!(parse_bytes("-1k").is_err());
    }

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
