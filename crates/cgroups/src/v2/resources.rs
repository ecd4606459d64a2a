//! LinuxResources as cgroup v2 file writes. The runtime spec speaks v1
//! (shares, blkio weights, memory+swap): those are converted the way runc
//! and crun convert them, so one config works on both kinds of host.

use std::path::Path;

use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources};

use crate::{Error, Result};

/// (file, value) pairs, in the order runc writes them.
pub type Writes = Vec<(String, String)>;

fn refuse(what: &str) -> Error {
    Error::Unsupported(format!("{what} on a cgroup v2 host"))
}

/// cpu.shares (2..262144, default 1024) to cpu.weight (1..10000, default
/// 100) as runc (since 1.3.2, opencontainers/cgroups) and crun (since
/// 1.23) convert it: a quadratic in log2(shares) through the minimum, the
/// maximum and the default, so that 1024 shares are weight 100. (The
/// linear formula before it made 1024 shares weight 39.)
pub fn cpu_weight(shares: u64) -> u64 {
    match shares {
        0 => 0,
        1..=2 => 1,
        262_144.. => 10_000,
        _ => {
            let l = (shares as f64).log2();
            let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
            10f64.powf(exponent).ceil() as u64
        }
    }
}

/// blkio.weight (10..1000) to io.weight (1..10000).
pub fn io_weight(blkio: u16) -> u64 {
    if blkio == 0 {
        return 0;
    }
    1 + (u64::from(blkio.clamp(10, 1000)) - 10) * 9999 / 990
}

/// memory.swap.max from the spec's memory+swap and memory limits
/// (runc's ConvertMemorySwapToCgroupV2Value). `None`: leave it alone.
pub(crate) fn swap_max(swap: i64, memory: i64) -> Result<Option<String>> {
    // memory unlimited and swap unset means both unlimited (v1's meaning).
    if memory == -1 && swap == 0 {
        return Ok(Some("max".into()));
    }
    match swap {
        0 => return Ok(None),
        -1 => return Ok(Some("max".into())),
        _ => {}
    }
    if memory == 0 || memory == -1 {
        return Err(Error::Invalid(
            "memory.swap: a swap limit needs a memory limit".into(),
        ));
    }
    if swap < memory {
        return Err(Error::Invalid(format!(
            "memory.swap {swap}: memory+swap must be at least memory.limit {memory}"
        )));
    }
    Ok(Some((swap - memory).to_string()))
}

fn max_or(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

fn memory(m: &LinuxMemory, dir: &Path, out: &mut Writes) -> Result<()> {
    if m.kernel().is_some() || m.kernel_tcp().is_some() {
        return Err(refuse("memory.kernel and memory.kernelTCP limits"));
    }
    if m.swappiness().is_some() {
        return Err(refuse(
            "memory.swappiness (cgroup v2 has no per-cgroup swappiness)",
        ));
    }
    if m.disable_oom_killer() == Some(true) {
        return Err(refuse("memory.disableOOMKiller"));
    }
    let limit = m.limit().unwrap_or(0);
    if let Some(swap) = swap_max(m.swap().unwrap_or(0), limit)? {
        // A kernel without swap accounting has no memory.swap.max: asking
        // for no limit or no swap there is already true (runc).
        if dir.join("memory.swap.max").exists() || !matches!(swap.as_str(), "max" | "0") {
            out.push(("memory.swap.max".into(), swap));
        }
    }
    if limit != 0 {
        if m.check_before_update() == Some(true) && limit > 0 {
            check_usage(dir, limit)?;
        }
        out.push(("memory.max".into(), max_or(limit)));
    }
    if let Some(v) = m.reservation().filter(|&v| v != 0) {
        out.push(("memory.low".into(), max_or(v)));
    }
    Ok(())
}

/// checkBeforeUpdate: a limit below what the cgroup uses now would have
/// the kernel reclaim or OOM-kill at once; refuse it instead.
fn check_usage(dir: &Path, limit: i64) -> Result<()> {
    let current = std::fs::read_to_string(dir.join("memory.current"))
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok());
    match current {
        Some(used) if used > limit => Err(Error::Invalid(format!(
            "memory.limit {limit} is below the current usage {used} (checkBeforeUpdate)"
        ))),
        _ => Ok(()),
    }
}

