//! `update`: new resource limits for a created, running or paused container.
//!
//! Several cgroup files are computed from more than one field: v2's
//! memory.swap.max is memory+swap minus the memory limit, and cpu.max holds
//! quota and period together. An update naming one of them alone must be
//! applied with the values the container has now, as runc's update applies
//! its merged config: so the state keeps the resources, every update is
//! merged into them, and each section the update names is applied whole.

use oci_spec::runtime::{LinuxResources, Spec};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::state::{Status, Store};

/// Applies `resources` to container `id`'s cgroup.
pub fn update(store: &Store, id: &str, resources: &LinuxResources) -> Result<(), Error> {
    let locked = store.lock(id)?;
    let state = locked.load()?;
    let status = locked.status(state.as_ref());
    if matches!(status, Status::Stopped | Status::Creating) {
        return Err(Error::InvalidState(format!(
            "container {id} is not running: {}",
            status.as_str()
        )));
    }
    let Some((placement, mut state)) = state.and_then(|s| Some((s.cgroup.clone()?, s))) else {
        return Err(Error::Config(format!(
            "container {id} has no cgroup (created with --cgroup-manager=disabled)"
        )));
    };
    let mut change = to_json(resources)?;
    // runc: a memory limit lifted with no word on swap lifts swap too (a
    // saved memory+swap would have no limit to sit on).
    if let Some(memory) = change.get_mut("memory").and_then(Value::as_object_mut) {
        if memory.get("limit") == Some(&Value::from(-1)) && !memory.contains_key("swap") {
            memory.insert("swap".into(), Value::from(-1));
        }
    }
    let merged = merge(
        state
            .resources
            .take()
            .unwrap_or_else(|| Value::Object(Map::new())),
        &change,
    );
    let apply = serde_json::from_value(sections_to_apply(&merged, &change))
        .map_err(|e| Error::Config(format!("resources: {e}")))?;
    crate::cgroup::update(&placement, &apply)?;
    state.resources = Some(merged);
    locked.save(&state)
}

/// What the state keeps of a config's resources at create: all but the
/// device rules, which `update` never changes.
pub(crate) fn saved_resources(spec: &Spec) -> Option<Value> {
    let resources = spec.linux().as_ref()?.resources().as_ref()?;
    let mut v = to_json(resources).ok()?;
    v.as_object_mut()?.remove("devices");
    Some(v)
}

fn to_json(resources: &LinuxResources) -> Result<Value, Error> {
    serde_json::to_value(resources).map_err(|e| Error::Config(format!("resources: {e}")))
}

/// `change` laid over `base`: objects field by field, anything else
/// (numbers, strings, lists such as hugepageLimits) replaced whole.
fn merge(base: Value, change: &Value) -> Value {
    match (base, change) {
        (Value::Object(mut base), Value::Object(change)) => {
            for (k, v) in change {
                let old = base.remove(k).unwrap_or(Value::Null);
                base.insert(k.clone(), merge(old, v));
            }
            Value::Object(base)
        }
        (_, change) => change.clone(),
    }
}

/// The sections `change` names, each as merged. `unified` is the exception:
/// its keys are written last and would override the converted values of
/// this very update, so only the keys the update gives are written again.
fn sections_to_apply(merged: &Value, change: &Value) -> Value {
    let mut out = Map::new();
    if let Value::Object(change) = change {
        for (k, v) in change {
            let whole = if k == "unified" { v } else { &merged[k] };
            out.insert(k.clone(), whole.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_update_is_merged_field_by_field() {
        let saved = json!({
            "memory": {"limit": 100, "swap": 200},
            "cpu": {"quota": 5, "period": 10},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 1}],
            "unified": {"memory.high": "50"}
        });
        let change = json!({
            "memory": {"limit": 150},
            "hugepageLimits": [{"pageSize": "1GB", "limit": 2}],
            "unified": {"pids.max": "9"}
        });
        let merged = merge(saved, &change);
        assert_eq!(
            merged,
            json!({
                "memory": {"limit": 150, "swap": 200},
                "cpu": {"quota": 5, "period": 10},
                "hugepageLimits": [{"pageSize": "1GB", "limit": 2}],
                "unified": {"memory.high": "50", "pids.max": "9"}
            })
        );
        // Only the named sections, memory whole; unified as given.
        assert_eq!(
            sections_to_apply(&merged, &change),
            json!({
                "memory": {"limit": 150, "swap": 200},
                "hugepageLimits": [{"pageSize": "1GB", "limit": 2}],
                "unified": {"pids.max": "9"}
            })
        );
    }

    #[test]
    fn a_state_without_saved_resources_applies_the_update_as_given() {
        let change = json!({"cpu": {"period": 20}});
        let merged = merge(Value::Object(Map::new()), &change);
        assert_eq!(sections_to_apply(&merged, &change), change);
    }

    #[test]
    fn device_rules_are_not_kept() {
        let spec: Spec = serde_json::from_value(json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "linux": {"resources": {
                "devices": [{"allow": false, "access": "rwm"}],
                "pids": {"limit": 3}
            }}
        }))
        .unwrap();
        assert_eq!(saved_resources(&spec), Some(json!({"pids": {"limit": 3}})));
    }
}
