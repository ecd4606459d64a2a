//! A [`Policy`] as one BPF program.
//!
//! ```text
//!   ld arch; one jeq per architecture block; ret bad-arch (KILL_THREAD)
//!   block: ld nr
//!          [runc's ENOSYS stub: nr above the profile's highest → ENOSYS]
//!          [x86_64 without x32: nr with the x32 bit → bad arch]
//!          binary search over number ranges → ret action | argument checks
//!   checks: the syscall's rules in libseccomp's order, first match decides
//! ```
//!
//! The program is emitted back to front (see `bpf`), so every jump is
//! forward and its distance known when it is written.

use crate::action::Action;
use crate::arch::{Arch, X32_SYSCALL_BIT};
use crate::bpf::{self, Emitter, Insn, Label, JEQ_K, JGE_K, JGT_K, JSET_K};
use crate::profile::{ArchRules, Cond, Op, Policy};
use crate::tree::Syscall;
use crate::Error;

const ENOSYS: u16 = 38;

/// Compiles `policy`; `enosys_stub` adds runc's answer for syscalls newer
/// than the profile.
pub fn program(policy: &Policy, enosys_stub: bool) -> Result<Vec<Insn>, Error> {
    let mut e = Emitter::default();
    let bad_arch = Action::KillThread.ret();
    // runc's stub stands aside when the default already lets syscalls run.
    let stub = enosys_stub
        && !matches!(
            policy.default,
            Action::Allow | Action::Log | Action::Trace(_)
        );
    // x32 shares x86_64's audit value: one block serves both.
    let x32 = policy
        .arches
        .iter()
        .find(|(a, _)| *a == Arch::X32)
        .map(|(_, r)| r);
    let mut blocks = Vec::new();
    for (arch, rules) in policy.arches.iter().rev() {
        if *arch == Arch::X32 && policy.arches.iter().any(|(a, _)| *a == Arch::X86_64) {
            continue;
        }
        let partner = if *arch == Arch::X86_64 { x32 } else { None };
        let label = block(&mut e, *arch, rules, partner, policy.default, stub);
        blocks.push((arch.audit(), label));
    }
    let mut next = e.ret(bad_arch);
    for (audit, label) in blocks {
        next = e.jump(JEQ_K, audit, label, next);
    }
    let entry = e.load(bpf::ARCH, next);
    let program = e.finish(entry);
    if program.len() > bpf::MAX_INSNS {
        return Err(Error::Profile(format!(
            "the profile compiles to {} BPF instructions; the kernel takes at most {}",
            program.len(),
            bpf::MAX_INSNS
        )));
    }
    Ok(program)
}

/// One architecture's block (x86_64's also serves x32 when `x32` is given).
fn block(
    e: &mut Emitter,
    arch: Arch,
    rules: &ArchRules,
    x32: Option<&ArchRules>,
    default: Action,
    stub: bool,
) -> Label {
    // Each syscall is checked with its own architecture's argument width.
    let mut syscalls: Vec<(u32, Arch, &Syscall)> =
        rules.syscalls.iter().map(|(n, s)| (*n, arch, s)).collect();
    if let Some(x) = x32 {
        syscalls.extend(x.syscalls.iter().map(|(n, s)| (*n, Arch::X32, s)));
        syscalls.sort_by_key(|(n, _, _)| *n);
    }
    let mut entry = lookup(e, &syscalls, default);
    if arch == Arch::X86_64 && x32.is_none() {
        // libseccomp: an x32 syscall in an x86_64-only filter is a bad
        // architecture; -1 (a skipped syscall) still looks up the default.
        let bad = e.ret(Action::KillThread.ret());
        let minus_one = e.jump(JEQ_K, u32::MAX, entry, bad);
        entry = e.jump(JGE_K, X32_SYSCALL_BIT, minus_one, entry);
    }
    if stub {
        entry = enosys_stub(e, arch, rules, x32, entry);
    }
    e.load(bpf::NR, entry)
}

/// runc's stub: a syscall numbered above every one the profile names is
/// newer than the profile, and answers ENOSYS so that libc falls back to
/// an older call, instead of the default action's EPERM. Every
/// architecture of the filter gets it, the implied native one included
/// (runc's findLastSyscalls "always include the native architecture").
fn enosys_stub(
    e: &mut Emitter,
    arch: Arch,
    rules: &ArchRules,
    x32: Option<&ArchRules>,
    filter: Label,
) -> Label {
    let enosys = Action::Errno(ENOSYS).ret();
    let above = |e: &mut Emitter, max: Option<u32>| match max {
        Some(max) => {
            let r = e.ret(enosys);
            e.jump(JGT_K, max, r, filter)
        }
        None => filter,
    };
    if arch != Arch::X86_64 {
        return above(e, rules.max_named);
    }
    let native = above(e, rules.max_named);
    let with_bit = match x32 {
        Some(x) => above(e, x.max_named),
        None => filter,
    };
    e.jump(JSET_K, X32_SYSCALL_BIT, with_bit, native)
}

