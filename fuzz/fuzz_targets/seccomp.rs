//! The seccomp compiler: a profile (the spec's `linux.seccomp`) translated
//! and compiled for every architecture the crate has tables for, each taken
//! as the kernel's own. Errors are fine; a panic is a bug, and so is a
//! program the kernel would refuse (its checks in `kernel_accepts`) or one
//! whose verdict, run in the crate's interpreter, differs from the policy's
//! meaning (`expected`).
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::LinuxSeccomp;
use seccomp::arch::X32_SYSCALL_BIT;
use seccomp::bpf::{self, Insn};
use seccomp::interp::{self, Data};
use seccomp::profile::{ArchRules, Cond, Op};
use seccomp::{Action, Arch, Filter, Policy};
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    // JSON (the seeds, and what mutates from them), or bytes that choose a
    // profile (every one valid, to reach the rule merging and code
    // generation more often than mutated JSON does).
    let profile = if data.first() == Some(&b'{') {
        serde_json::from_slice::<LinuxSeccomp>(data).ok()
    } else {
        generated(&mut Unstructured::new(data)).ok()
    };
    let Some(profile) = profile else {
        return;
    };
    for native in Arch::ALL {
        let Ok(policy) = Policy::from_spec(&profile, native, &|_| true) else {
            continue;
        };
        assert_eq!(
            policy.arches[0].0, native,
            "the native architecture comes first"
        );
        for (_, rules) in &policy.arches {
            assert!(
                rules.syscalls.windows(2).all(|w| w[0].0 < w[1].0),
                "syscalls sorted and merged"
            );
        }
        for stub in [false, true] {
            let Ok(program) = Filter::program(&policy, stub) else {
                continue;
            };
            if let Err(why) = kernel_accepts(&program) {
                panic!("{native:?} (stub {stub}): {why}\n{program:?}");
            }
            for input in inputs(&policy) {
                let got = interp::run(&program, &input)
                    .unwrap_or_else(|f| panic!("{native:?}: {f:?} on {input:?}"));
                let want = expected(&policy, &input);
                // runc's stub answers ENOSYS for syscalls newer than the profile.
                let enosys = stub && got == Action::Errno(38).ret();
                assert!(
                    got == want || enosys,
                    "{native:?} (stub {stub}): {input:?} gives {got:#x}, the policy says {want:#x}"
                );
            }
        }
    }
});

/// The kernel's checks of a seccomp program (net/core/filter.c
/// bpf_check_classic and kernel/seccomp.c seccomp_check_filter, for the
/// instructions this compiler emits).
fn kernel_accepts(prog: &[Insn]) -> Result<(), String> {
    if prog.is_empty() || prog.len() > bpf::MAX_INSNS {
        return Err(format!("{} instructions", prog.len()));
    }
    for (pc, insn) in prog.iter().enumerate() {
        let reach = |off: usize| pc + 1 + off < prog.len();
        let ok = match insn.code {
            bpf::LD_W_ABS => insn.k < 64 && insn.k % 4 == 0,
            bpf::ALU_AND_K | bpf::RET_K => true,
            bpf::JA => reach(insn.k as usize),
            bpf::JEQ_K | bpf::JGT_K | bpf::JGE_K | bpf::JSET_K => {
                reach(insn.jt.into()) && reach(insn.jf.into())
            }
            _ => false,
        };
        if !ok {
            return Err(format!("instruction {pc} {insn:?}"));
        }
    }
    match prog.last() {
        Some(i) if i.code == bpf::RET_K => Ok(()),
        _ => Err("the last instruction does not return".into()),
    }
}

/// Inputs worth running: every named syscall of every architecture with
/// argument vectors at and around the values its conditions compare with,
/// and numbers no rule names, on each audit value and one of none.
fn inputs(policy: &Policy) -> Vec<Data> {
    let mut out = Vec::new();
    let mut audits: Vec<u32> = Arch::ALL.iter().map(|a| a.audit()).collect();
    audits.push(0x1234);
    for audit in audits {
        for nr in [0, 1, X32_SYSCALL_BIT, X32_SYSCALL_BIT | 1, u32::MAX] {
            out.push(Data::new(nr, audit, [0; 6]));
        }
    }
    for (arch, rules) in &policy.arches {
        if let Some(max) = rules.max_named {
            out.push(Data::new(max.wrapping_add(1), arch.audit(), [0; 6]));
        }
        for (nr, syscall) in &rules.syscalls {
            out.push(Data::new(*nr, arch.audit(), [0; 6]));
            out.push(Data::new(*nr, arch.audit(), [u64::MAX; 6]));
            for (conds, _) in syscall.rules() {
                // All of a rule's conditions at once (to reach deep rules),
                // then each one nudged.
                let mut args = [0u64; 6];
                for c in &conds {
                    args[usize::from(c.index)] = c.value;
                }
                out.push(Data::new(*nr, arch.audit(), args));
                for c in &conds {
                    let v = c.value;
                    for x in [v.wrapping_add(1), v.wrapping_sub(1), v ^ (1 << 32), !v] {
                        let mut a = args;
                        a[usize::from(c.index)] = x;
                        out.push(Data::new(*nr, arch.audit(), a));
                    }
                }
            }
        }
    }
    out
}

