//! The BPF_PROG_TYPE_CGROUP_DEVICE program for an emulator's state: one
//! block per exception, each returning the opposite of the default when
//! the access matches it, then the default.

use super::emulator::Emulator;
use super::insn::{and32, load_u32, mov32_reg, rsh32, Block, Insn, Reg, Skip};
use super::rule::{Access, Kind, Pattern};

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; },
// access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*.
const CTX_ACCESS_TYPE: i16 = 0;
const CTX_MAJOR: i16 = 4;
const CTX_MINOR: i16 = 8;
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

// What the registers hold after the prologue. r1 (the context pointer) is
// free after it, as scratch.
const TYPE: Reg = Reg::R2;
const ACCESS: Reg = Reg::R3;
const MAJOR: Reg = Reg::R4;
const MINOR: Reg = Reg::R5;
const SCRATCH: Reg = Reg::R1;

/// The program that enforces `emu`'s state.
pub fn program(emu: &Emulator) -> Vec<Insn> {
    let mut insns = vec![
        load_u32(TYPE, Reg::R1, CTX_ACCESS_TYPE),
        and32(TYPE, 0xffff),
        load_u32(ACCESS, Reg::R1, CTX_ACCESS_TYPE),
        rsh32(ACCESS, 16),
        load_u32(MAJOR, Reg::R1, CTX_MAJOR),
        load_u32(MINOR, Reg::R1, CTX_MINOR),
    ];
    let default = emu.default_allow();
    for (pattern, access) in emu.exceptions() {
        insns.extend(exception(pattern, access, default));
    }
    insns.extend(Block::default().ret(u32::from(default)));
    insns
}

