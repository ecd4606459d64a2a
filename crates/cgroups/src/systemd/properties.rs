//! Unit properties for what systemd can limit itself, converted from the
//! config's resources the way runc's systemd drivers convert them
//! (opencontainers/cgroups systemd/v1.go, v2.go, devices/systemd.go).
//! What has no property is written to the scope's files by the cgroupfs
//! drivers afterwards, so every resource still lands; a property systemd
//! knows keeps the limit when systemd re-applies its units (daemon-reload).

use oci_spec::runtime::LinuxResources;

use super::wire::Value;
use crate::{Error, Result};

/// One unit property: its name and its value.
pub type Property = (String, Value);

fn prop(name: &str, v: Value) -> Property {
    (name.to_string(), v)
}

/// systemd's USEC_INFINITY and the "infinity" of every limit.
const INFINITY: u64 = u64::MAX;
/// The kernel's default cfs period, which systemd assumes.
const DEFAULT_PERIOD: u64 = 100_000;

/// A limit in the spec's convention (-1 unlimited) as systemd's.
fn limit(v: i64) -> u64 {
    if v < 0 {
        INFINITY
    } else {
        v as u64
    }
}

/// The resource properties, and the cpu quota the files must get to agree
/// with systemd's rounding (runc writes the rounded quota to the files as
/// well). `unified`: a cgroup v2 host. `version`: systemd's (properties
/// it is too old for are left to the files, as runc does).
pub fn resources(
    r: &LinuxResources,
    unified: bool,
    version: u32,
) -> Result<(Vec<Property>, Option<i64>)> {
    let mut out = Vec::new();
    let mut quota_for_files = None;
    let memory = r.memory().as_ref();
    let mem_limit = memory.and_then(|m| m.limit()).unwrap_or(0);
    if mem_limit != 0 {
        let name = if unified { "MemoryMax" } else { "MemoryLimit" };
        out.push(prop(name, Value::U64(limit(mem_limit))));
    }
    if unified {
        if let Some(v) = memory.and_then(|m| m.reservation()).filter(|&v| v != 0) {
            out.push(prop("MemoryLow", Value::U64(limit(v))));
        }
        if let Some(swap) =
            crate::v2::resources::swap_max(memory.and_then(|m| m.swap()).unwrap_or(0), mem_limit)?
        {
            let v = swap.parse().unwrap_or(INFINITY);
            out.push(prop("MemorySwapMax", Value::U64(v)));
        }
    }
    if let Some(cpu) = r.cpu() {
        let idle = unified && cpu.idle() == Some(1) && version >= 252;
        if idle {
            // CPUWeight=0 is how systemd is told cpu.idle=1.
            out.push(prop("CPUWeight", Value::U64(0)));
        }
        if let Some(s) = cpu.shares().filter(|&s| s != 0) {
            if !unified {
                out.push(prop("CPUShares", Value::U64(s)));
            } else if !idle {
                let w = crate::v2::resources::cpu_weight(s);
                out.push(prop("CPUWeight", Value::U64(w)));
            }
        }
        let mut quota = cpu.quota().unwrap_or(0);
        let period = cpu.period().unwrap_or(0);
        cpu_quota(&mut out, &mut quota, period, version);
        if quota != cpu.quota().unwrap_or(0) {
            quota_for_files = Some(quota);
        }
        if version >= 244 {
            if let Some(cpus) = cpu.cpus().as_deref().filter(|c| !c.is_empty()) {
                out.push(prop("AllowedCPUs", bytes(range_to_bits(cpus)?)));
            }
            if let Some(mems) = cpu.mems().as_deref().filter(|c| !c.is_empty()) {
                out.push(prop("AllowedMemoryNodes", bytes(range_to_bits(mems)?)));
            }
        }
    }
    if !unified {
        if let Some(w) = r.block_io().as_ref().and_then(|b| b.weight()) {
            if w != 0 {
                out.push(prop("BlockIOWeight", Value::U64(u64::from(w))));
            }
        }
    }
    if let Some(p) = r.pids() {
        if p.limit() != 0 {
            out.push(prop("TasksMax", Value::U64(limit(p.limit()))));
        }
    }
    if unified {
        let mut keys: Vec<_> = r.unified().iter().flatten().collect();
        keys.sort();
        for (k, v) in keys {
            unified_key(&mut out, k, v.trim(), version, r)?;
        }
    }
    Ok((out, quota_for_files))
}

