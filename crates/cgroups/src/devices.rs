//! Device access rules with runc's semantics (libcontainer/specconv,
//! unchanged from 1.1 to today's): the config's rules in order, then the
//! devices every container may use (runc's AllowedDevices), less those whose
//! path the config lists as a node of its own. A node the config creates
//! gets no rule of its own: access to it is what the rules say (measured
//! with runc 1.1.5: `/dev/kmsg` in `linux.devices` under a deny-all stays
//! denied; `/dev/null` listed there loses its default rule).

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

/// A device node the config creates (linux.devices), by its path in the
/// container: only the path matters to the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub path: PathBuf,
}

/// runc's default allowed devices, in its order: mknod of anything, and the
/// standard nodes (with the path a config's own node replaces them by).
const ALWAYS_ALLOWED: &[(Option<&str>, &str)] = &[
    (None, "c *:* m"),
    (None, "b *:* m"),
    (Some("/dev/null"), "c 1:3 rwm"),
    (Some("/dev/random"), "c 1:8 rwm"),
    (Some("/dev/full"), "c 1:7 rwm"),
    (Some("/dev/tty"), "c 5:0 rwm"),
    (Some("/dev/zero"), "c 1:5 rwm"),
    (Some("/dev/urandom"), "c 1:9 rwm"),
    (None, "c 136:* rwm"),  // pts
    (None, "c 5:2 rwm"),    // ptmx
    (None, "c 10:200 rwm"), // tun
];

/// One v1 rule: (allow?, "type major:minor access").
pub type Rule = (bool, String);

fn kind_char(t: LinuxDeviceType) -> char {
    match t {
        LinuxDeviceType::A => 'a',
        LinuxDeviceType::B => 'b',
        LinuxDeviceType::C => 'c',
        LinuxDeviceType::U => 'u',
        LinuxDeviceType::P => 'p',
    }
}

/// A major or minor number: absent or -1 is the wildcard; another negative
/// number is a mistake, not a wildcard.
fn num(n: Option<i64>) -> crate::Result<String> {
    match n {
        None | Some(-1) => Ok("*".to_string()),
        Some(n) if (0..=i64::from(u32::MAX)).contains(&n) => Ok(n.to_string()),
        Some(n) => Err(crate::Error::Invalid(format!(
            "linux.resources.devices: device number {n}"
        ))),
    }
}

/// The rules to write, in order. A rule without `access`, or of type "u"
/// or "p", is refused with runc's words (a fifo rule could not hold anyway:
/// the kernel's device checks never see fifos).
pub fn rules(config: &[LinuxDeviceCgroup], nodes: &[Node]) -> crate::Result<Vec<Rule>> {
    let mut out = Vec::new();
    for (i, d) in config.iter().enumerate() {
        let kind = d.typ().map_or('a', kind_char);
        if matches!(kind, 'p' | 'u') {
            return Err(crate::Error::Invalid(format!(
                "cgroup device type \"{kind}\" at linux.resources.devices[{i}]"
            )));
        }
        let access = match d.access().as_deref() {
            Some(a) if !a.is_empty() => a,
            _ => {
                return Err(crate::Error::Invalid(format!(
                    "linux.resources.devices[{i}]: device access cannot be empty"
                )))
            }
        };
        let rule = if kind == 'a' {
            "a".to_string()
        } else {
            format!("{kind} {}:{} {access}", num(d.major())?, num(d.minor())?)
        };
        out.push((d.allow(), rule));
    }
    let listed = |path: &str| nodes.iter().any(|n| n.path == Path::new(path));
    out.extend(
        ALWAYS_ALLOWED
            .iter()
            .filter(|(path, _)| !path.is_some_and(listed))
            .map(|(_, r)| (true, r.to_string())),
    );
    Ok(out)
}

/// The list a create sets for a config with no rules of its own, from
/// deny-all as `set_devices` starts: for the device-program tests, which
/// must follow this list when it changes.
#[cfg(test)]
pub fn runtime_defaults() -> Vec<Rule> {
    let mut list = vec![(false, "a".to_string())];
    list.extend(rules(&[], &[]).expect("the default rules are valid"));
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rules: serde_json::Value) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_value(rules).unwrap()
    }

    fn node(path: &str) -> Node {
        Node { path: path.into() }
    }

    /// runc 1.1.5, measured: a node in linux.devices adds no rule, and a
    /// node at a default device's path takes that device's rule away.
    #[test]
    fn config_rules_then_runcs_defaults_less_the_listed_paths() {
        let c = config(serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 4, "access": "rw"}
        ]));
        let r = rules(&c, &[node("/dev/kmsg"), node("/dev/tty")]).unwrap();
        assert_eq!(r[0], (false, "a".to_string()));
        assert_eq!(r[1], (true, "c 4:* rw".to_string()));
        assert_eq!(r[2], (true, "c *:* m".to_string()));
        assert!(r.contains(&(true, "c 1:3 rwm".to_string())));
        assert!(!r.iter().any(|(_, t)| t == "c 1:11 rwm" || t == "c 5:0 rwm"));
        assert_eq!(r.len(), 2 + ALWAYS_ALLOWED.len() - 1);
    }

    #[test]
    fn fifo_u_and_empty_access_rules_are_refused_as_runc_does() {
        for bad in [
            serde_json::json!([{"allow": true, "type": "p", "access": "rwm"}]),
            serde_json::json!([{"allow": true, "type": "u", "access": "rwm"}]),
            serde_json::json!([{"allow": false}]),
            serde_json::json!([{"allow": false, "access": ""}]),
        ] {
            assert!(rules(&config(bad.clone()), &[]).is_err(), "{bad}");
        }
    }
}
