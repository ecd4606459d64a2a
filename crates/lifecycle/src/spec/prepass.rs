//! A pass over the raw JSON before oci-spec sees it.
//!
//! oci-spec fails the whole parse on a capability name it does not know (a
//! newer kernel's, or a typo) and on the scheduler flag names the runtime
//! spec itself uses. runc skips unknown capabilities with a warning; so do we.
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
    if let Some(caps) = value
        .pointer_mut("/process/capabilities")
        .and_then(Value::as_object_mut)
    {
        for set in CAP_SETS {
            let Some(list) = caps.get_mut(set).and_then(Value::as_array_mut) else {
                continue;
            };
            let last = sys::caps::last_cap();
            let mut unknown = None;
            list.retain(|name| {
                let Some(index) = name.as_str().and_then(crate::process::caps::index_of) else {
                    unknown.get_or_insert_with(|| name.to_string());
                    return false;
                };
                // A capability newer than this kernel: runc skips it.
                let supported = index <= last;
                if !supported {
                    warnings.push(format!(
                        "ignoring capability {name} in {set}: this kernel does not support it"
                    ));
                }
                supported
            });
            // Not a capability at all: the spec wants an error for a value
            // that maps to no kernel interface.
            if let Some(name) = unknown {
                return Err(Error::Config(format!(
                    "process.capabilities.{set}: unknown capability {name}"
                )));
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_capability_is_an_error() {
        let v = serde_json::json!({"process": {"capabilities": {"bounding": ["CAP_CHOWN", "CAP_BOGUS"]}}});
        let e = run(v)
            .err()
            .expect("CAP_BOGUS maps to no kernel capability");
        assert!(
            e.to_string().contains("unknown capability \"CAP_BOGUS\""),
            "{e}"
        );
        let ok = serde_json::json!({"process": {"capabilities": {"bounding": ["CAP_CHOWN"]}}});
        assert!(run(ok).unwrap().warnings.is_empty());
    }

    #[test]
    fn non_object_is_refused() {
        assert!(run(serde_json::json!([1, 2])).is_err());
    }
}