/// CPUQuotaPerSecUSec (and the period, systemd 242+): systemd keeps the
/// quota as a percentage, so a fraction of a percent is rounded up, and
/// the files get the same rounded quota (runc's addCPUQuota).
fn cpu_quota(out: &mut Vec<Property>, quota: &mut i64, period: u64, version: u32) {
    if period != 0 && version >= 242 {
        out.push(prop("CPUQuotaPeriodUSec", Value::U64(period)));
    }
    if *quota == 0 && period == 0 {
        return;
    }
    let mut per_sec = INFINITY;
    if *quota > 0 {
        let period = if period == 0 { DEFAULT_PERIOD } else { period };
        per_sec = (*quota as u64).saturating_mul(1_000_000) / period;
        if !per_sec.is_multiple_of(10_000) {
            per_sec = (per_sec / 10_000 + 1) * 10_000;
            *quota = (per_sec * period / 1_000_000) as i64;
        }
    }
    out.push(prop("CPUQuotaPerSecUSec", Value::U64(per_sec)));
}

/// A `linux.resources.unified` key systemd has a property for (runc's
/// unifiedResToSystemdProps); the others are left to the files.
fn unified_key(
    out: &mut Vec<Property>,
    key: &str,
    v: &str,
    version: u32,
    r: &LinuxResources,
) -> Result<()> {
    let bad = |what: &str| Error::Invalid(format!("unified resource {key:?} {what}: {v:?}"));
    let num_or_max = |v: &str| -> Result<u64> {
        if v == "max" {
            Ok(INFINITY)
        } else {
            v.parse().map_err(|_| bad("value"))
        }
    };
    match key {
        "cpu.idle" if v == "1" && version >= 252 => out.push(prop("CPUWeight", Value::U64(0))),
        "cpu.weight" => {
            let idle = r.unified().as_ref().and_then(|u| u.get("cpu.idle"));
            if idle.is_some_and(|i| i.trim() == "1") && version >= 252 {
                return Ok(()); // one CPUWeight only, as runc (which warns)
            }
            out.push(prop(
                "CPUWeight",
                Value::U64(v.parse().map_err(|_| bad("value"))?),
            ));
        }
        "cpu.max" => {
            let f: Vec<&str> = v.split_whitespace().collect();
            let (q, p) = match f.as_slice() {
                [q] => (*q, None),
                [q, p] => (*q, Some(*p)),
                _ => return Err(bad("value")),
            };
            let mut quota = if q == "max" {
                0
            } else {
                q.parse().map_err(|_| bad("quota"))?
            };
            let period = match p {
                Some(p) => p.parse().map_err(|_| bad("period"))?,
                None => DEFAULT_PERIOD,
            };
            cpu_quota(out, &mut quota, period, version);
        }
        "cpuset.cpus" | "cpuset.mems" if version >= 244 => {
            let name = if key == "cpuset.cpus" {
                "AllowedCPUs"
            } else {
                "AllowedMemoryNodes"
            };
            out.push(prop(name, bytes(range_to_bits(v)?)));
        }
        "memory.high" | "memory.low" | "memory.min" | "memory.max" | "memory.swap.max" => {
            let name = match key {
                "memory.high" => "MemoryHigh",
                "memory.low" => "MemoryLow",
                "memory.min" => "MemoryMin",
                "memory.max" => "MemoryMax",
                _ => "MemorySwapMax",
            };
            out.push(prop(name, Value::U64(num_or_max(v)?)));
        }
        "pids.max" => {
            // systemd refuses TasksMax=0.
            let n = num_or_max(v)?.max(1);
            out.push(prop("TasksMax", Value::U64(n)));
        }
        _ => {}
    }
    Ok(())
}

fn bytes(b: Vec<u8>) -> Value {
    Value::Array("y".into(), b.into_iter().map(Value::Byte).collect())
}

