//! process.scheduler, process.ioPriority, process.execCPUAffinity,
//! linux.memoryPolicy and linux.personality: process attributes the
//! container's command inherits across execve.

use oci_spec::runtime::Spec;
use serde::Deserialize;

use crate::error::{Context, Error};

/// process.scheduler as the runtime spec writes it. oci-spec cannot parse
/// the spec's own flag names, so the pre-pass takes this object out of the
/// raw JSON and it is parsed here.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Scheduler {
    pub policy: String,
    #[serde(default)]
    pub nice: Option<i32>,
    #[serde(default)]
    pub priority: Option<u32>,
    #[serde(default)]
    pub flags: Option<Vec<String>>,
    #[serde(default)]
    pub runtime: Option<u64>,
    #[serde(default)]
    pub deadline: Option<u64>,
    #[serde(default)]
    pub period: Option<u64>,
}

const POLICIES: &[(&str, u32)] = &[
    ("SCHED_OTHER", 0),
    ("SCHED_FIFO", 1),
    ("SCHED_RR", 2),
    ("SCHED_BATCH", 3),
    ("SCHED_ISO", 4),
    ("SCHED_IDLE", 5),
    ("SCHED_DEADLINE", 6),
];

const SCHED_FLAGS: &[(&str, u64)] = &[
    ("SCHED_FLAG_RESET_ON_FORK", 0x01),
    ("SCHED_FLAG_RECLAIM", 0x02),
    ("SCHED_FLAG_DL_OVERRUN", 0x04),
    ("SCHED_FLAG_KEEP_POLICY", 0x08),
    ("SCHED_FLAG_KEEP_PARAMS", 0x10),
    ("SCHED_FLAG_UTIL_CLAMP_MIN", 0x20),
    ("SCHED_FLAG_UTIL_CLAMP_MAX", 0x40),
];

impl Scheduler {
    /// Parses the raw JSON object.
    pub fn from_json(v: serde_json::Value) -> Result<Scheduler, Error> {
        let s: Scheduler = serde_json::from_value(v)
            .map_err(|e| Error::Config(format!("process.scheduler: {e}")))?;
        s.attr()?;
        Ok(s)
    }

    fn attr(&self) -> Result<sys::sched::SchedAttr, Error> {
        let bad = |what: String| Error::Config(format!("process.scheduler: {what}"));
        let policy = POLICIES
            .iter()
            .find(|(n, _)| *n == self.policy)
            .map(|(_, v)| *v)
            .ok_or_else(|| bad(format!("unknown policy {:?}", self.policy)))?;
        let mut flags = 0;
        for f in self.flags.iter().flatten() {
            flags |= SCHED_FLAGS
                .iter()
                .find(|(n, _)| n == f)
                .map(|(_, v)| *v)
                .ok_or_else(|| bad(format!("unknown flag {f:?}")))?;
        }
        let nice = self.nice.unwrap_or(0);
        if !(-20..=19).contains(&nice) {
            return Err(bad(format!("nice {nice} is outside -20..19")));
        }
        Ok(sys::sched::SchedAttr {
            sched_policy: policy,
            sched_flags: flags,
            sched_nice: nice,
            sched_priority: self.priority.unwrap_or(0),
            sched_runtime: self.runtime.unwrap_or(0),
            sched_deadline: self.deadline.unwrap_or(0),
            sched_period: self.period.unwrap_or(0),
            ..Default::default()
        })
    }
}

/// CPU and node numbers in a list are below this (the kernel's own limits,
/// CONFIG_NR_CPUS and MAX_NUMNODES, are lower still).
const LIST_LIMIT: usize = 4096;

/// Parses a CPU or node list such as "0-3,7".
pub fn parse_list(text: &str) -> Result<Vec<usize>, Error> {
    let bad = || Error::Config(format!("invalid CPU or node list {text:?}"));
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b): (usize, usize) = match part.split_once('-') {
            Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
            None => {
                let n = part.parse().map_err(|_| bad())?;
                (n, n)
            }
        };
        // A single number is bounded as a range's end is: the init sizes
        // its node mask by the highest (set_mempolicy).
        if a > b || b >= LIST_LIMIT {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    Ok(out)
}

fn serde_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Checks the fields before anything starts, so a bad value is a clear
/// error from `create` rather than a failure inside the init.
pub fn validate(spec: &Spec) -> Result<(), Error> {
    if let Some(p) = spec.process() {
        if let Some(io) = p.io_priority() {
            io_class(&serde_name(&io.class()))?;
            if !(0..=7).contains(&io.priority()) {
                return Err(Error::Config(format!(
                    "process.ioPriority: priority {} is outside 0..7",
                    io.priority()
                )));
            }
        }
        if let Some(a) = p.exec_cpu_affinity() {
            for list in [a.initial(), a.cpu_affinity_final()].into_iter().flatten() {
                parse_list(list)?;
            }
        }
    }
    if let Some(l) = spec.linux() {
        if let Some(m) = l.memory_policy() {
            mempolicy_mode(m)?;
            parse_list(m.nodes().as_deref().unwrap_or(""))?;
        }
        if let Some(p) = l.personality() {
            personality(p)?;
        }
    }
    Ok(())
}

