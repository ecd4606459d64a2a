//! A device rule as a type, and the v1 text ("c 1:3 rwm") it reads and writes.

use std::fmt;

use crate::{Error, Result};

/// A device node's type, in the order runc sorts rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Block,
    Char,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Block => 'b',
            Kind::Char => 'c',
        }
    }
}

/// `type major:minor`, where `None` is the wildcard `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pattern {
    pub kind: Kind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
}

/// A set of `r`, `w`, `m`, as the bits the kernel uses for both v1 and
/// eBPF (BPF_DEVCG_ACC_MKNOD, _READ, _WRITE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Access(u8);

impl Access {
    pub const MKNOD: Access = Access(1);
    pub const READ: Access = Access(2);
    pub const WRITE: Access = Access(4);
    pub const ALL: Access = Access(7);
    pub const NONE: Access = Access(0);

    /// The kernel's bits.
    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, o: Access) -> Access {
        Access(self.0 | o.0)
    }

    pub fn intersection(self, o: Access) -> Access {
        Access(self.0 & o.0)
    }

    pub fn difference(self, o: Access) -> Access {
        Access(self.0 & !o.0)
    }

    /// "rwm" or a part of it: those letters in any order, repeats allowed,
    /// nothing else and not empty (runc's Permissions.IsValid, IsEmpty).
    pub fn parse(s: &str) -> Option<Access> {
        let mut a = Access::NONE;
        for c in s.chars() {
            a = a.union(match c {
                'r' => Access::READ,
                'w' => Access::WRITE,
                'm' => Access::MKNOD,
                _ => return None,
            });
        }
        (!a.is_empty()).then_some(a)
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, c) in [
            (Access::READ, 'r'),
            (Access::WRITE, 'w'),
            (Access::MKNOD, 'm'),
        ] {
            if !self.intersection(bit).is_empty() {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// What a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// "a": every device with every access. It does not add an exception: it
    /// sets the default and drops all exceptions (the v1 kernel looks at
    /// nothing after the "a").
    All,
    /// Some devices, some access.
    Devices(Pattern, Access),
}

/// One line of devices.allow (`allow`) or devices.deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule {
    pub allow: bool,
    pub target: Target,
}

impl Rule {
    /// Reads v1 text: "a" (whatever follows it), or "type major:minor access"
    /// with `*` for a wildcard number. `Ok(None)` for a fifo ('p'): the
    /// kernel's device hooks only ever see block and char nodes, so no
    /// device controller filters fifos and the rule has nothing to do.
    pub fn parse(allow: bool, text: &str) -> Result<Option<Rule>> {
        let bad = |why: &str| Error::Invalid(format!("device rule {text:?}: {why}"));
        let mut words = text.split_whitespace();
        let kind = match words.next() {
            Some("a") => {
                return Ok(Some(Rule {
                    allow,
                    target: Target::All,
                }))
            }
            Some("p") => return Ok(None),
            Some("b") => Kind::Block,
            Some("c") => Kind::Char,
            _ => return Err(bad("the type is not one of a, b, c, p")),
        };
        let (Some(numbers), Some(access), None) = (words.next(), words.next(), words.next()) else {
            return Err(bad("expected \"type major:minor access\""));
        };
        let (major, minor) = numbers
            .split_once(':')
            .ok_or_else(|| bad("expected major:minor"))?;
        let number = |s: &str| match s {
            "*" => Ok(None),
            _ => s
                .parse::<u32>()
                .map(Some)
                .map_err(|_| bad("a device number is neither * nor a 32-bit number")),
        };
        let pattern = Pattern {
            kind,
            major: number(major)?,
            minor: number(minor)?,
        };
        let access =
            Access::parse(access).ok_or_else(|| bad("the access is not made of r, w, m"))?;
        Ok(Some(Rule {
            allow,
            target: Target::Devices(pattern, access),
        }))
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        write!(
            f,
            "{} {}:{}",
            self.kind.letter(),
            num(self.major),
            num(self.minor)
        )
    }
}

/// The v1 text, as written to devices.allow or devices.deny.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::All => write!(f, "a"),
            Target::Devices(p, a) => write!(f, "{p} {a}"),
        }
    }
}

/// "allow c 1:3 rwm", for messages.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.allow { "allow" } else { "deny" };
        write!(f, "{verb} {}", self.target)
    }
}

/// Reads the `(allow, text)` list that `devices::rules` makes today, without
/// its fifo rules.
pub fn from_v1(rules: &[(bool, String)]) -> Result<Vec<Rule>> {
    let mut out = Vec::new();
    for (allow, text) in rules {
        out.extend(Rule::parse(*allow, text)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(kind: Kind, major: Option<u32>, minor: Option<u32>, access: &str) -> Target {
        let p = Pattern { kind, major, minor };
        Target::Devices(p, Access::parse(access).unwrap())
    }

    #[test]
    fn reads_what_devices_rs_writes() {
        let cases = [
            ("a", Target::All),
            ("a *:* rwm", Target::All),
            ("c 1:3 rwm", dev(Kind::Char, Some(1), Some(3), "rwm")),
            ("c *:* m", dev(Kind::Char, None, None, "m")),
            ("b 8:0 rw", dev(Kind::Block, Some(8), Some(0), "rw")),
            ("c 136:* rwm", dev(Kind::Char, Some(136), None, "rwm")),
            (
                "c 4294967295:0 r",
                dev(Kind::Char, Some(u32::MAX), Some(0), "r"),
            ),
        ];
        for (text, target) in cases {
            let r = Rule::parse(false, text).unwrap().unwrap();
            assert_eq!(
                r,
                Rule {
                    allow: false,
                    target
                },
                "{text}"
            );
        }
    }

    #[test]
    fn writes_v1_text_back() {
        for text in ["a", "c 1:3 rwm", "c *:* m", "b 8:0 rw", "c 136:* rwm"] {
            let r = Rule::parse(true, text).unwrap().unwrap();
            assert_eq!(r.target.to_string(), text);
        }
        // Any order and repeats read; the canonical order is written.
        let r = Rule::parse(true, "c 1:3 mwrr").unwrap().unwrap();
        assert_eq!(r.to_string(), "allow c 1:3 rwm");
    }

    #[test]
    fn fifo_rules_are_dropped() {
        assert_eq!(Rule::parse(true, "p 1:2 rwm").unwrap(), None);
        let list = [(true, "p 1:2 rwm".to_string()), (false, "a".to_string())];
        assert_eq!(from_v1(&list).unwrap().len(), 1);
    }

    #[test]
    fn malformed_rules_are_errors() {
        for text in [
            "",
            "x 1:3 rwm",
            "c 1:3",
            "c 1 rwm",
            "c 1:3 rwx",
            "c -1:3 rwm",
            "c 1:3 rwm extra",
            "c 4294967296:0 rwm",
        ] {
            let e = Rule::parse(true, text).expect_err(text);
            assert!(e.to_string().starts_with("invalid device rule"), "{e}");
        }
    }
}
