//! Shared by the seccomp tests and the compile benchmark: libseccomp as the
//! oracle (a profile built the way runc builds it) and a small generator.
#![allow(dead_code)]

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction as A, LinuxSeccompOperator as O};
use seccomp::{Arch, Insn};

/// libseccomp's program for `profile`, built the way runc builds it.
/// `Err` where runc would fail to add a rule.
pub fn oracle(profile: &LinuxSeccomp, native: Arch) -> Result<Vec<Insn>, String> {
    let default = action(profile.default_action(), profile.default_errno_ret());
    let mut ctx = ScmpFilterContext::new_filter(default).map_err(|e| e.to_string())?;
    let scmp = |a: Arch| match a {
        Arch::X86_64 => ScmpArch::X8664,
        Arch::X86 => ScmpArch::X86,
        Arch::X32 => ScmpArch::X32,
        Arch::Aarch64 => ScmpArch::Aarch64,
        Arch::Arm => ScmpArch::Arm,
        Arch::Riscv64 => ScmpArch::Riscv64,
    };
    if native != Arch::native() {
        ctx.add_arch(scmp(native)).unwrap();
        ctx.remove_arch(ScmpArch::Native).unwrap();
    }
    for a in profile.architectures().iter().flatten() {
        let a = Arch::from_spec(*a).unwrap();
        if native.runnable_on().contains(&a) {
            ctx.add_arch(scmp(a)).unwrap();
        }
    }
    for rule in profile.syscalls().iter().flatten() {
        let act = action(rule.action(), rule.errno_ret());
        if act == default {
            continue;
        }
        let conds: Vec<ScmpArgCompare> = rule
            .args()
            .iter()
            .flatten()
            .map(|a| {
                let op = match a.op() {
                    O::ScmpCmpNe => ScmpCompareOp::NotEqual,
                    O::ScmpCmpLt => ScmpCompareOp::Less,
                    O::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
                    O::ScmpCmpEq => ScmpCompareOp::Equal,
                    O::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
                    O::ScmpCmpGt => ScmpCompareOp::Greater,
                    O::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(a.value()),
                };
                let datum = if a.op() == O::ScmpCmpMaskedEq {
                    a.value_two().unwrap_or(0)
                } else {
                    a.value()
                };
                ScmpArgCompare::new(a.index() as u32, op, datum)
            })
            .collect();
        let mut indexes: Vec<u32> = rule
            .args()
            .iter()
            .flatten()
            .map(|a| a.index() as u32)
            .collect();
        indexes.sort_unstable();
        let repeats = indexes.windows(2).any(|w| w[0] == w[1]);
        for name in rule.names() {
            let Ok(nr) = ScmpSyscall::from_name(name) else {
                continue;
            };
            let r = if conds.is_empty() {
                ctx.add_rule(act, nr)
            } else if repeats {
                conds
                    .iter()
                    .try_for_each(|c| ctx.add_rule_conditional(act, nr, &[*c]))
            } else {
                ctx.add_rule_conditional(act, nr, &conds)
            };
            r.map_err(|e| format!("{name}: {e}"))?;
        }
    }
    let mut out = tempfile();
    ctx.export_bpf(&mut out).unwrap();
    use std::io::{Read, Seek};
    out.rewind().unwrap();
    let mut bytes = Vec::new();
    out.read_to_end(&mut bytes).unwrap();
    Ok(bytes
        .chunks(8)
        .map(|c| Insn {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

pub fn tempfile() -> std::fs::File {
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "corten-bpf-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    f
}

pub fn action(a: A, errno: Option<u32>) -> ScmpAction {
    let ret = errno.map_or(1, |e| e as u16);
    match a {
        A::ScmpActKill | A::ScmpActKillThread => ScmpAction::KillThread,
        A::ScmpActKillProcess => ScmpAction::KillProcess,
        A::ScmpActTrap => ScmpAction::Trap,
        A::ScmpActErrno => ScmpAction::Errno(i32::from(ret)),
        A::ScmpActTrace => ScmpAction::Trace(ret),
        A::ScmpActNotify => ScmpAction::Notify,
        A::ScmpActLog => ScmpAction::Log,
        A::ScmpActAllow => ScmpAction::Allow,
    }
}

/// A small deterministic generator (xorshift), so failures reproduce.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}
