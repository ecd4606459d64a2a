//! seccomp for corten: the spec's `linux.seccomp` compiled to classic BPF
//! by our own code, for every architecture the profile lists, with the
//! verdicts libseccomp would give for the same rules.
//!
//! - `profile`: the spec's profile as per-architecture rules, translated as
//!   runc translates it for libseccomp.
//! - `compile`: the rules as one BPF program (a binary search over syscall
//!   numbers, argument checks as libseccomp orders them, runc's ENOSYS stub).
//! - `bpf`: instruction words and a back-to-front emitter.
//! - `interp`: a BPF interpreter, for tests that compare filters.
//! - `arch`: audit values and syscall tables (generated from kernel headers).
//!
//! seccompiler (the design's choice) builds one architecture with one match
//! action per filter and has no notify in its release: it is an oracle in
//! our tests, not the compiler (see README's dependency table).

pub mod action;
pub mod arch;
pub mod bpf;
mod compile;
pub mod interp;
pub mod profile;
mod tree;

use std::os::fd::OwnedFd;

pub use action::Action;
pub use arch::Arch;
pub use bpf::Insn;
pub use profile::Policy;

use oci_spec::runtime::LinuxSeccomp;

/// Why a profile cannot become a filter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("seccomp: {0}")]
    Profile(String),
}

/// A compiled filter, ready to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub program: Vec<Insn>,
    /// seccomp(2) flags.
    pub flags: u32,
    /// Installing it yields a listener for SCMP_ACT_NOTIFY rules.
    pub notifies: bool,
}

impl Filter {
    /// Compiles `profile` for this machine's kernel.
    pub fn compile(profile: &LinuxSeccomp) -> Result<Filter, Error> {
        // No probe of the actions (NOTIFY, the newest, is Linux 5.0) or of
        // the LOG and SPEC_ALLOW flags (4.17): corten needs openat2 (5.6) on
        // every create, so they are there; only WAIT_KILLABLE_RECV (5.19)
        // is asked of the kernel, when a profile lists it.
        let policy = Policy::from_spec(profile, Arch::native(), &sys::seccomp::flag_supported)?;
        Filter::from_policy(&policy)
    }

    /// Compiles a translated profile.
    pub fn from_policy(policy: &Policy) -> Result<Filter, Error> {
        let program = compile::program(policy, true)?;
        Ok(Filter {
            program,
            flags: policy.flags,
            notifies: policy.notifies,
        })
    }

    /// The program for `policy`, with or without runc's ENOSYS stub (tests
    /// compare the rest with libseccomp's).
    pub fn program(policy: &Policy, enosys_stub: bool) -> Result<Vec<Insn>, Error> {
        compile::program(policy, enosys_stub)
    }

    /// Which of the syscalls `names` (this machine's) the filter keeps a
    /// process from making: anything but allow, log or a notification (the
    /// agent decides). Asked with all arguments 0: rules on arguments are
    /// not explored.
    pub fn denies<'a>(&self, names: &[&'a str]) -> Vec<&'a str> {
        let arch = Arch::native();
        let passes = |ret: u32| {
            let action = ret & 0xffff_0000;
            [Action::Allow, Action::Log, Action::Notify]
                .iter()
                .any(|a| a.ret() == action)
        };
        names
            .iter()
            .copied()
            .filter(|name| {
                let Some(nr) = arch.syscall(name) else {
                    return false;
                };
                let data = interp::Data::new(nr, arch.audit(), [0; 6]);
                interp::run(&self.program, &data).is_ok_and(|ret| !passes(ret))
            })
            .collect()
    }

    /// Installs the filter on the calling thread; returns the listener when
    /// the filter notifies. The caller has no_new_privs or CAP_SYS_ADMIN.
    pub fn install(&self) -> Result<Option<OwnedFd>, sys::Error> {
        sys::seccomp::set_mode_filter(&self.program, self.flags)
    }
}

/// What `corten features` reports under linux.seccomp.
pub mod features {
    use super::Arch;

    pub const ACTIONS: [&str; 9] = [
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_LOG",
        "SCMP_ACT_NOTIFY",
        "SCMP_ACT_TRACE",
        "SCMP_ACT_TRAP",
    ];
    pub const OPERATORS: [&str; 7] = [
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_LE",
        "SCMP_CMP_LT",
        "SCMP_CMP_MASKED_EQ",
        "SCMP_CMP_NE",
    ];
    /// Flags the spec names, with their bit (TSYNC's is never passed: the
    /// init has one thread).
    const FLAGS: [(&str, u32); 4] = [
        ("SECCOMP_FILTER_FLAG_TSYNC", sys::seccomp::FLAG_TSYNC),
        (
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            sys::seccomp::FLAG_SPEC_ALLOW,
        ),
        ("SECCOMP_FILTER_FLAG_LOG", sys::seccomp::FLAG_LOG),
        (
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
            sys::seccomp::FLAG_WAIT_KILLABLE_RECV,
        ),
    ];

    /// The architectures with syscall tables, by spec name, sorted.
    pub fn archs() -> Vec<&'static str> {
        let mut v: Vec<&str> = Arch::ALL.iter().map(|a| a.spec_name()).collect();
        v.sort_unstable();
        v
    }

    pub fn known_flags() -> Vec<&'static str> {
        FLAGS.iter().map(|(n, _)| *n).collect()
    }

    /// The flags this kernel takes.
    pub fn supported_flags() -> Vec<&'static str> {
        FLAGS
            .iter()
            .filter(|(_, bit)| sys::seccomp::flag_supported(*bit))
            .map(|(n, _)| *n)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denies_names_what_the_filter_keeps_a_native_process_from() {
        let profile: LinuxSeccomp = serde_json::from_value(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["write"], "action": "SCMP_ACT_LOG"},
                {"names": ["close"], "action": "SCMP_ACT_KILL"}
            ]
        }))
        .unwrap();
        let f = Filter::compile(&profile).unwrap();
        let asked = ["read", "write", "close", "execve", "no_such_call"];
        assert_eq!(f.denies(&asked), ["read", "close"]);
    }
}
