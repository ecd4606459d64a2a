//! Compile time of a seccomp profile: corten's compiler beside libseccomp's
//! (translated as runc does, exported as BPF). Run by hack/bench.sh:
//!
//!     cargo run --release -p corten-seccomp --example compile-bench -- PROFILE.json [ROUNDS]

use std::time::{Duration, Instant};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction as A, LinuxSeccompOperator as O};

fn action(a: A, errno: Option<u32>) -> ScmpAction {
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

/// libseccomp: build the filter as runc does and export its BPF.
fn libseccomp(p: &LinuxSeccomp, sink: &mut std::fs::File) {
    let default = action(p.default_action(), p.default_errno_ret());
    let mut ctx = ScmpFilterContext::new_filter(default).unwrap();
    for a in p.architectures().iter().flatten() {
        let arch = match a {
            oci_spec::runtime::Arch::ScmpArchX86 => ScmpArch::X86,
            oci_spec::runtime::Arch::ScmpArchX32 => ScmpArch::X32,
            _ => continue,
        };
        ctx.add_arch(arch).unwrap();
    }
    for rule in p.syscalls().iter().flatten() {
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
        for name in rule.names() {
            let Ok(nr) = ScmpSyscall::from_name(name) else {
                continue;
            };
            // Same-index conditions become separate rules (runc).
            for c in &conds {
                ctx.add_rule_conditional(act, nr, &[*c]).unwrap();
            }
            if conds.is_empty() {
                ctx.add_rule(act, nr).unwrap();
            }
        }
    }
    ctx.export_bpf(sink).unwrap();
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: compile-bench PROFILE.json [ROUNDS]");
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(200);
    let profile: LinuxSeccomp = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut ours = Vec::new();
    let mut insns = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let f = seccomp::Filter::compile(&profile).unwrap();
        ours.push(t.elapsed());
        insns = f.program.len();
    }
    // The two halves: translating the profile, emitting the program.
    let native = seccomp::Arch::native();
    let mut translate = Vec::new();
    let mut emit = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let policy = seccomp::Policy::from_spec(&profile, native, &|_| true).unwrap();
        translate.push(t.elapsed());
        let t = Instant::now();
        seccomp::Filter::from_policy(&policy).unwrap();
        emit.push(t.elapsed());
    }
    let mut sink = std::fs::File::create("/dev/null").unwrap();
    let mut theirs = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        libseccomp(&profile, &mut sink);
        theirs.push(t.elapsed());
    }
    let (o, t) = (median(ours), median(theirs));
    let (tr, em) = (median(translate), median(emit));
    println!(
        "seccomp compile (median of {rounds}): corten {:.1} us ({insns} insns), libseccomp {:.1} us, {:.0}x",
        o.as_secs_f64() * 1e6,
        t.as_secs_f64() * 1e6,
        t.as_secs_f64() / o.as_secs_f64()
    );
    println!(
        "  corten: translate {:.1} us, emit {:.1} us",
        tr.as_secs_f64() * 1e6,
        em.as_secs_f64() * 1e6
    );
}
