//! A pass over the raw JSON before oci-spec sees it.
//!
//! oci-spec fails the whole parse on a capability name it does not know (a
//! newer kernel's, or a typo) and on the scheduler flag names the runtime
//! spec itself uses. runc and crun skip unknown capabilities with a
//! warning; so do we.
//! `process.scheduler` is taken out of the JSON and parsed by corten
//! (process::sched::Scheduler).

use serde_json::Value;

use crate::error::Error;

const CAP_SETS: [&str; 5] = [
    "bounding",
    "effective",
    "inheritable",
    "permitted",
    "ambient",
];

/// What the pre-pass hands on.
pub struct Prepassed {
    /// The value oci-spec can parse.
    pub value: Value,
    /// Things dropped that the user should know about.
    pub warnings: Vec<String>,
    /// process.scheduler, parsed by corten.
    pub scheduler: Option<crate::process::sched::Scheduler>,
}

/// Edits the raw config so that oci-spec can parse it.
pub fn run(mut value: Value) -> Result<Prepassed, Error> {
    if !value.is_object() {
        return Err(Error::Config("config.json must be a JSON object".into()));
    }
    let mut warnings = Vec::new();
    let mut ignored = std::collections::BTreeSet::new();
    if let Some(caps) = value
        .pointer_mut("/process/capabilities")
        .and_then(Value::as_object_mut)
    {
        let last = sys::caps::last_cap();
        for set in CAP_SETS {
            let Some(list) = caps.get_mut(set).and_then(Value::as_array_mut) else {
                continue;
            };
            // A name no capability has, or one newer than this kernel:
            // skipped with runc's warning (crun does the same).
            list.retain(|name| {
                let known = name
                    .as_str()
                    .and_then(crate::process::caps::index_of)
                    .is_some_and(|index| index <= last);
                if !known {
                    ignored.insert(name.as_str().map_or_else(|| name.to_string(), String::from));
                }
                known
            });
        }
    }
    if !ignored.is_empty() {
        let names: Vec<String> = ignored.into_iter().collect();
        warnings.push(format!(
            "ignoring unknown or unavailable capabilities: [{}]",
            names.join(" ")
        ));
    }
    kernel_memory(&mut value, &mut warnings);
    let scheduler = match value.get_mut("process").and_then(Value::as_object_mut) {
        Some(process) => process
            .remove("scheduler")
            .map(crate::process::sched::Scheduler::from_json)
            .transpose()?,
        None => None,
    };
    Ok(Prepassed {
        value,
        warnings,
        scheduler,
    })
}

/// linux.resources.memory.kernel and kernelTCP, as runc takes them (since
/// its 1.1, and still): ignored with its warning. Per-cgroup kernel memory
/// limits are deprecated by the kernel (kmem in 5.4, kmem.tcp in 6.12) and
/// a config that sets them must not lose the rest of its memory section.
fn kernel_memory(value: &mut Value, warnings: &mut Vec<String>) {
    let Some(memory) = value
        .pointer_mut("/linux/resources/memory")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let kernel = memory.remove("kernel").is_some();
    if memory.remove("kernelTCP").is_some() || kernel {
        warnings.push(
            "kernel memory settings are ignored and will be removed (linux.resources.memory.kernel, kernelTCP; runc's words)".into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_capability_is_skipped_with_runcs_warning() {
        let v = serde_json::json!({"process": {"capabilities": {
            "bounding": ["CAP_CHOWN", "CAP_BOGUS"], "effective": ["CAP_BOGUS", "CAP_FOO"]}}});
        let p = run(v).unwrap();
        assert_eq!(
            p.warnings,
            ["ignoring unknown or unavailable capabilities: [CAP_BOGUS CAP_FOO]"]
        );
        assert_eq!(
            p.value.pointer("/process/capabilities/bounding"),
            Some(&serde_json::json!(["CAP_CHOWN"]))
        );
        let ok = serde_json::json!({"process": {"capabilities": {"bounding": ["CAP_CHOWN"]}}});
        assert!(run(ok).unwrap().warnings.is_empty());
    }

    #[test]
    fn non_object_is_refused() {
        assert!(run(serde_json::json!([1, 2])).is_err());
    }
}
