//! From the spec's `linux.seccomp` to a [`Policy`]: the rules each
//! architecture's filter must express, translated as runc translates them
//! for libseccomp, so that a profile means here what it means there.

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

use crate::action::Action;
use crate::arch::Arch;
use crate::tree::Syscall;
use crate::Error;

/// One comparison of a syscall argument, as libseccomp takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cond {
    pub index: u8,
    pub op: Op,
    /// The value compared with (for [`Op::MaskedEq`], the datum).
    pub value: u64,
    /// For [`Op::MaskedEq`], the mask; 0 otherwise.
    pub mask: u64,
}

/// A comparison operator (unsigned, over the argument's width).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq,
}

/// What one architecture's filter decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchRules {
    /// Syscall number to what decides it, sorted by number.
    pub syscalls: Vec<(u32, Syscall)>,
    /// The highest syscall number the profile names on this architecture,
    /// whatever the rule's action (runc's ENOSYS stub starts above it).
    pub max_named: Option<u32>,
}

/// The whole filter, ready to compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub default: Action,
    /// Architectures in the filter, the native one first.
    pub arches: Vec<(Arch, ArchRules)>,
    /// seccomp(2) flags to install with (NEW_LISTENER included when a rule notifies).
    pub flags: u32,
    /// Whether any rule is SCMP_ACT_NOTIFY.
    pub notifies: bool,
}

/// Which SECCOMP_FILTER_FLAG_* the kernel knows; a probe in production, a
/// fixed answer in tests.
pub type FlagProbe<'a> = &'a dyn Fn(u32) -> bool;

impl Policy {
    /// Translates `seccomp` for a kernel of architecture `native`.
    pub fn from_spec(
        seccomp: &LinuxSeccomp,
        native: Arch,
        probe: FlagProbe<'_>,
    ) -> Result<Policy, Error> {
        let default = Action::from_spec(seccomp.default_action(), seccomp.default_errno_ret());
        if default == Action::Notify {
            return Err(Error::Profile(
                "SCMP_ACT_NOTIFY cannot be used as default action".into(),
            ));
        }
        let arches = arches(seccomp, native)?;
        let mut policy = Policy {
            default,
            arches: arches.iter().map(|&a| (a, ArchRules::default())).collect(),
            flags: flags(seccomp, probe)?,
            notifies: false,
        };
        // Rules per architecture in profile order, merged per syscall at the
        // end (one sort instead of a map insert per name).
        let mut pending: Vec<Vec<Pending<'_>>> = vec![Vec::new(); policy.arches.len()];
        for syscall in seccomp.syscalls().iter().flatten() {
            let action = Action::from_spec(syscall.action(), syscall.errno_ret());
            let conds = syscall
                .args()
                .iter()
                .flatten()
                .map(|a| cond(a.index(), a.op(), a.value(), a.value_two()))
                .collect::<Result<Vec<_>, _>>()?;
            // libseccomp takes one condition per argument in a rule: runc
            // makes a rule of each condition when an index repeats.
            let mut indexes: Vec<u8> = conds.iter().map(|c| c.index).collect();
            indexes.sort_unstable();
            let repeats = indexes.windows(2).any(|w| w[0] == w[1]);
            let rules: Vec<Vec<Cond>> = if repeats {
                conds.iter().map(|c| vec![*c]).collect()
            } else {
                vec![conds.clone()]
            };
            for name in syscall.names() {
                if name.is_empty() {
                    return Err(Error::Profile("a syscall rule has an empty name".into()));
                }
                // The init hands the listener over with sendmsg, under the
                // filter and before any agent has it: it would wait forever.
                if action == Action::Notify && name == "sendmsg" {
                    return Err(Error::Profile(
                        "SCMP_ACT_NOTIFY cannot be used for the sendmsg syscall".into(),
                    ));
                }
                for ((arch, arch_rules), pending) in policy.arches.iter_mut().zip(&mut pending) {
                    // A rule that repeats the default changes nothing (runc skips it).
                    let add = action != default;
                    if let Some((mux, call)) = multiplexed(*arch, name) {
                        // i386's socket and IPC calls also go through socketcall(2)
                        // and ipc(2), call number in the first argument: libseccomp
                        // adds a rule for each way in (and runc's ENOSYS stub does
                        // not count them, libseccomp numbering them below zero).
                        let direct = arch.syscall(name);
                        for conds in rules.iter().filter(|_| add) {
                            let mut via_mux: Vec<Cond> =
                                conds.iter().filter(|c| c.index != 0).copied().collect();
                            via_mux.push(Cond {
                                index: 0,
                                op: Op::Eq,
                                value: call,
                                mask: 0,
                            });
                            pending.push(Pending::new(*arch, mux, name, action, &via_mux));
                            if let Some(nr) = direct {
                                pending.push(Pending::new(*arch, nr, name, action, conds));
                            }
                        }
                        continue;
                    }
                    // A name this architecture lacks is skipped, as libseccomp does.
                    let Some(nr) = arch.syscall(name) else {
                        continue;
                    };
                    arch_rules.max_named = arch_rules.max_named.max(Some(nr));
                    for conds in rules.iter().filter(|_| add) {
                        pending.push(Pending::new(*arch, nr, name, action, conds));
                    }
                }
                policy.notifies |= action == Action::Notify && action != default;
            }
        }
        for ((arch, rules), pending) in policy.arches.iter_mut().zip(pending) {
            rules.syscalls = merge(*arch, pending)?;
        }
        if policy.notifies {
            policy.flags |= sys::seccomp::FLAG_NEW_LISTENER;
        } else {
            // It concerns the listener's waits only, and the kernel refuses
            // it without one.
            policy.flags &= !sys::seccomp::FLAG_WAIT_KILLABLE_RECV;
        }
        Ok(policy)
    }
}