fn io_class(name: &str) -> Result<u32, Error> {
    match name {
        "IOPRIO_CLASS_RT" => Ok(1),
        "IOPRIO_CLASS_BE" => Ok(2),
        "IOPRIO_CLASS_IDLE" => Ok(3),
        other => Err(Error::Config(format!(
            "process.ioPriority: unknown class {other:?}"
        ))),
    }
}

fn mempolicy_mode(m: &oci_spec::runtime::LinuxMemoryPolicy) -> Result<i32, Error> {
    let mode = match serde_name(&m.mode()).as_str() {
        "MPOL_DEFAULT" => 0,
        "MPOL_PREFERRED" => 1,
        "MPOL_BIND" => 2,
        "MPOL_INTERLEAVE" => 3,
        "MPOL_LOCAL" => 4,
        "MPOL_PREFERRED_MANY" => 5,
        "MPOL_WEIGHTED_INTERLEAVE" => 6,
        other => {
            return Err(Error::Config(format!(
                "linux.memoryPolicy: unknown mode {other:?}"
            )))
        }
    };
    let mut flags = 0;
    for f in m.flags().iter().flatten() {
        flags |= match serde_name(f).as_str() {
            "MPOL_F_STATIC_NODES" => 1 << 15,
            "MPOL_F_RELATIVE_NODES" => 1 << 14,
            "MPOL_F_NUMA_BALANCING" => 1 << 13,
            other => {
                return Err(Error::Config(format!(
                    "linux.memoryPolicy: unknown flag {other:?}"
                )))
            }
        };
    }
    Ok(mode | flags)
}

fn personality(p: &oci_spec::runtime::LinuxPersonality) -> Result<libc::c_ulong, Error> {
    if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
        return Err(Error::Unsupported("linux.personality.flags".into()));
    }
    match serde_name(&p.domain()).as_str() {
        "LINUX" => Ok(0x0000),
        "LINUX32" => Ok(0x0008),
        other => Err(Error::Config(format!(
            "linux.personality: unknown domain {other:?}"
        ))),
    }
}

/// Applies everything here while the init is still privileged (real-time
/// policies, raising a priority, the RT I/O class need capabilities the
/// container may not keep).
pub fn apply(spec: &Spec, scheduler: Option<&Scheduler>) -> Result<(), Error> {
    if let Some(s) = scheduler {
        sys::sched::set_sched_attr(&s.attr()?).context("applying process.scheduler")?;
    }
    if let Some(io) = spec
        .process()
        .as_ref()
        .and_then(|p| p.io_priority().as_ref())
    {
        sys::sched::set_io_priority(io_class(&serde_name(&io.class()))?, io.priority() as u32)
            .context("applying process.ioPriority")?;
    }
    if let Some(m) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.memory_policy().as_ref())
    {
        let nodes = parse_list(m.nodes().as_deref().unwrap_or(""))?;
        sys::sched::set_mempolicy(mempolicy_mode(m)?, &nodes)
            .context("applying linux.memoryPolicy")?;
    }
    if let Some(p) = spec.linux().as_ref().and_then(|l| l.personality().as_ref()) {
        sys::sched::set_personality(personality(p)?).context("applying linux.personality")?;
    }
    Ok(())
}

/// execCPUAffinity.initial (at the start of the init) or .final (just
/// before execve).
pub fn apply_affinity(spec: &Spec, final_: bool) -> Result<(), Error> {
    let Some(a) = spec
        .process()
        .as_ref()
        .and_then(|p| p.exec_cpu_affinity().as_ref())
    else {
        return Ok(());
    };
    let list = if final_ {
        a.cpu_affinity_final()
    } else {
        a.initial()
    };
    if let Some(list) = list {
        sys::sched::set_affinity(&parse_list(list)?).context("applying process.execCPUAffinity")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse() {
        assert_eq!(parse_list("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert_eq!(parse_list("").unwrap(), Vec::<usize>::new());
        assert!(parse_list("3-1").is_err());
        assert!(parse_list("x").is_err());
    }

    /// A node list of one huge number passed validation, then the init
    /// sized its mempolicy mask by it: an overflow, or a mask of the
    /// number's size, and an index out of it (the init aborted).
    #[test]
    fn a_single_huge_cpu_or_node_number_is_refused() {
        assert!(parse_list("18446744073709551615").is_err());
        assert!(parse_list("1,4096").is_err());
        assert_eq!(parse_list("4095").unwrap(), vec![4095]);
    }

    #[test]
    fn scheduler_with_the_specs_flag_names() {
        let s = Scheduler::from_json(serde_json::json!({
            "policy": "SCHED_BATCH", "nice": 5, "flags": ["SCHED_FLAG_RESET_ON_FORK"]
        }))
        .unwrap();
        let a = s.attr().unwrap();
        assert_eq!((a.sched_policy, a.sched_nice, a.sched_flags), (3, 5, 1));
        assert!(Scheduler::from_json(serde_json::json!({"policy": "SCHED_NOPE"})).is_err());
        assert!(
            Scheduler::from_json(serde_json::json!({"policy": "SCHED_OTHER", "nice": 40})).is_err()
        );
    }
}
