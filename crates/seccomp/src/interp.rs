//! A classic BPF interpreter for seccomp programs, as the kernel runs them
//! (net/core/filter.c semantics for the instructions seccomp accepts). It
//! lets tests compare what two filters decide without installing either.

use crate::bpf::Insn;

/// `struct seccomp_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Data {
    pub nr: u32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

impl Data {
    pub fn new(nr: u32, arch: u32, args: [u64; 6]) -> Data {
        Data {
            nr,
            arch,
            ip: 0,
            args,
        }
    }

    /// The 32-bit word at byte offset `off`, as BPF_LD|BPF_W|BPF_ABS reads it.
    fn word(&self, off: u32) -> Option<u32> {
        let mut bytes = [0u8; 64];
        bytes[0..4].copy_from_slice(&self.nr.to_ne_bytes());
        bytes[4..8].copy_from_slice(&self.arch.to_ne_bytes());
        bytes[8..16].copy_from_slice(&self.ip.to_ne_bytes());
        for (i, a) in self.args.iter().enumerate() {
            bytes[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let off = off as usize;
        if !off.is_multiple_of(4) || off + 4 > bytes.len() {
            return None;
        }
        Some(u32::from_ne_bytes(bytes[off..off + 4].try_into().ok()?))
    }
}

/// Why a program could not be run to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    Opcode { pc: usize, code: u16 },
    OutOfBounds { pc: usize },
    Load { pc: usize, offset: u32 },
}

/// Runs `prog` over `data` and returns the filter's verdict.
pub fn run(prog: &[Insn], data: &Data) -> Result<u32, Fault> {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    loop {
        let insn = prog.get(pc).ok_or(Fault::OutOfBounds { pc })?;
        let (code, k) = (insn.code, insn.k);
        let fault = Fault::Opcode { pc, code };
        pc += 1;
        match code & 0x07 {
            // BPF_LD
            0x00 => match code {
                0x20 => {
                    a = data.word(k).ok_or(Fault::Load {
                        pc: pc - 1,
                        offset: k,
                    })?
                }
                0x00 => a = k,
                0x60 => a = *mem.get(k as usize).ok_or(fault)?,
                0x80 => a = 64,
                _ => return Err(fault),
            },
            // BPF_LDX
            0x01 => match code {
                0x01 => x = k,
                0x61 => x = *mem.get(k as usize).ok_or(fault)?,
                0x81 => x = 64,
                _ => return Err(fault),
            },
            0x02 => *mem.get_mut(k as usize).ok_or(fault)? = a,
            0x03 => *mem.get_mut(k as usize).ok_or(fault)? = x,
            // BPF_ALU
            0x04 => {
                let v = if code & 0x08 != 0 { x } else { k };
                a = match code & 0xf0 {
                    0x00 => a.wrapping_add(v),
                    0x10 => a.wrapping_sub(v),
                    0x20 => a.wrapping_mul(v),
                    0x30 => a.checked_div(v).ok_or(fault)?,
                    0x40 => a | v,
                    0x50 => a & v,
                    0x60 => a.checked_shl(v).unwrap_or(0),
                    0x70 => a.checked_shr(v).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 => a.checked_rem(v).ok_or(fault)?,
                    0xa0 => a ^ v,
                    _ => return Err(fault),
                };
            }
            // BPF_JMP
            0x05 => {
                if code == 0x05 {
                    pc += k as usize;
                    continue;
                }
                let v = if code & 0x08 != 0 { x } else { k };
                let taken = match code & 0xf0 {
                    0x10 => a == v,
                    0x20 => a > v,
                    0x30 => a >= v,
                    0x40 => a & v != 0,
                    _ => return Err(fault),
                };
                pc += if taken { insn.jt } else { insn.jf } as usize;
            }
            // BPF_RET
            0x06 => {
                return match code & 0x18 {
                    0x00 => Ok(k),
                    0x10 => Ok(a),
                    _ => Err(fault),
                }
            }
            // BPF_MISC: TAX, TXA
            _ => match code {
                0x07 => x = a,
                0x87 => a = x,
                _ => return Err(fault),
            },
        }
    }
}
