//! The v1 device controller's state, computed from a list of rules, so that
//! an eBPF program can enforce on cgroup v2 exactly what the same rules mean
//! on v1 (runc's devices_emulator.go, opencontainers/cgroups devices/).
//!
//! The v1 kernel keeps a default (allow or deny) and a list of exceptions
//! to it. "a" sets the default and empties the list; any other rule either
//! adds an exception (its verb is the opposite of the default) or takes
//! access away from the exception with exactly its type and numbers (its
//! verb is the default's).

use std::collections::BTreeMap;

use super::rule::{Access, Pattern, Rule, Target};
use crate::{Error, Result};

/// A default and its exceptions. The zero value denies everything, which
/// is where runc starts (not the v1 kernel's allow-all new cgroup): the
/// runtime's list always begins with the config's own rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Emulator {
    default_allow: bool,
    /// Ordered so that equal rule lists make byte-equal programs.
    exceptions: BTreeMap<Pattern, Access>,
}

impl Emulator {
    /// The state after `rules`, in order, starting from deny-all.
    pub fn from_rules(rules: &[Rule]) -> Result<Emulator> {
        let mut e = Emulator::default();
        for r in rules {
            e.apply(r)?;
        }
        Ok(e)
    }

    /// Whether what no exception matches is allowed.
    pub fn default_allow(&self) -> bool {
        self.default_allow
    }

