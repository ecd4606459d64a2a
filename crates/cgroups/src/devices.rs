//! Device access rules with runc's semantics: the config's rules in order,
//! then an allow rule for each device node the config creates, then the
//! devices every container may use (runc's AllowedDevices).

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

/// A device node the config creates (linux.devices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// 'c', 'b' or 'p'.
    pub kind: char,
    pub major: i64,
    pub minor: i64,
}

/// runc's default allowed devices: mknod of anything, and the standard nodes.
const ALWAYS_ALLOWED: &[&str] = &[
    "c *:* m",
    "b *:* m",
    "c 1:3 rwm",    // null
    "c 1:5 rwm",    // zero
    "c 1:7 rwm",    // full
    "c 1:8 rwm",    // random
    "c 1:9 rwm",    // urandom
    "c 5:0 rwm",    // tty
    "c 5:2 rwm",    // ptmx
    "c 136:* rwm",  // pts
    "c 10:200 rwm", // tun
];

/// One v1 rule: (allow?, "type major:minor access").
pub type Rule = (bool, String);

fn kind_char(t: LinuxDeviceType) -> char {
    match t {
        LinuxDeviceType::A => 'a',
        LinuxDeviceType::B => 'b',
        LinuxDeviceType::C | LinuxDeviceType::U => 'c',
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

/// The rules to write, in order. A fifo rule is refused, as runc does:
/// the kernel's device checks never see fifos, so it could not hold.
pub fn rules(config: &[LinuxDeviceCgroup], nodes: &[Node]) -> crate::Result<Vec<Rule>> {
    let mut out = Vec::new();
    for d in config {
        let kind = d.typ().map_or('a', kind_char);
        if kind == 'p' {
            return Err(crate::Error::Invalid(
                "linux.resources.devices type \"p\": the device cgroup does not filter fifos"
                    .into(),
            ));
        }
        let access = d.access().clone().unwrap_or_else(|| "rwm".into());
        let rule = if kind == 'a' {
            "a".to_string()
        } else {
            format!("{kind} {}:{} {access}", num(d.major())?, num(d.minor())?)
        };
        out.push((d.allow(), rule));
    }
    for n in nodes.iter().filter(|n| n.kind != 'p') {
        out.push((true, format!("{} {}:{} rwm", n.kind, n.major, n.minor)));
    }
    out.extend(ALWAYS_ALLOWED.iter().map(|r| (true, r.to_string())));
    Ok(out)
}

/// The list a create sets for a config with no rules of its own and one
/// block device node (b 8:0), from deny-all as `set_devices` starts: for
/// the device-program tests, which must follow this list when it changes.
#[cfg(test)]
pub fn runtime_defaults() -> Vec<Rule> {
    let node = Node {
        kind: 'b',
        major: 8,
        minor: 0,
    };
    let mut list = vec![(false, "a".to_string())];
    list.extend(rules(&[], &[node]).expect("the default rules are valid"));
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_all_then_nodes_then_defaults() {
        let config: Vec<LinuxDeviceCgroup> = serde_json::from_value(serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 4, "access": "rw"}
        ]))
        .unwrap();
        let r = rules(
            &config,
            &[Node {
                kind: 'b',
                major: 8,
                minor: 0,
            }],
        )
        .unwrap();
        assert_eq!(r[0], (false, "a".to_string()));
        assert_eq!(r[1], (true, "c 4:* rw".to_string()));
        assert_eq!(r[2], (true, "b 8:0 rwm".to_string()));
        assert_eq!(r[3], (true, "c *:* m".to_string()));
        assert!(r.contains(&(true, "c 1:3 rwm".to_string())));
        let fifo: Vec<LinuxDeviceCgroup> = serde_json::from_value(
            serde_json::json!([{"allow": true, "type": "p", "access": "rwm"}]),
        )
        .unwrap();
        assert!(rules(&fifo, &[]).is_err());
    }
}