fn cpu(c: &LinuxCpu, out: &mut Writes) -> Result<()> {
    if c.realtime_runtime().is_some() || c.realtime_period().is_some() {
        return Err(refuse("cpu.realtimeRuntime and cpu.realtimePeriod"));
    }
    if let Some(s) = c.shares().filter(|&s| s != 0) {
        out.push(("cpu.weight".into(), cpu_weight(s).to_string()));
    }
    if let Some(v) = c.idle() {
        out.push(("cpu.idle".into(), v.to_string()));
    }
    let quota = c.quota().unwrap_or(0);
    let period = c.period().unwrap_or(0);
    if quota != 0 || period != 0 {
        let mut v = if quota > 0 {
            quota.to_string()
        } else {
            "max".into()
        };
        if period != 0 {
            v += &format!(" {period}");
        }
        out.push(("cpu.max".into(), v));
    }
    if let Some(b) = c.burst() {
        out.push(("cpu.max.burst".into(), b.to_string()));
    }
    if let Some(v) = c.cpus().as_deref().filter(|v| !v.is_empty()) {
        out.push(("cpuset.cpus".into(), v.into()));
    }
    if let Some(v) = c.mems().as_deref().filter(|v| !v.is_empty()) {
        out.push(("cpuset.mems".into(), v.into()));
    }
    Ok(())
}

fn block_io(b: &oci_spec::runtime::LinuxBlockIo, dir: &Path, out: &mut Writes) -> Result<()> {
    if b.leaf_weight().is_some_and(|w| w != 0)
        || b.weight_device()
            .iter()
            .flatten()
            .any(|d| d.leaf_weight().is_some_and(|w| w != 0))
    {
        return Err(refuse("blockIO leafWeight"));
    }
    // BFQ's io.bfq.weight takes blkio's range as it is; without BFQ,
    // io.weight takes the converted value (runc picks them so).
    let bfq = dir.join("io.bfq.weight").exists();
    // 0 means "not set" (runc; Docker always sends the field).
    if let Some(w) = b.weight().filter(|&w| w != 0) {
        if bfq {
            out.push(("io.bfq.weight".into(), w.to_string()));
        } else {
            out.push(("io.weight".into(), io_weight(w).to_string()));
        }
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight().filter(|&w| w != 0) {
            let (file, w) = if bfq {
                ("io.bfq.weight", u64::from(w))
            } else {
                ("io.weight", io_weight(w))
            };
            out.push((file.into(), format!("{}:{} {w}", d.major(), d.minor())));
        }
    }
    let throttles = [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ];
    for (key, list) in throttles {
        for d in list.iter().flatten() {
            // 0 lifts a v1 throttle; "max" is v2's word for it.
            let rate = if d.rate() == 0 {
                "max".to_string()
            } else {
                d.rate().to_string()
            };
            out.push((
                "io.max".into(),
                format!("{}:{} {key}={rate}", d.major(), d.minor()),
            ));
        }
    }
    Ok(())
}

/// A `unified` key names one control file of this cgroup: "controller.file",
/// nothing that could walk elsewhere.
fn check_unified_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && !key.contains('/')
        && !key.starts_with('.')
        && key
            .split_once('.')
            .is_some_and(|(c, f)| !c.is_empty() && !f.is_empty());
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "linux.resources.unified key {key:?}: a control file name such as \"memory.high\" is needed"
        )))
    }
}

/// The writes for `r` in the cgroup at `dir` (read for the files that
/// pick a conversion, and for checkBeforeUpdate).
pub fn writes(r: &LinuxResources, dir: &Path) -> Result<Writes> {
    let mut out = Writes::new();
    if let Some(p) = r.pids() {
        let v = p.limit();
        if v != 0 {
            out.push(("pids.max".into(), max_or(v)));
        }
    }
    if let Some(m) = r.memory() {
        memory(m, dir, &mut out)?;
    }
    if let Some(b) = r.block_io() {
        block_io(b, dir, &mut out)?;
    }
    if let Some(c) = r.cpu() {
        cpu(c, &mut out)?;
    }
    for h in r.hugepage_limits().iter().flatten() {
        out.push((
            format!("hugetlb.{}.max", h.page_size()),
            h.limit().to_string(),
        ));
        // The spec limits reservations too where the kernel can (5.7+):
        // otherwise pages reserved by mmap but not yet faulted escape the
        // limit (runc 1.2 writes it as well).
        let rsvd = format!("hugetlb.{}.rsvd.max", h.page_size());
        if dir.join(&rsvd).exists() {
            out.push((rsvd, h.limit().to_string()));
        }
    }
    if r.network().as_ref().is_some_and(|n| {
        n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty())
    }) {
        return Err(refuse(
            "linux.resources.network (net_cls and net_prio are v1 controllers; use an eBPF program in the engine)",
        ));
    }
    for (device, limit) in r.rdma().iter().flatten() {
        let mut v = device.clone();
        if let Some(n) = limit.hca_handles() {
            v += &format!(" hca_handle={n}");
        }
        if let Some(n) = limit.hca_objects() {
            v += &format!(" hca_object={n}");
        }
        out.push(("rdma.max".into(), v));
    }
    // Last, so that a unified key overrides a converted value (runc).
    let mut unified: Vec<_> = r.unified().iter().flatten().collect();
    unified.sort();
    for (key, value) in unified {
        check_unified_key(key)?;
        out.push((key.clone(), value.clone()));
    }
    Ok(out)
}