/// The block for one exception: skipped unless the device matches, and
/// then returning `!default_allow`.
fn exception(p: Pattern, access: Access, default_allow: bool) -> Vec<Insn> {
    let mut b = Block::default();
    b.skip_if(Skip::Ne(
        TYPE,
        match p.kind {
            Kind::Block => DEV_BLOCK,
            Kind::Char => DEV_CHAR,
        },
    ));
    if default_allow {
        // A deny exception matches when *any* requested bit is in it, as v1's
        // match_exception_partial: O_RDWR on a device denied "w" is refused.
        // runc's program asks here, as for allow exceptions, that *every*
        // bit be in it, and so lets that open through, with write access.
        b.then(mov32_reg(SCRATCH, ACCESS))
            .then(and32(SCRATCH, u32::from(access.bits())))
            .skip_if(Skip::Eq(SCRATCH, 0));
    } else if access != Access::ALL {
        // An allow exception matches when it holds *every* requested bit,
        // as v1's match_exception: skip if any bit outside it is asked for.
        b.skip_if(Skip::AnySet(
            ACCESS,
            i32::from(Access::ALL.difference(access).bits()),
        ));
    }
    if let Some(major) = p.major {
        b.skip_unless_eq(MAJOR, major, SCRATCH);
    }
    if let Some(minor) = p.minor {
        b.skip_unless_eq(MINOR, minor, SCRATCH);
    }
    b.ret(u32::from(!default_allow))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf_devices::insn::*;
    use crate::bpf_devices::rule::{from_v1, Rule, Target};

    /// Runs the instructions `program` emits, as the kernel would.
    fn run(insns: &[Insn], ctx: [u32; 3]) -> u64 {
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = insns[pc];
            let (d, s) = (i.dst() as usize, i.src() as usize);
            let k = i.imm as i64 as u64; // sign-extended, as the kernel does
            let mut jump = false;
            match i.code {
                LDX_MEM_W => {
                    assert_eq!(s, 1, "only the context is readable");
                    r[d] = u64::from(ctx[(i.off / 4) as usize]);
                }
                ALU_AND_K => r[d] = u64::from(r[d] as u32 & i.imm as u32),
                ALU_RSH_K => r[d] = u64::from(r[d] as u32 >> i.imm),
                ALU_MOV_K => r[d] = u64::from(i.imm as u32),
                ALU_MOV_X => r[d] = u64::from(r[s] as u32),
                JMP_JEQ_K => jump = r[d] == k,
                JMP_JNE_K => jump = r[d] != k,
                JMP_JNE_X => jump = r[d] != r[s],
                JMP_JSET_K => jump = r[d] & k != 0,
                JMP_EXIT => return r[0],
                c => panic!("opcode {c:#x} at {pc}"),
            }
            pc += 1;
            if jump {
                pc = (pc as i64 + i64::from(i.off)) as usize;
            }
        }
    }

    /// The v1 kernel's answer (security/device_cgroup.c,
    /// devcgroup_legacy_check_permission), computed straight from the rules.
    fn v1_allows(emu: &Emulator, kind: Kind, major: u32, minor: u32, acc: Access) -> bool {
        let mut hits = emu.exceptions().filter(|(p, _)| {
            p.kind == kind
                && p.major.is_none_or(|m| m == major)
                && p.minor.is_none_or(|m| m == minor)
        });
        if emu.default_allow() {
            !hits.any(|(_, a)| !a.intersection(acc).is_empty())
        } else {
            hits.any(|(_, a)| acc.difference(a).is_empty())
        }
    }

    fn emu(rules: &[(bool, &str)]) -> Emulator {
        let rules: Vec<_> = rules.iter().map(|(a, t)| (*a, t.to_string())).collect();
        Emulator::from_rules(&from_v1(&rules).unwrap()).unwrap()
    }

    /// Every request shape against the program and against v1.
    fn agrees_with_v1(emu: &Emulator) {
        let prog = program(emu);
        for kind in [Kind::Block, Kind::Char] {
            for major in [0, 1, 4, 5, 8, 10, 136, 4095, 1 << 31, u32::MAX] {
                for minor in [0, 1, 2, 3, 5, 7, 9, 200, 1 << 31] {
                    for bits in 1..=7 {
                        let acc = Access::from_bits_for_test(bits);
                        let t = match kind {
                            Kind::Block => DEV_BLOCK,
                            Kind::Char => DEV_CHAR,
                        } as u32;
                        let got = run(&prog, [(bits as u32) << 16 | t, major, minor]) == 1;
                        let want = v1_allows(emu, kind, major, minor, acc);
                        assert_eq!(got, want, "{kind:?} {major}:{minor} {acc} in {emu:?}");
                    }
                }
            }
        }
    }

    impl Access {
        fn from_bits_for_test(bits: u8) -> Access {
            [Access::MKNOD, Access::READ, Access::WRITE]
                .into_iter()
                .filter(|a| bits & a.bits() != 0)
                .fold(Access::NONE, Access::union)
        }
    }

    #[test]
    fn deny_all_is_the_prologue_and_return_0() {
        let p = program(&Emulator::default());
        assert_eq!(p.len(), 8);
        assert_eq!(p[6], mov32(Reg::R0, 0));
        assert_eq!(run(&p, [2 << 16 | 2, 1, 3]), 0);
    }

    #[test]
    fn allow_all_returns_1() {
        let e = emu(&[(true, "a")]);
        assert_eq!(program(&e).len(), 8);
        agrees_with_v1(&e);
    }

    #[test]
    fn runtime_defaults_match_v1() {
        // What a create sets: deny all, a node, then runc's always-allowed.
        let list = crate::devices::runtime_defaults();
        let e = Emulator::from_rules(&from_v1(&list).unwrap()).unwrap();
        agrees_with_v1(&e);
    }

    #[test]
    fn partial_access_and_wildcards_match_v1() {
        agrees_with_v1(&emu(&[
            (true, "c 1:5 r"),
            (true, "c *:3 w"),
            (true, "b 4:* rm"),
        ]));
        agrees_with_v1(&emu(&[
            (true, "c 4294967295:2147483648 rw"),
            (true, "b 2147483648:* r"),
        ]));
    }

    #[test]
    fn deny_lists_match_v1() {
        agrees_with_v1(&emu(&[(true, "a"), (false, "c 1:5 w"), (false, "b *:* m")]));
        agrees_with_v1(&emu(&[
            (true, "a"),
            (false, "c 1:* rwm"),
            (true, "c 1:* w"),
        ]));
    }

    #[test]
    fn a_deny_exception_refuses_read_write_when_only_write_is_denied() {
        let p = program(&emu(&[(true, "a"), (false, "c 1:5 w")]));
        let rw = u32::from(Access::READ.union(Access::WRITE).bits());
        let r = u32::from(Access::READ.bits());
        assert_eq!(run(&p, [rw << 16 | 2, 1, 5]), 0);
        assert_eq!(run(&p, [r << 16 | 2, 1, 5]), 1);
    }

    #[test]
    fn blocks_follow_runc_layout() {
        // runc's TestDeviceFilter_PrivilegedExceptSingleDevice, with our
        // access test: type, access, major, minor, return.
        let e = Emulator::from_rules(&[
            Rule {
                allow: true,
                target: Target::All,
            },
            Rule::parse(false, "b 8:0 rwm").unwrap().unwrap(),
        ])
        .unwrap();
        let p = program(&e);
        let codes: Vec<u8> = p[6..].iter().map(|i| i.code).collect();
        assert_eq!(
            codes,
            [
                JMP_JNE_K, ALU_MOV_X, ALU_AND_K, JMP_JEQ_K, JMP_JNE_K, JMP_JNE_K, ALU_MOV_K,
                JMP_EXIT, ALU_MOV_K, JMP_EXIT
            ]
        );
        assert_eq!(p[6].off, 7);
        assert_eq!(p[p.len() - 2], mov32(Reg::R0, 1));
    }
}
