//! A pass over the raw JSON before oci-spec sees it.
//!
//! oci-spec fails the whole parse on a capability name it does not know (a
//! newer kernel's, or a typo) and on the scheduler flag names the runtime
//! spec itself uses. runc skips unknown capabilities with a warning; so do we.
//! Scheduler settings are not applied yet, so they are refused by validation
//! from the raw value rather than mis-parsed.

use serde_json::Value;

use crate::error::Error;

const CAP_SETS: [&str; 5] = [
    "bounding",
    "effective",
    "inheritable",
    "permitted",
    "ambient",
];

/// Returns the value oci-spec can parse and the warnings to print.
pub fn run(mut value: Value) -> Result<(Value, Vec<String>), Error> {
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
    if let Some(process) = value.get_mut("process").and_then(Value::as_object_mut) {
        if process.contains_key("scheduler") {
            return Err(Error::Unsupported("process.scheduler".into()));
        }
    }
    Ok((value, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_capability_is_dropped_with_a_warning() {
        let v = serde_json::json!({"process": {"capabilities": {"bounding": ["CAP_CHOWN", "CAP_BOGUS"]}}});
        let (v, w) = run(v).unwrap();
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