/// One rule for one syscall of one architecture, as libseccomp takes it:
/// on a 32-bit architecture only the low word of an argument is compared
/// (values are truncated); a masked comparison compares the masked value,
/// and one with an empty mask compares nothing.
#[derive(Clone)]
struct Pending<'p> {
    nr: u32,
    name: &'p str,
    action: Action,
    conds: Vec<Cond>,
}

impl<'p> Pending<'p> {
    fn new(arch: Arch, nr: u32, name: &'p str, action: Action, conds: &[Cond]) -> Pending<'p> {
        let width = if arch.is_64bit() {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        };
        let mut conds: Vec<Cond> = conds
            .iter()
            .map(|c| {
                let mask = c.mask & width;
                let value = if c.op == Op::MaskedEq {
                    c.value & mask
                } else {
                    c.value & width
                };
                Cond { value, mask, ..*c }
            })
            .filter(|c| !(c.op == Op::MaskedEq && c.mask == 0))
            .collect();
        conds.sort_by_key(|c| c.index);
        Pending {
            nr,
            name,
            action,
            conds,
        }
    }
}

/// Each syscall's rules merged in profile order (see `tree`), by number.
fn merge(arch: Arch, mut pending: Vec<Pending<'_>>) -> Result<Vec<(u32, Syscall)>, Error> {
    // Stable: a syscall's rules keep the profile's order.
    pending.sort_by_key(|p| p.nr);
    let mut out: Vec<(u32, Syscall)> = Vec::new();
    for p in pending {
        match out.last_mut() {
            Some((nr, s)) if *nr == p.nr => s.add(p.action, &p.conds).map_err(|_| {
                Error::Profile(format!(
                    "conflicting rules for syscall {} on {}: the same arguments get two actions",
                    p.name,
                    arch.spec_name()
                ))
            })?,
            _ => out.push((p.nr, Syscall::new(p.action, &p.conds))),
        }
    }
    Ok(out)
}

/// i386's multiplexed calls: (socketcall or ipc number, call number).
fn multiplexed(arch: Arch, name: &str) -> Option<(u32, u64)> {
    const SOCKETCALL: [&str; 20] = [
        "socket",
        "bind",
        "connect",
        "listen",
        "accept",
        "getsockname",
        "getpeername",
        "socketpair",
        "send",
        "recv",
        "sendto",
        "recvfrom",
        "shutdown",
        "setsockopt",
        "getsockopt",
        "sendmsg",
        "recvmsg",
        "accept4",
        "recvmmsg",
        "sendmmsg",
    ];
    const IPC: [(&str, u64); 12] = [
        ("semop", 1),
        ("semget", 2),
        ("semctl", 3),
        ("semtimedop", 4),
        ("msgsnd", 11),
        ("msgrcv", 12),
        ("msgget", 13),
        ("msgctl", 14),
        ("shmat", 21),
        ("shmdt", 22),
        ("shmget", 23),
        ("shmctl", 24),
    ];
    if arch != Arch::X86 {
        return None;
    }
    if let Some(i) = SOCKETCALL.iter().position(|n| *n == name) {
        return Some((arch.syscall("socketcall")?, i as u64 + 1));
    }
    let call = IPC.iter().find(|(n, _)| *n == name)?.1;
    Some((arch.syscall("ipc")?, call))
}

fn cond(
    index: usize,
    op: LinuxSeccompOperator,
    value: u64,
    value_two: Option<u64>,
) -> Result<Cond, Error> {
    if index >= 6 {
        return Err(Error::Profile(format!(
            "syscall argument index {index} is out of range (0-5)"
        )));
    }
    let (op, value, mask) = match op {
        LinuxSeccompOperator::ScmpCmpNe => (Op::Ne, value, 0),
        LinuxSeccompOperator::ScmpCmpLt => (Op::Lt, value, 0),
        LinuxSeccompOperator::ScmpCmpLe => (Op::Le, value, 0),
        LinuxSeccompOperator::ScmpCmpEq => (Op::Eq, value, 0),
        LinuxSeccompOperator::ScmpCmpGe => (Op::Ge, value, 0),
        LinuxSeccompOperator::ScmpCmpGt => (Op::Gt, value, 0),
        // The spec's `value` is the mask and `valueTwo` the datum.
        LinuxSeccompOperator::ScmpCmpMaskedEq => (Op::MaskedEq, value_two.unwrap_or(0), value),
    };
    Ok(Cond {
        index: index as u8,
        op,
        value,
        mask,
    })
}

/// The filter's architectures: the native one always (libseccomp starts
/// with it), then those the profile lists that this kernel can run. A listed
/// architecture that cannot run here can never reach the filter.
fn arches(seccomp: &LinuxSeccomp, native: Arch) -> Result<Vec<Arch>, Error> {
    let mut out = vec![native];
    for &listed in seccomp.architectures().iter().flatten() {
        let Some(arch) = Arch::from_spec(listed) else {
            // mips, ppc, s390, ...: no table here, and no kernel of ours runs them.
            continue;
        };
        if !native.runnable_on().contains(&arch) {
            continue;
        }
        if !out.contains(&arch) {
            out.push(arch);
        }
    }
    Ok(out)
}

/// seccomp(2) flags as runc passes them: none listed means SPEC_ALLOW;
/// TSYNC is accepted and means nothing for a process with one thread.
/// Only WAIT_KILLABLE_RECV is newer than the kernels corten runs on (see
/// `Filter::compile`), so only it is probed.
fn flags(seccomp: &LinuxSeccomp, probe: FlagProbe<'_>) -> Result<u32, Error> {
    use sys::seccomp::{FLAG_LOG, FLAG_SPEC_ALLOW, FLAG_WAIT_KILLABLE_RECV};
    let Some(listed) = seccomp.flags() else {
        return Ok(FLAG_SPEC_ALLOW);
    };
    let mut flags = 0;
    for flag in listed {
        let (bit, name) = match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => continue,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => (FLAG_LOG, "SECCOMP_FILTER_FLAG_LOG"),
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                (FLAG_SPEC_ALLOW, "SECCOMP_FILTER_FLAG_SPEC_ALLOW")
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => (
                FLAG_WAIT_KILLABLE_RECV,
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
            ),
        };
        if bit == FLAG_WAIT_KILLABLE_RECV && !probe(bit) {
            return Err(Error::Profile(format!(
                "seccomp flag {name} is not supported by this kernel"
            )));
        }
        flags |= bit;
    }
    Ok(flags)
}

