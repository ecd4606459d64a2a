//! The statistics `events` prints, in runc's JSON shape: runc's
//! `types/events.go` as Rust types, so the keys come in runc's order and
//! are left out where runc's Go tags leave them out (`omitempty`: a zero
//! number, an empty list or map; `omitzero`, runc 1.4+: a section whose
//! every value is zero). Scripts and engines parse these lines.
//!
//! Both drivers fill the same types: v1 from each controller's files
//! (`v1_stats`), v2 as runc's fs2 driver does (`v2::stats`), PSI included.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

/// One `data` object of a `{"type":"stats"}` line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub cpuset: CpuSet,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    /// By page size ("2MB").
    pub hugetlb: BTreeMap<String, Hugetlb>,
    /// corten has no Intel RDT support: always `{}`, as runc's without it.
    pub intel_rdt: IntelRdt,
    /// runc's statistics of veth interfaces it configured itself, which it
    /// never does from an OCI config: always `null`.
    pub network_interfaces: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cpu {
    #[serde(skip_serializing_if = "is_default")]
    pub usage: CpuUsage,
    #[serde(skip_serializing_if = "is_default")]
    pub throttling: Throttling,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi: Option<PsiStats>,
}

/// Nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

/// v1's cpuset files (v2 has none of these: all zero there, as runc's).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CpuSet {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<u16>,
    pub cpu_exclusive: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mems: Vec<u16>,
    pub mem_hardwall: u64,
    pub mem_exclusive: u64,
    pub memory_migrate: u64,
    pub memory_spread_page: u64,
    pub memory_spread_slab: u64,
    pub memory_pressure: u64,
    pub sched_load_balance: u64,
    pub sched_relax_domain_level: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Memory {
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    #[serde(skip_serializing_if = "is_default")]
    pub usage: MemoryEntry,
    /// Memory and swap together, as v1's memsw (v2: converted as runc).
    #[serde(skip_serializing_if = "is_default")]
    pub swap: MemoryEntry,
    #[serde(skip_serializing_if = "is_default")]
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP", skip_serializing_if = "is_default")]
    pub kernel_tcp: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi: Option<PsiStats>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Pids {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    /// 0 for no limit.
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blkio {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi: Option<PsiStats>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BlkioEntry {
    #[serde(skip_serializing_if = "is_zero")]
    pub major: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub minor: u64,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub op: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub value: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Hugetlb {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IntelRdt {}

/// A v2 `*.pressure` file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PsiStats {
    #[serde(skip_serializing_if = "is_default")]
    pub some: PsiData,
    #[serde(skip_serializing_if = "is_default")]
    pub full: PsiData,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PsiData {
    #[serde(serialize_with = "go_float")]
    pub avg10: f64,
    #[serde(serialize_with = "go_float")]
    pub avg60: f64,
    #[serde(serialize_with = "go_float")]
    pub avg300: f64,
    pub total: u64,
}

impl PsiStats {
    /// "some avg10=0.00 avg60=1.50 avg300=0.00 total=123" lines.
    pub fn parse(text: &str) -> PsiStats {
        let mut psi = PsiStats::default();
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let data = match fields.next() {
                Some("some") => &mut psi.some,
                Some("full") => &mut psi.full,
                _ => continue,
            };
            for (k, v) in fields.filter_map(|f| f.split_once('=')) {
                let avg = || {
                    v.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .unwrap_or(0.0)
                };
                match k {
                    "avg10" => data.avg10 = avg(),
                    "avg60" => data.avg60 = avg(),
                    "avg300" => data.avg300 = avg(),
                    "total" => data.total = v.parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        psi
    }
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// A float as Go's encoding/json writes it: a whole number without a
/// fraction ("0", not serde_json's "0.0").
fn go_float<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        // Whole and well inside i64: the conversion is exact.
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// "key value" lines as a map (memory.stat, cpu.stat, cpuacct.stat).
pub(crate) fn kv(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

/// A cpuset list ("0-3,8") as runc's numbers; a malformed one as none.
pub(crate) fn cpu_list(text: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let range = match part.split_once('-') {
            Some((a, b)) => a.parse::<u16>().ok().zip(b.parse::<u16>().ok()),
            None => part.parse::<u16>().ok().map(|n| (n, n)),
        };
        match range {
            Some((a, b)) if a <= b => out.extend(a..=b),
            _ => return Vec::new(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty section prints as runc 1.4 prints it: zero values and
    /// empty lists left out, the always-present keys kept.
    #[test]
    fn zero_stats_print_runcs_keys() {
        let line = serde_json::to_string(&Stats::default()).unwrap();
        assert_eq!(
            line,
            r#"{"cpu":{},"cpuset":{"cpu_exclusive":0,"mem_hardwall":0,"mem_exclusive":0,"memory_migrate":0,"memory_spread_page":0,"memory_spread_slab":0,"memory_pressure":0,"sched_load_balance":0,"sched_relax_domain_level":0},"memory":{},"pids":{},"blkio":{},"hugetlb":{},"intel_rdt":{},"network_interfaces":null}"#
        );
        let entry = MemoryEntry {
            limit: 5,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            r#"{"limit":5,"failcnt":0}"#
        );
    }

    #[test]
    fn psi_parses_and_prints_floats_as_go() {
        let psi = PsiStats::parse(
            "some avg10=0.00 avg60=1.50 avg300=0.00 total=123\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        );
        assert_eq!(
            serde_json::to_string(&psi).unwrap(),
            r#"{"some":{"avg10":0,"avg60":1.5,"avg300":0,"total":123}}"#
        );
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_list("0-1\n"), [0, 1]);
        assert_eq!(cpu_list("0,2-4"), [0, 2, 3, 4]);
        assert_eq!(cpu_list("3-1"), [0u16; 0]);
        assert_eq!(cpu_list(""), [0u16; 0]);
    }
}