/// A write that failed on a missing file: say which controller is not
/// available, when that is why.
pub fn explain(e: Error, file: &str, dir: &Path) -> Error {
    let Error::Unsupported(_) = e else { return e };
    let controller = file.split('.').next().unwrap_or(file);
    if controller == "cgroup" {
        return e;
    }
    let available = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    if available.split_whitespace().any(|c| c == controller) {
        e
    } else {
        Error::Unsupported(format!(
            "{file}: the {controller} controller is not available in {} (cgroup.controllers: {})",
            dir.display(),
            available.trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(v: serde_json::Value) -> LinuxResources {
        serde_json::from_value(v).unwrap()
    }

    fn nowhere() -> &'static Path {
        Path::new("/nonexistent-corten-cgroup")
    }

    fn get<'a>(w: &'a Writes, file: &str) -> Vec<&'a str> {
        w.iter()
            .filter(|(f, _)| f == file)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[test]
    fn v1_values_are_converted_as_runc_does() {
        assert_eq!(cpu_weight(2), 1);
        assert_eq!(cpu_weight(3), 2);
        assert_eq!(cpu_weight(256), 35);
        assert_eq!(cpu_weight(1024), 100);
        assert_eq!(cpu_weight(2048), 174);
        assert_eq!(cpu_weight(262_143), 10_000);
        assert_eq!(cpu_weight(262_144), 10_000);
        assert_eq!(io_weight(10), 1);
        assert_eq!(io_weight(500), 4950);
        assert_eq!(io_weight(1000), 10_000);
        let w = writes(
            &res(json!({
                "memory": {"limit": 1048576, "swap": 3145728, "reservation": 524288},
                "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
                "pids": {"limit": 10},
                "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}]},
                "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
                "rdma": {"mlx5_0": {"hcaHandles": 3}},
                "unified": {"memory.high": "2097152"}
            })),
            nowhere(),
        )
        .unwrap();
        assert_eq!(get(&w, "memory.max"), ["1048576"]);
        assert_eq!(get(&w, "memory.swap.max"), ["2097152"]);
        assert_eq!(get(&w, "memory.low"), ["524288"]);
        assert_eq!(get(&w, "cpu.weight"), ["100"]);
        assert_eq!(get(&w, "cpu.max"), ["50000 100000"]);
        assert_eq!(get(&w, "cpuset.cpus"), ["0"]);
        assert_eq!(get(&w, "pids.max"), ["10"]);
        assert_eq!(get(&w, "io.weight"), ["4950"]);
        assert_eq!(get(&w, "io.max"), ["8:0 rbps=1000"]);
        assert_eq!(get(&w, "hugetlb.2MB.max"), ["4194304"]);
        assert_eq!(get(&w, "rdma.max"), ["mlx5_0 hca_handle=3"]);
        assert_eq!(w.last().unwrap(), &("memory.high".into(), "2097152".into()));
    }

    #[test]
    fn hugetlb_reservations_are_limited_where_the_kernel_can() {
        let dir = std::env::temp_dir().join(format!("corten-rsvd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let r = res(json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]}));
        assert!(get(&writes(&r, &dir).unwrap(), "hugetlb.2MB.rsvd.max").is_empty());
        std::fs::write(dir.join("hugetlb.2MB.rsvd.max"), "max\n").unwrap();
        assert_eq!(
            get(&writes(&r, &dir).unwrap(), "hugetlb.2MB.rsvd.max"),
            ["2097152"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unlimited_values_are_max() {
        let w = writes(
            &res(
                json!({"memory": {"limit": -1}, "pids": {"limit": -1}, "cpu": {"period": 100000}}),
            ),
            nowhere(),
        )
        .unwrap();
        assert_eq!(get(&w, "memory.max"), ["max"]);
        assert_eq!(get(&w, "pids.max"), ["max"]);
        assert_eq!(get(&w, "cpu.max"), ["max 100000"]);
        // A host without swap accounting has no memory.swap.max to write.
        assert!(get(&w, "memory.swap.max").is_empty());
    }

    #[test]
    fn what_v2_cannot_do_is_refused() {
        for bad in [
            json!({"memory": {"limit": 1048576, "swap": 1000}}),
            json!({"memory": {"swap": 2097152}}),
            json!({"memory": {"kernel": 1048576}}),
            json!({"memory": {"swappiness": 10}}),
            json!({"memory": {"disableOOMKiller": true}}),
            json!({"cpu": {"realtimeRuntime": 1000}}),
            json!({"blockIO": {"leafWeight": 100}}),
            json!({"network": {"classID": 1}}),
            json!({"unified": {"../memory.max": "1"}}),
            json!({"unified": {"memory": "1"}}),
        ] {
            assert!(writes(&res(bad.clone()), nowhere()).is_err(), "{bad}");
        }
    }
}