/// What the policy means for `data`, without runc's ENOSYS stub.
fn expected(policy: &Policy, data: &Data) -> u32 {
    let kill = Action::KillThread.ret();
    let rules = |a: Arch| policy.arches.iter().find(|(x, _)| *x == a).map(|(_, r)| r);
    let has = |a: Arch| rules(a).is_some();
    // x32 shares x86_64's audit value and block.
    let Some(&(arch, _)) = policy
        .arches
        .iter()
        .find(|(a, _)| a.audit() == data.arch && !(*a == Arch::X32 && has(Arch::X86_64)))
    else {
        return kill;
    };
    let decide = |a: Arch, r: &ArchRules| {
        let found = r.syscalls.iter().find(|(nr, _)| *nr == data.nr)?;
        let hit = found.1.rules().into_iter().find(|(conds, _)| {
            conds
                .iter()
                .all(|c| holds(c, a, data.args[usize::from(c.index)]))
        });
        Some(hit.map_or(policy.default, |(_, action)| action))
    };
    let mut candidates = vec![(arch, rules(arch).expect("listed"))];
    if arch == Arch::X86_64 {
        match rules(Arch::X32) {
            Some(x32) => candidates.push((Arch::X32, x32)),
            None if data.nr & X32_SYSCALL_BIT != 0 && data.nr != u32::MAX => return kill,
            None => {}
        }
    }
    candidates
        .into_iter()
        .find_map(|(a, r)| decide(a, r))
        .unwrap_or(policy.default)
        .ret()
}

/// Whether `c` holds for the argument `arg` on `arch` (a 32-bit
/// architecture compares the low word only).
fn holds(c: &Cond, arch: Arch, arg: u64) -> bool {
    let a = if arch.is_64bit() {
        arg
    } else {
        arg & 0xffff_ffff
    };
    match c.op {
        Op::Eq => a == c.value,
        Op::Ne => a != c.value,
        Op::Lt => a < c.value,
        Op::Le => a <= c.value,
        Op::Gt => a > c.value,
        Op::Ge => a >= c.value,
        Op::MaskedEq => a & c.mask == c.value,
    }
}

/// A profile chosen by `u`: actions, architectures, flags and rules with
/// conditions, names from a pool that has i386's multiplexed calls, a
/// syscall some architectures lack, and one none has.
fn generated(u: &mut Unstructured<'_>) -> Result<LinuxSeccomp> {
    const ACTIONS: [&str; 9] = [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_TRACE",
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_LOG",
        "SCMP_ACT_NOTIFY",
    ];
    const ARCHES: [&str; 8] = [
        "SCMP_ARCH_NATIVE",
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X86",
        "SCMP_ARCH_X32",
        "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_ARM",
        "SCMP_ARCH_RISCV64",
        "SCMP_ARCH_MIPS",
    ];
    const FLAGS: [&str; 4] = [
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ];
    const OPS: [&str; 7] = [
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ",
    ];
    const NAMES: [&str; 16] = [
        "read",
        "write",
        "open",
        "openat",
        "clone",
        "personality",
        "kill",
        "socket",
        "sendmsg",
        "accept4",
        "semop",
        "shmctl",
        "socketcall",
        "ipc",
        "mmap2",
        "no_such_syscall",
    ];
    const VALUES: [u64; 8] = [
        0,
        1,
        2,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0001,
        u64::MAX,
        1 << 63,
    ];
    let mut profile = json!({ "defaultAction": *u.choose(&ACTIONS)? });
    if u.arbitrary()? {
        profile["defaultErrnoRet"] = json!(u.int_in_range(0..=70_000u32)?);
    }
    if u.arbitrary()? {
        let arches: Vec<&str> = ARCHES
            .iter()
            .copied()
            .filter(|_| u.arbitrary().unwrap_or(false))
            .collect();
        profile["architectures"] = json!(arches);
    }
    if u.arbitrary()? {
        let flags: Vec<&str> = FLAGS
            .iter()
            .copied()
            .filter(|_| u.arbitrary().unwrap_or(false))
            .collect();
        profile["flags"] = json!(flags);
    }
    let mut rules = Vec::new();
    for _ in 0..u.int_in_range(0..=12u8)? {
        let names: Vec<&str> = (0..u.int_in_range(1..=3u8)?)
            .map(|_| u.choose(&NAMES).copied())
            .collect::<Result<_>>()?;
        let mut rule = json!({ "names": names, "action": *u.choose(&ACTIONS)? });
        if u.arbitrary()? {
            rule["errnoRet"] = json!(u.int_in_range(0..=70_000u32)?);
        }
        let mut args = Vec::new();
        for _ in 0..u.int_in_range(0..=4u8)? {
            let mut value = || -> Result<u64> {
                Ok(if u.arbitrary()? {
                    *u.choose(&VALUES)?
                } else {
                    u.arbitrary()?
                })
            };
            let (v, v2) = (value()?, value()?);
            let mut arg = json!({
                "index": u.int_in_range(0..=6u8)?,
                "value": v,
                "op": *u.choose(&OPS)?,
            });
            if u.arbitrary()? {
                arg["valueTwo"] = json!(v2);
            }
            args.push(arg);
        }
        if !args.is_empty() {
            rule["args"] = Value::Array(args);
        }
        rules.push(rule);
    }
    profile["syscalls"] = Value::Array(rules);
    serde_json::from_value(profile).map_err(|_| libfuzzer_sys::arbitrary::Error::IncorrectFormat)
}
