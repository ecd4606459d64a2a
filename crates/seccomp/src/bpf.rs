//! Classic BPF for seccomp: the instruction words, and an emitter that
//! writes a program back to front so that every jump is forward and its
//! distance is known when it is written.
//!
//! A conditional jump reaches at most 255 instructions ahead; a farther
//! target gets a `ja` trampoline (32-bit reach) right after the jump.

pub use sys::seccomp::SockFilter as Insn;

/// `struct seccomp_data` offsets (linux/seccomp.h).
pub const NR: u32 = 0;
pub const ARCH: u32 = 4;
/// Low 32 bits of argument `i` (every supported architecture is little-endian).
pub fn arg_lo(i: usize) -> u32 {
    16 + 8 * i as u32
}
/// High 32 bits of argument `i`.
pub fn arg_hi(i: usize) -> u32 {
    arg_lo(i) + 4
}

pub const LD_W_ABS: u16 = 0x20;
pub const ALU_AND_K: u16 = 0x54;
pub const JA: u16 = 0x05;
pub const JEQ_K: u16 = 0x15;
pub const JGT_K: u16 = 0x25;
pub const JGE_K: u16 = 0x35;
pub const JSET_K: u16 = 0x45;
pub const RET_K: u16 = 0x06;

/// The kernel's limit on a filter's length (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

/// Where an emitted instruction sits, counted from the program's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Label(usize);

/// Builds a program from its last instruction to its first.
#[derive(Default)]
pub struct Emitter {
    rev: Vec<Insn>,
    rets: std::collections::HashMap<u32, Label>,
}

impl Emitter {
    /// The label the next emitted instruction will have.
    fn here(&self) -> usize {
        self.rev.len()
    }

    fn push(&mut self, code: u16, jt: u8, jf: u8, k: u32) -> Label {
        self.rev.push(Insn { code, jt, jf, k });
        Label(self.rev.len() - 1)
    }

    /// Instructions between the next one emitted and `target`.
    fn distance(&self, target: Label) -> usize {
        self.here() - target.0 - 1
    }

    /// `return value`; one instruction per distinct value while it is in reach.
    pub fn ret(&mut self, value: u32) -> Label {
        if let Some(&l) = self.rets.get(&value) {
            // Reused only while a conditional jump still reaches it directly.
            if self.distance(l) < 200 {
                return l;
            }
        }
        let l = self.push(RET_K, 0, 0, value);
        self.rets.insert(value, l);
        l
    }

    /// Unconditional jump.
    pub fn ja(&mut self, target: Label) -> Label {
        if self.distance(target) == 0 {
            // The target is the next instruction: nothing to emit.
            return target;
        }
        let k = self.distance(target) as u32;
        self.push(JA, 0, 0, k)
    }

    /// Loads a word of `seccomp_data` into the accumulator.
    pub fn load(&mut self, offset: u32, next: Label) -> Label {
        self.ja(next);
        self.push(LD_W_ABS, 0, 0, offset)
    }

    /// `A &= k`, then continue at `next`.
    pub fn and(&mut self, k: u32, next: Label) -> Label {
        self.ja(next);
        self.push(ALU_AND_K, 0, 0, k)
    }

    /// `if (A <op> k) goto jt else goto jf`, `op` one of the JMP_*_K codes.
    pub fn jump(&mut self, code: u16, k: u32, jt: Label, jf: Label) -> Label {
        if jt == jf {
            return self.ja(jt);
        }
        // Two trampolines may be needed: leave room for both.
        let far = |e: &Self, l: Label| e.distance(l) > 253;
        let (mut t, mut f) = (jt, jf);
        if far(self, t) {
            t = self.push(JA, 0, 0, self.distance(t) as u32);
        }
        if far(self, f) {
            f = self.push(JA, 0, 0, self.distance(f) as u32);
        }
        let (dt, df) = (self.distance(t) as u8, self.distance(f) as u8);
        self.push(code, dt, df, k)
    }

    /// Number of instructions so far.
    pub fn len(&self) -> usize {
        self.rev.len()
    }

    /// Whether nothing was emitted.
    pub fn is_empty(&self) -> bool {
        self.rev.is_empty()
    }

    /// The program, first instruction first. `entry` must be the label of
    /// the last instruction emitted (the program's first).
    pub fn finish(mut self, entry: Label) -> Vec<Insn> {
        if entry.0 + 1 != self.rev.len() {
            let k = self.distance(entry) as u32;
            self.push(JA, 0, 0, k);
        }
        self.rev.reverse();
        self.rev
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::{run, Data};

    #[test]
    fn far_jumps_get_trampolines() {
        let mut e = Emitter::default();
        let allow = e.ret(0x7fff_0000);
        // 600 distinct returns push the deny target out of reach.
        let mut next = e.ret(0x0005_0001);
        for i in 0..600 {
            let hit = e.ret(0x0005_0000 | (i & 0xfff));
            next = e.jump(JEQ_K, 10_000 + i, hit, next);
        }
        let entry = e.jump(JEQ_K, 7, allow, next);
        let entry = e.load(NR, entry);
        let prog = e.finish(entry);
        let verdict = |nr| run(&prog, &Data::new(nr, 0, [0; 6])).unwrap();
        assert_eq!(verdict(7), 0x7fff_0000);
        assert_eq!(verdict(8), 0x0005_0001);
        assert_eq!(verdict(10_000 + 599), 0x0005_0000 | 599);
    }
}
