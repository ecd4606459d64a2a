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
            list.retain(|name| {
                let known = name.as_str().is_some_and(crate::process::caps::is_known);
                if !known {
                    warnings.push(format!(
                        "ignoring unknown or unsupported capability {name} in {set}"
                    ));
                }
                known
            });
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
    fn unknown_capability_is_dropped_with_a_warning() {
        let v = serde_json::json!({"process": {"capabilities": {"bounding": ["CAP_CHOWN", "CAP_BOGUS"]}}});
        let p = run(v).unwrap();
        let (v, w) = (p.value, p.warnings);
        assert_eq!(
            v.pointer("/process/capabilities/bounding").unwrap(),
            &serde_json::json!(["CAP_CHOWN"])
        );
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("CAP_BOGUS"));
    }

    #[test]
    fn non_object_is_refused() {
        assert!(run(serde_json::json!([1, 2])).is_err());
    }
}