/// A spec action as a kernel action: how runc maps it.
impl Action {
    pub fn from_spec(action: LinuxSeccompAction, errno_ret: Option<u32>) -> Action {
        // runc (and libseccomp) keep the low 16 bits; EPERM when none is given.
        let ret = errno_ret.map_or(libc_eperm(), |e| e as u16);
        match action {
            LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
                Action::KillThread
            }
            LinuxSeccompAction::ScmpActKillProcess => Action::KillProcess,
            LinuxSeccompAction::ScmpActTrap => Action::Trap,
            LinuxSeccompAction::ScmpActErrno => Action::Errno(ret),
            LinuxSeccompAction::ScmpActTrace => Action::Trace(ret),
            LinuxSeccompAction::ScmpActNotify => Action::Notify,
            LinuxSeccompAction::ScmpActLog => Action::Log,
            LinuxSeccompAction::ScmpActAllow => Action::Allow,
        }
    }
}

const fn libc_eperm() -> u16 {
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use sys::seccomp::{FLAG_LOG, FLAG_NEW_LISTENER, FLAG_SPEC_ALLOW, FLAG_WAIT_KILLABLE_RECV};

    fn policy(json: &str, kernel_has: u32) -> Result<Policy, Error> {
        let p: LinuxSeccomp = serde_json::from_str(json).unwrap();
        Policy::from_spec(&p, Arch::X86_64, &|bit| bit & kernel_has == bit)
    }

    #[test]
    fn flags_as_runc_passes_them() {
        let none = r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#;
        assert_eq!(policy(none, 0).unwrap().flags, FLAG_SPEC_ALLOW);
        let log = r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG",
                     "SECCOMP_FILTER_FLAG_TSYNC"]}"#;
        assert_eq!(policy(log, 0).unwrap().flags, FLAG_LOG);
        let killable = r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x",
            "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#;
        let e = policy(killable, 0).unwrap_err().to_string();
        assert!(e.contains("WAIT_KILLABLE_RECV is not supported"), "{e}");
        let p = policy(killable, FLAG_WAIT_KILLABLE_RECV).unwrap();
        assert_eq!(p.flags, FLAG_WAIT_KILLABLE_RECV | FLAG_NEW_LISTENER);
        // Without a notify rule the kernel would refuse it: dropped.
        let alone = r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}"#;
        assert_eq!(policy(alone, FLAG_WAIT_KILLABLE_RECV).unwrap().flags, 0);
    }
}
