//! Our compiler against seccompiler (the design's choice of crate) on what
//! seccompiler can express: one architecture (x86_64), one match action,
//! rules ORed per syscall, conditions ANDed in a rule. Both programs run
//! through the BPF interpreter over the same inputs.

mod common;

use std::collections::BTreeMap;

use common::Rng;

use seccomp::interp::{run, Data};
use seccomp::{Arch, Filter, Insn, Policy};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use serde_json::json;

trait Below {
    fn below(&mut self, n: usize) -> usize;
}
impl Below for Rng {
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const NAMES: &[&str] = &[
    "read", "write", "openat", "ioctl", "mmap", "clone", "socket", "getpgid",
];
const VALUES: &[u64] = &[
    0,
    1,
    5,
    7,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0005,
    u64::MAX,
];
/// (spec name, seccompiler action, our return value)
const ACTIONS: &[(&str, SeccompAction, u32)] = &[
    ("SCMP_ACT_ALLOW", SeccompAction::Allow, 0x7fff_0000),
    ("SCMP_ACT_ERRNO", SeccompAction::Errno(1), 0x0005_0001),
    (
        "SCMP_ACT_KILL_PROCESS",
        SeccompAction::KillProcess,
        0x8000_0000,
    ),
    ("SCMP_ACT_KILL_THREAD", SeccompAction::KillThread, 0),
    ("SCMP_ACT_LOG", SeccompAction::Log, 0x7ffc_0000),
    ("SCMP_ACT_TRAP", SeccompAction::Trap, 0x0003_0000),
];
const OPS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

fn insns(p: BpfProgram) -> Vec<Insn> {
    p.into_iter()
        .map(|i| Insn {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect()
}

#[test]
fn single_action_profiles_give_seccompilers_verdicts() {
    let mut rng = Rng(0x0dd_ba11);
    for trial in 0..300 {
        let default = &ACTIONS[rng.below(ACTIONS.len())];
        let matched = loop {
            let a = &ACTIONS[rng.below(ACTIONS.len())];
            if a.2 != default.2 {
                break a;
            }
        };
        let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
        let mut oci = Vec::new();
        let mut values = VALUES.to_vec();
        let mut unconditional = std::collections::BTreeSet::new();
        for _ in 0..1 + rng.below(6) {
            let name = NAMES[rng.below(NAMES.len())];
            let nr = i64::from(Arch::X86_64.syscall(name).unwrap());
            let mut indexes: Vec<u8> = (0..6).collect();
            let mut conds = Vec::new();
            let mut args = Vec::new();
            for _ in 0..rng.below(4) {
                let index = indexes.remove(rng.below(indexes.len()));
                let op = OPS[rng.below(OPS.len())];
                let (value, two) = (
                    VALUES[rng.below(VALUES.len())],
                    VALUES[rng.below(VALUES.len())],
                );
                values.extend([
                    value.wrapping_add(1),
                    value.wrapping_sub(1),
                    two,
                    two ^ value,
                ]);
                let cmp = match op {
                    "SCMP_CMP_EQ" => SeccompCmpOp::Eq,
                    "SCMP_CMP_NE" => SeccompCmpOp::Ne,
                    "SCMP_CMP_LT" => SeccompCmpOp::Lt,
                    "SCMP_CMP_LE" => SeccompCmpOp::Le,
                    "SCMP_CMP_GE" => SeccompCmpOp::Ge,
                    "SCMP_CMP_GT" => SeccompCmpOp::Gt,
                    _ => SeccompCmpOp::MaskedEq(value),
                };
                // MASKED_EQ: the spec's value is the mask, valueTwo the datum.
                let datum = if op == "SCMP_CMP_MASKED_EQ" {
                    two & value
                } else {
                    value
                };
                conds.push(
                    SeccompCondition::new(index, SeccompCmpArgLen::Qword, cmp, datum).unwrap(),
                );
                args.push(
                    json!({"index": index, "op": op, "value": value, "valueTwo": two & value}),
                );
            }
            // A rule without conditions decides the syscall (libseccomp
            // keeps the first, seccompiler takes an empty rule list).
            if unconditional.contains(&nr) {
                continue;
            }
            if conds.is_empty() {
                unconditional.insert(nr);
                rules.insert(nr, Vec::new());
                oci.push(json!({"names": [name], "action": matched.0, "errnoRet": 1}));
                continue;
            }
            rules
                .entry(nr)
                .or_default()
                .push(SeccompRule::new(conds).unwrap());
            oci.push(json!({"names": [name], "action": matched.0, "errnoRet": 1, "args": args}));
        }
        let profile = json!({"defaultAction": default.0, "defaultErrnoRet": 1, "syscalls": oci});
        let spec: oci_spec::runtime::LinuxSeccomp =
            serde_json::from_value(profile.clone()).unwrap();
        let policy = Policy::from_spec(&spec, Arch::X86_64, &|_| true).unwrap();
        let ours = Filter::program(&policy, false).unwrap();
        let theirs: BpfProgram = SeccompFilter::new(
            rules,
            default.1.clone(),
            matched.1.clone(),
            TargetArch::x86_64,
        )
        .unwrap()
        .try_into()
        .unwrap();
        let theirs = insns(theirs);
        values.sort_unstable();
        values.dedup();
        for (_, nr) in Arch::X86_64.table() {
            for round in 0..16 {
                let args = if round == 0 {
                    [0; 6]
                } else {
                    std::array::from_fn(|_| values[rng.below(values.len())])
                };
                let data = Data::new(nr, Arch::X86_64.audit(), args);
                let (o, t) = (run(&ours, &data), run(&theirs, &data));
                assert_eq!(
                    o, t,
                    "trial {trial}: nr {nr} args {args:x?}\nprofile {profile}"
                );
            }
        }
    }
}