    /// The exceptions, each with the access it grants (default deny) or
    /// takes away (default allow).
    pub fn exceptions(&self) -> impl Iterator<Item = (Pattern, Access)> + '_ {
        self.exceptions.iter().map(|(p, a)| (*p, *a))
    }

    /// Applies one rule as the v1 kernel would, except for the hole-punching
    /// that v1 silently ignores and we refuse (see `take_away`).
    pub fn apply(&mut self, rule: &Rule) -> Result<()> {
        match rule.target {
            Target::All => {
                self.default_allow = rule.allow;
                self.exceptions.clear();
                Ok(())
            }
            Target::Devices(p, a) if rule.allow != self.default_allow => {
                // Merged only with an exception of exactly this pattern: a
                // rule that a wildcard exception already covers is kept
                // (runc's RuleAdditionBasicDuplicate, like the kernel).
                let e = self.exceptions.entry(p).or_default();
                *e = e.union(a);
                Ok(())
            }
            Target::Devices(p, a) => self.take_away(rule, p, a),
        }
    }

    /// A rule with the default's verb: removes `access` from the exception
    /// of exactly `p`, if there is one. The v1 kernel does nothing when a
    /// *different*, wider exception covers `p` ("deny c 1:3 r" after "allow
    /// c 1:* rwm" leaves 1:3 readable), and does it silently; runc refuses
    /// such a rule instead of letting a config believe it holds, and so do
    /// we. Splitting the wildcard is no answer: it would take 2^32 rules.
    fn take_away(&mut self, rule: &Rule, p: Pattern, access: Access) -> Result<()> {
        let wider = [
            Pattern { major: None, ..p },
            Pattern { minor: None, ..p },
            Pattern {
                major: None,
                minor: None,
                ..p
            },
        ];
        for w in wider.iter().filter(|w| **w != p) {
            let held = self.exceptions.get(w).copied().unwrap_or_default();
            if !held.intersection(access).is_empty() {
                return Err(Error::Invalid(format!(
                    "device rule \"{rule}\": it would punch a hole in the wildcard \
                     exception \"{w} {held}\", which cgroup v1 silently ignores"
                )));
            }
        }
        // Like the kernel, removing what is not there is no error.
        if let Some(held) = self.exceptions.get_mut(&p) {
            *held = held.difference(access);
            if held.is_empty() {
                self.exceptions.remove(&p);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf_devices::rule::from_v1;

    fn emu(rules: &[(bool, &str)]) -> Result<Emulator> {
        let rules: Vec<_> = rules.iter().map(|(a, t)| (*a, t.to_string())).collect();
        Emulator::from_rules(&from_v1(&rules)?)
    }

    /// The exceptions as v1 text, in order.
    fn list(e: &Emulator) -> Vec<String> {
        e.exceptions().map(|(p, a)| format!("{p} {a}")).collect()
    }

    #[test]
    fn nothing_denies_everything() {
        let e = emu(&[]).unwrap();
        assert!(!e.default_allow());
        assert!(list(&e).is_empty());
    }

    #[test]
    fn a_sets_the_default_and_clears_the_exceptions() {
        for allow in [true, false] {
            let e = emu(&[(true, "c 1:3 rwm"), (false, "b 8:0 rw"), (allow, "a")]).unwrap();
            assert_eq!(e.default_allow(), allow);
            assert!(list(&e).is_empty(), "{allow}");
        }
    }

    #[test]
    fn allow_list_adds_and_merges_exceptions() {
        let e = emu(&[
            (false, "a"),
            (true, "b 5:12 rw"),
            (true, "b 5:12 m"),
            (true, "c 42:* rwm"),
            // Covered by the wildcard, but kept as v1 keeps it.
            (true, "c 42:1337 rm"),
        ])
        .unwrap();
        assert_eq!(list(&e), ["b 5:12 rwm", "c 42:* rwm", "c 42:1337 rm"]);
    }

    #[test]
    fn deny_narrows_or_removes_an_exact_exception() {
        let e = emu(&[
            (true, "c 42:1337 rm"),
            (true, "c 1:3 rwm"),
            (true, "b 1:5 r"),
            (false, "c 42:1337 r"), // partial: m stays
            (false, "c 1:3 rwm"),   // full: gone
            (false, "c 4:1 rw"),    // absent: nothing to do
        ])
        .unwrap();
        assert_eq!(list(&e), ["b 1:5 r", "c 42:1337 m"]);
    }

    #[test]
    fn a_wildcard_deny_leaves_narrower_exceptions() {
        // v1 removes only the exception with the same numbers.
        let e = emu(&[(true, "c *:* m"), (true, "c 1:3 rwm"), (false, "c *:* rwm")]).unwrap();
        assert_eq!(list(&e), ["c 1:3 rwm"]);
    }

    #[test]
    fn punching_a_hole_in_a_wildcard_is_an_error() {
        for wild in ["c 42:* rm", "c *:1337 r", "c *:* rwm"] {
            let e = emu(&[(true, wild), (true, "c 42:1337 r"), (false, "c 42:1337 r")]);
            let msg = e.expect_err(wild).to_string();
            assert!(msg.contains("punch a hole"), "{msg}");
        }
        // Without overlapping access there is no hole: 1:3 simply goes.
        let e = emu(&[
            (true, "c 42:* wm"),
            (true, "c 42:1337 r"),
            (false, "c 42:1337 r"),
        ]);
        assert_eq!(list(&e.unwrap()), ["c 42:* wm"]);
        // A wildcard of the other type is no hole either.
        assert!(emu(&[(true, "b *:* r"), (true, "c 1:3 r"), (false, "c 1:3 r")]).is_ok());
    }

    #[test]
    fn deny_list_is_the_mirror_image() {
        let e = emu(&[
            (true, "a"),
            (false, "b 8:0 rwm"),
            (false, "c 1:5 w"),
            (true, "b 8:0 w"),   // narrows the deny
            (true, "c 9:9 rwm"), // nothing to remove
        ])
        .unwrap();
        assert!(e.default_allow());
        assert_eq!(list(&e), ["b 8:0 rm", "c 1:5 w"]);
        // And the hole rule holds for deny exceptions too.
        assert!(emu(&[(true, "a"), (false, "c 1:* w"), (true, "c 1:5 w")]).is_err());
    }

    #[test]
    fn privileged_config_with_the_runtime_defaults_allows_all() {
        // The always-allowed rules that follow the config's "a" remove
        // nothing: allowing in allow mode only narrows deny exceptions.
        let e = emu(&[
            (true, "a"),
            (true, "c *:* m"),
            (true, "c 1:3 rwm"),
            (true, "c 136:* rwm"),
        ]);
        let e = e.unwrap();
        assert!(e.default_allow());
        assert!(list(&e).is_empty());
    }

    #[test]
    fn runc_weird_case_follows_v1() {
        // runc's TestDeviceFilter_Weird: the "a" forgets the first deny.
        let e = emu(&[(false, "b 8:1 rwm"), (true, "a"), (false, "b 8:2 rwm")]).unwrap();
        assert!(e.default_allow());
        assert_eq!(list(&e), ["b 8:2 rwm"]);
    }
}