/// A binary search over the syscall numbers: ranges of numbers with one
/// action collapse into one leaf; gaps get the default.
fn lookup(e: &mut Emitter, syscalls: &[(u32, Arch, &Syscall)], default: Action) -> Label {
    // (first number, what decides it) for consecutive ranges covering 0..=u32::MAX.
    let mut ranges: Vec<(u32, Leaf<'_>)> = vec![(0, Leaf::Ret(default))];
    for (i, &(nr, arch, s)) in syscalls.iter().enumerate() {
        let leaf = match s {
            Syscall::Always(a) => Leaf::Ret(*a),
            tree => Leaf::Checks(arch, tree),
        };
        if ranges.last().map(|(start, _)| *start) == Some(nr) {
            ranges.pop();
        }
        if ranges.last().map(|r| &r.1) != Some(&leaf) {
            ranges.push((nr, leaf));
        }
        // `syscalls` is sorted: a gap after this one is the default's.
        if let Some(after) = nr.checked_add(1) {
            if syscalls.get(i + 1).map(|(n, _, _)| *n) != Some(after) {
                ranges.push((after, Leaf::Ret(default)));
            }
        }
    }
    ranges.dedup_by(|b, a| a.1 == b.1);
    search(e, &ranges, default)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Leaf<'a> {
    Ret(Action),
    Checks(Arch, &'a Syscall),
}

fn search(e: &mut Emitter, ranges: &[(u32, Leaf<'_>)], default: Action) -> Label {
    if let [(_, leaf)] = ranges {
        return match leaf {
            Leaf::Ret(a) => e.ret(a.ret()),
            Leaf::Checks(arch, s) => checks(e, *arch, s, default),
        };
    }
    let mid = ranges.len() / 2;
    let high = search(e, &ranges[mid..], default);
    let low = search(e, &ranges[..mid], default);
    e.jump(JGE_K, ranges[mid].0, high, low)
}

/// A syscall's rules, tried in order; none matching gives the default.
fn checks(e: &mut Emitter, arch: Arch, syscall: &Syscall, default: Action) -> Label {
    let mut next = e.ret(default.ret());
    for (conds, action) in syscall.rules().iter().rev() {
        let mut pass = e.ret(action.ret());
        for c in conds.iter().rev() {
            pass = cond(e, arch, c, pass, next);
        }
        next = pass;
    }
    next
}

/// One comparison: to `pass` when it holds, to `fail` when not. 64-bit
/// arguments are compared high word first, as libseccomp does; 32-bit
/// architectures compare the low word only.
fn cond(e: &mut Emitter, arch: Arch, c: &Cond, pass: Label, fail: Label) -> Label {
    let i = usize::from(c.index);
    let (hi, lo) = ((c.value >> 32) as u32, c.value as u32);
    let (mhi, mlo) = ((c.mask >> 32) as u32, c.mask as u32);
    // LT, LE and NE are GE, GT and EQ with the outcomes swapped.
    let (op, pass, fail) = match c.op {
        Op::Lt => (Op::Ge, fail, pass),
        Op::Le => (Op::Gt, fail, pass),
        Op::Ne => (Op::Eq, fail, pass),
        op => (op, pass, fail),
    };
    let low_word = |e: &mut Emitter| {
        let j = match op {
            Op::Eq => e.jump(JEQ_K, lo, pass, fail),
            Op::Gt => e.jump(JGT_K, lo, pass, fail),
            Op::Ge => e.jump(JGE_K, lo, pass, fail),
            _ => {
                let j = e.jump(JEQ_K, lo, pass, fail);
                e.and(mlo, j)
            }
        };
        e.load(bpf::arg_lo(i), j)
    };
    let low = low_word(e);
    if !arch.is_64bit() {
        return low;
    }
    let j = match op {
        Op::Eq => e.jump(JEQ_K, hi, low, fail),
        Op::Gt | Op::Ge => {
            let eq = e.jump(JEQ_K, hi, low, fail);
            e.jump(JGT_K, hi, pass, eq)
        }
        _ => {
            let eq = e.jump(JEQ_K, hi, low, fail);
            e.and(mhi, eq)
        }
    };
    e.load(bpf::arg_hi(i), j)
}