/// A cpuset list ("0-2,5") as systemd's CPU mask: bit n of byte n/8.
pub fn range_to_bits(list: &str) -> Result<Vec<u8>> {
    let bad = || Error::Invalid(format!("cpuset list {list:?}"));
    let mut bits: Vec<u8> = Vec::new();
    let mut set = |n: u32| {
        let i = (n / 8) as usize;
        if bits.len() <= i {
            bits.resize(i + 1, 0);
        }
        bits[i] |= 1 << (n % 8);
    };
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let a: u32 = a.trim().parse().map_err(|_| bad())?;
        let b: u32 = b.trim().parse().map_err(|_| bad())?;
        // CPU numbers beyond the kernel's NR_CPUS maximum are mistakes.
        if a > b || b >= 8192 {
            return Err(bad());
        }
        (a..=b).for_each(&mut set);
    }
    if bits.is_empty() {
        return Err(bad());
    }
    Ok(bits)
}

/// DevicePolicy and DeviceAllow for the device rules (v1 rule strings, in
/// order, from deny-all), as runc's systemd driver makes them: strict
/// policy and an allow list, since systemd has no deny rules. The cgroupfs
/// drivers then apply the exact rules (on v2 systemd's program and ours
/// both filter; access needs both).
pub fn devices(rules: &[(bool, String)]) -> Vec<Property> {
    let mut allow_all = false;
    let mut allowed: Vec<(char, String, String, String)> = Vec::new();
    for (allow, rule) in rules {
        let f: Vec<&str> = rule.split_whitespace().collect();
        if f == ["a"] {
            allow_all = *allow;
            allowed.clear();
            continue;
        }
        let [kind, nums, access] = f.as_slice() else {
            continue;
        };
        let Some((major, minor)) = nums.split_once(':') else {
            continue;
        };
        let kind = kind.chars().next().unwrap_or('a');
        let same = |e: &(char, String, String, String)| {
            (e.0 == kind || kind == 'a')
                && (major == "*" || e.1 == major)
                && (minor == "*" || e.2 == minor)
        };
        if *allow {
            if let Some(e) = allowed
                .iter_mut()
                .find(|e| e.0 == kind && e.1 == major && e.2 == minor)
            {
                let more: String = access.chars().filter(|c| !e.3.contains(*c)).collect();
                e.3.push_str(&more);
            } else {
                allowed.push((kind, major.into(), minor.into(), access.to_string()));
            }
        } else {
            for e in allowed.iter_mut().filter(|e| same(e)) {
                e.3.retain(|c| !access.contains(c));
            }
            allowed.retain(|e| !e.3.is_empty());
        }
    }
    let entry = |path: String, perms: &str| {
        Value::Struct(vec![Value::Str(path), Value::Str(perms.to_string())])
    };
    if allow_all {
        // systemd has no deny rules: an allow-all list is "auto" with
        // every device; denies after it are left to the files (runc warns).
        return vec![
            prop("DevicePolicy", Value::Str("auto".into())),
            prop(
                "DeviceAllow",
                Value::Array(
                    "(ss)".into(),
                    vec![
                        entry("char-*".into(), "rwm"),
                        entry("block-*".into(), "rwm"),
                    ],
                ),
            ),
        ];
    }
    let list = allowed
        .iter()
        .filter_map(|(kind, major, minor, access)| {
            let group = if *kind == 'b' { "block" } else { "char" };
            let path = match (major.as_str(), minor.as_str()) {
                ("*", "*") => format!("{group}-*"),
                // systemd has no rule for one minor of every major.
                ("*", _) => return None,
                (m, "*") => format!("{group}-{m}"),
                (m, n) => format!("/dev/{group}/{m}:{n}"),
            };
            Some(entry(path, access))
        })
        .collect();
    vec![
        // An empty list first clears what the unit had (an update).
        prop("DeviceAllow", Value::Array("(ss)".into(), vec![])),
        prop("DevicePolicy", Value::Str("strict".into())),
        prop("DeviceAllow", Value::Array("(ss)".into(), list)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(v: serde_json::Value) -> LinuxResources {
        serde_json::from_value(v).unwrap()
    }

    fn find<'a>(p: &'a [Property], name: &str) -> Option<&'a Value> {
        p.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    #[test]
    fn v2_resources_become_runcs_properties() {
        let r = res(serde_json::json!({
            "memory": {"limit": 1048576, "reservation": 4096, "swap": 2097152},
            "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1,3"},
            "pids": {"limit": 42}
        }));
        let (p, quota) = resources(&r, true, 252).unwrap();
        assert_eq!(find(&p, "MemoryMax"), Some(&Value::U64(1048576)));
        assert_eq!(find(&p, "MemoryLow"), Some(&Value::U64(4096)));
        assert_eq!(find(&p, "MemorySwapMax"), Some(&Value::U64(1048576)));
        assert_eq!(find(&p, "CPUWeight"), Some(&Value::U64(100)));
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(500_000)));
        assert_eq!(find(&p, "CPUQuotaPeriodUSec"), Some(&Value::U64(100_000)));
        assert_eq!(find(&p, "TasksMax"), Some(&Value::U64(42)));
        assert_eq!(find(&p, "AllowedCPUs"), Some(&bytes(vec![0b1011])));
        assert_eq!(quota, None);
    }

    #[test]
    fn v1_resources_use_the_v1_property_names() {
        let r = res(serde_json::json!({
            "memory": {"limit": -1},
            "cpu": {"shares": 512},
            "blockIO": {"weight": 300},
            "pids": {"limit": -1}
        }));
        let (p, _) = resources(&r, false, 252).unwrap();
        assert_eq!(find(&p, "MemoryLimit"), Some(&Value::U64(INFINITY)));
        assert_eq!(find(&p, "CPUShares"), Some(&Value::U64(512)));
        assert_eq!(find(&p, "BlockIOWeight"), Some(&Value::U64(300)));
        assert_eq!(find(&p, "TasksMax"), Some(&Value::U64(INFINITY)));
        assert!(find(&p, "MemoryMax").is_none());
    }

    #[test]
    fn a_fraction_of_a_percent_of_quota_is_rounded_up_for_the_files_too() {
        let r = res(serde_json::json!({"cpu": {"quota": 12345, "period": 100000}}));
        let (p, quota) = resources(&r, true, 252).unwrap();
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(130_000)));
        assert_eq!(quota, Some(13000));
        // An older systemd gets no period property; the files still do.
        let (p, _) = resources(&r, true, 241).unwrap();
        assert!(find(&p, "CPUQuotaPeriodUSec").is_none());
    }

    #[test]
    fn unified_keys_systemd_knows_become_properties() {
        let r = res(serde_json::json!({"unified": {
            "memory.high": "max", "pids.max": "0", "cpu.max": "max 50000",
            "cpuset.mems": "0", "io.weight": "100"
        }}));
        let (p, _) = resources(&r, true, 252).unwrap();
        assert_eq!(find(&p, "MemoryHigh"), Some(&Value::U64(INFINITY)));
        assert_eq!(find(&p, "TasksMax"), Some(&Value::U64(1)));
        assert_eq!(find(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(INFINITY)));
        assert_eq!(find(&p, "CPUQuotaPeriodUSec"), Some(&Value::U64(50_000)));
        assert_eq!(find(&p, "AllowedMemoryNodes"), Some(&bytes(vec![1])));
        let r = res(serde_json::json!({"unified": {"memory.max": "lots"}}));
        assert!(resources(&r, true, 252).is_err());
    }

    #[test]
    fn cpu_lists_become_masks() {
        assert_eq!(range_to_bits("0").unwrap(), [1]);
        assert_eq!(range_to_bits("8").unwrap(), [0, 1]);
        assert_eq!(range_to_bits(" 1-2 ,, 9").unwrap(), [0b110, 0b10]);
        for bad in ["", "2-1", "x", "1-", "99999"] {
            assert!(range_to_bits(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn device_rules_become_a_strict_allow_list() {
        let mut rules = vec![(false, "a".to_string())];
        rules.extend(crate::devices::rules(&[], &[]).unwrap());
        rules.push((false, "c 1:3 w".to_string()));
        let p = devices(&rules);
        assert_eq!(find(&p, "DevicePolicy"), Some(&Value::Str("strict".into())));
        let Some(Value::Array(_, list)) = find(&p, "DeviceAllow") else {
            panic!("no list")
        };
        let text: Vec<String> = list
            .iter()
            .map(|e| match e {
                Value::Struct(f) => {
                    format!("{} {}", f[0].as_str().unwrap(), f[1].as_str().unwrap())
                }
                _ => unreachable!(),
            })
            .collect();
        assert!(text.contains(&"char-* m".to_string()), "{text:?}");
        assert!(text.contains(&"/dev/char/1:3 rm".to_string()), "{text:?}");
        assert!(text.contains(&"char-136 rwm".to_string()), "{text:?}");
        let all = devices(&[(true, "a".to_string())]);
        assert_eq!(find(&all, "DevicePolicy"), Some(&Value::Str("auto".into())));
    }
}
