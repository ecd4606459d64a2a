//! The few eBPF instructions a device filter needs, and a block builder
//! whose tests all jump to the block's end.
//!
//! eBPF jumps are relative to the next instruction and 16 bits wide; every
//! jump here skips the rest of its own block (a dozen instructions at most),
//! so the offsets are known once the block is complete.

pub use sys::bpf::Insn;

/// The registers we use. On entry r1 points at the context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reg {
    R0 = 0,
    R1,
    R2,
    R3,
    R4,
    R5,
}

// Opcodes: class | operation | source (linux/bpf_common.h, linux/bpf.h).
pub const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
pub const ALU_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K (32-bit)
pub const ALU_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
pub const ALU_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
pub const ALU_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
pub const JMP_JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K (64-bit compare)
pub const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
pub const JMP_JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
pub const JMP_JSET_K: u8 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
pub const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

/// `dst = *(u32 *)(src + off)`.
pub fn load_u32(dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::new(LDX_MEM_W, dst as u8, src as u8, off, 0)
}

/// `dst = (u32)dst & imm`.
pub fn and32(dst: Reg, imm: u32) -> Insn {
    Insn::new(ALU_AND_K, dst as u8, 0, 0, imm as i32)
}

/// `dst = (u32)dst >> imm`.
pub fn rsh32(dst: Reg, imm: u32) -> Insn {
    Insn::new(ALU_RSH_K, dst as u8, 0, 0, imm as i32)
}

/// `dst = imm`, zero-extended: a 32-bit move takes any u32 as it is.
pub fn mov32(dst: Reg, imm: u32) -> Insn {
    Insn::new(ALU_MOV_K, dst as u8, 0, 0, imm as i32)
}

/// `dst = (u32)src`.
pub fn mov32_reg(dst: Reg, src: Reg) -> Insn {
    Insn::new(ALU_MOV_X, dst as u8, src as u8, 0, 0)
}

/// `return r0`.
pub fn exit() -> Insn {
    Insn::new(JMP_EXIT, 0, 0, 0, 0)
}

/// A condition under which a block is skipped. The K forms compare all 64
/// bits against the immediate sign-extended, so an immediate must stay
/// below 2^31 where the register holds a zero-extended u32 (see `Block::skip_unless_eq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// `reg != imm`.
    Ne(Reg, i32),
    /// `reg != reg`.
    NeReg(Reg, Reg),
    /// `reg == imm`.
    Eq(Reg, i32),
    /// `reg & imm != 0`.
    AnySet(Reg, i32),
}

impl Skip {
    fn insn(self, off: i16) -> Insn {
        match self {
            Skip::Ne(r, imm) => Insn::new(JMP_JNE_K, r as u8, 0, off, imm),
            Skip::NeReg(a, b) => Insn::new(JMP_JNE_X, a as u8, b as u8, off, 0),
            Skip::Eq(r, imm) => Insn::new(JMP_JEQ_K, r as u8, 0, off, imm),
            Skip::AnySet(r, imm) => Insn::new(JMP_JSET_K, r as u8, 0, off, imm),
        }
    }
}

enum Step {
    Do(Insn),
    SkipIf(Skip),
}

/// A run of tests, each leaving the block when it holds, and a return at
/// the end of them: "if all tests fail, return `value`".
#[derive(Default)]
pub struct Block {
    steps: Vec<Step>,
}

impl Block {
    /// An instruction that is no test (setting up a scratch register).
    pub fn then(&mut self, insn: Insn) -> &mut Self {
        self.steps.push(Step::Do(insn));
        self
    }

    /// Leaves the block when `skip` holds.
    pub fn skip_if(&mut self, skip: Skip) -> &mut Self {
        self.steps.push(Step::SkipIf(skip));
        self
    }

    /// Leaves the block unless `reg == value`, for any u32 `value`: one
    /// instruction when `value` fits the sign-extended immediate, else a
    /// 32-bit move into `scratch` and a register compare.
    pub fn skip_unless_eq(&mut self, reg: Reg, value: u32, scratch: Reg) -> &mut Self {
        match i32::try_from(value) {
            Ok(imm) => self.skip_if(Skip::Ne(reg, imm)),
            Err(_) => self
                .then(mov32(scratch, value))
                .skip_if(Skip::NeReg(reg, scratch)),
        }
    }

    /// Closes the block with `return value` and resolves its jumps.
    pub fn ret(&mut self, value: u32) -> Vec<Insn> {
        self.then(mov32(Reg::R0, value)).then(exit());
        let len = self.steps.len();
        self.steps
            .drain(..)
            .enumerate()
            .map(|(i, step)| match step {
                Step::Do(insn) => insn,
                Step::SkipIf(skip) => {
                    // The first instruction after the block.
                    let off = i16::try_from(len - i - 1).expect("a block is a few instructions");
                    skip.insn(off)
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_land_just_past_the_block() {
        let mut b = Block::default();
        let insns = b
            .skip_if(Skip::Ne(Reg::R2, 2))
            .then(mov32_reg(Reg::R1, Reg::R3))
            .skip_if(Skip::Eq(Reg::R1, 0))
            .ret(1);
        assert_eq!(insns.len(), 5);
        // pc + 1 + off == 5 for both jumps.
        assert_eq!((insns[0].code, insns[0].off), (JMP_JNE_K, 4));
        assert_eq!((insns[2].code, insns[2].off), (JMP_JEQ_K, 2));
        assert_eq!(insns[3], mov32(Reg::R0, 1));
        assert_eq!(insns[4].code, JMP_EXIT);
    }

    #[test]
    fn big_numbers_compare_through_a_register() {
        let mut b = Block::default();
        let insns = b.skip_unless_eq(Reg::R4, 1 << 31, Reg::R1).ret(0);
        assert_eq!(insns[0], mov32(Reg::R1, 1 << 31));
        assert_eq!(insns[0].imm, i32::MIN);
        assert_eq!(
            (insns[1].code, insns[1].dst(), insns[1].src()),
            (JMP_JNE_X, 4, 1)
        );
        assert_eq!(insns[1].off, 2);
        let mut b = Block::default();
        assert_eq!(b.skip_unless_eq(Reg::R4, 7, Reg::R1).ret(0)[0].imm, 7);
    }

    #[test]
    fn fields_are_encoded_where_the_kernel_reads_them() {
        let i = load_u32(Reg::R5, Reg::R1, 8);
        assert_eq!((i.code, i.dst(), i.src(), i.off, i.imm), (0x61, 5, 1, 8, 0));
        let i = and32(Reg::R2, 0xffff);
        assert_eq!((i.code, i.dst(), i.imm), (0x54, 2, 0xffff));
    }
}
