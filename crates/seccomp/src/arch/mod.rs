//! The architectures a filter can name: their audit values (what the kernel
//! puts in `seccomp_data.arch`) and syscall tables.

mod tables;

use oci_spec::runtime::Arch as OciArch;

/// x32 syscalls arrive with the x86_64 audit value and this bit in `nr`.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// An architecture corten has a syscall table for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arch {
    X86_64,
    X86,
    X32,
    Aarch64,
    Arm,
    Riscv64,
}

impl Arch {
    pub const ALL: [Arch; 6] = [
        Arch::X86_64,
        Arch::X86,
        Arch::X32,
        Arch::Aarch64,
        Arch::Arm,
        Arch::Riscv64,
    ];

    /// The architecture this binary runs as.
    pub fn native() -> Arch {
        if cfg!(target_arch = "x86_64") {
            Arch::X86_64
        } else if cfg!(target_arch = "aarch64") {
            Arch::Aarch64
        } else if cfg!(target_arch = "riscv64") {
            Arch::Riscv64
        } else if cfg!(target_arch = "x86") {
            Arch::X86
        } else {
            Arch::Arm
        }
    }
}

// A filter for the wrong architecture would kill every syscall.
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "x86",
    target_arch = "arm"
)))]
compile_error!(
    "corten's seccomp has syscall tables for x86_64, x86, aarch64, arm and riscv64 only"
);

impl Arch {
    /// Architectures whose processes a kernel of `self` can run, `self` first.
    pub fn runnable_on(self) -> &'static [Arch] {
        match self {
            Arch::X86_64 => &[Arch::X86_64, Arch::X86, Arch::X32],
            Arch::Aarch64 => &[Arch::Aarch64, Arch::Arm],
            Arch::X86 => &[Arch::X86],
            Arch::X32 => &[Arch::X32],
            Arch::Arm => &[Arch::Arm],
            Arch::Riscv64 => &[Arch::Riscv64],
        }
    }

    /// AUDIT_ARCH_* (linux/audit.h): the value of `seccomp_data.arch`.
    pub fn audit(self) -> u32 {
        const LE: u32 = 0x4000_0000;
        const BITS64: u32 = 0x8000_0000;
        match self {
            Arch::X86_64 | Arch::X32 => 62 | BITS64 | LE,
            Arch::X86 => 3 | LE,
            Arch::Aarch64 => 183 | BITS64 | LE,
            Arch::Arm => 40 | LE,
            Arch::Riscv64 => 243 | BITS64 | LE,
        }
    }

    /// Whether syscall arguments are 64 bits wide. x32 passes 64-bit
    /// registers, but libseccomp (and so every profile written for it)
    /// treats x32 as a 32-bit architecture.
    pub fn is_64bit(self) -> bool {
        matches!(self, Arch::X86_64 | Arch::Aarch64 | Arch::Riscv64)
    }

    /// The syscall's number on this architecture, if it has it. Every
    /// container's profile looks up a few hundred names per architecture:
    /// integer compares keep that to a few microseconds.
    pub fn syscall(self, name: &str) -> Option<u32> {
        let key = prefix_key(name);
        let table = self.entries();
        table
            .binary_search_by(|(k, n, _)| k.cmp(&key).then_with(|| (*n).cmp(name)))
            .ok()
            .map(|i| table[i].2)
    }

    /// Every syscall of the architecture: (name, number), sorted by name.
    pub fn table(self) -> impl Iterator<Item = (&'static str, u32)> {
        self.entries().iter().map(|(_, n, nr)| (*n, *nr))
    }

    fn entries(self) -> &'static [(u64, &'static str, u32)] {
        match self {
            Arch::X86_64 => tables::X86_64,
            Arch::X86 => tables::X86,
            Arch::X32 => tables::X32,
            Arch::Aarch64 => tables::AARCH64,
            Arch::Arm => tables::ARM,
            Arch::Riscv64 => tables::RISCV64,
        }
    }

    /// The spec's name, `SCMP_ARCH_*`.
    pub fn spec_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "SCMP_ARCH_X86_64",
            Arch::X86 => "SCMP_ARCH_X86",
            Arch::X32 => "SCMP_ARCH_X32",
            Arch::Aarch64 => "SCMP_ARCH_AARCH64",
            Arch::Arm => "SCMP_ARCH_ARM",
            Arch::Riscv64 => "SCMP_ARCH_RISCV64",
        }
    }

    /// The spec's architecture, if corten has its table. `None` for the
    /// others (mips, ppc, s390, ...).
    pub fn from_spec(arch: OciArch) -> Option<Arch> {
        Some(match arch {
            OciArch::ScmpArchNative => Arch::native(),
            OciArch::ScmpArchX86_64 => Arch::X86_64,
            OciArch::ScmpArchX86 => Arch::X86,
            OciArch::ScmpArchX32 => Arch::X32,
            OciArch::ScmpArchAarch64 => Arch::Aarch64,
            OciArch::ScmpArchArm => Arch::Arm,
            OciArch::ScmpArchRiscv64 => Arch::Riscv64,
            _ => return None,
        })
    }
}

/// A name's first 8 bytes, big-endian and zero padded: ordered as the names.
fn prefix_key(name: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let n = name.len().min(8);
    bytes[..n].copy_from_slice(&name.as_bytes()[..n]);
    u64::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_resolve() {
        for arch in Arch::ALL {
            let t = arch.entries();
            assert!(
                t.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)),
                "{arch:?} sorted"
            );
            assert!(
                t.iter().all(|(k, n, _)| *k == prefix_key(n)),
                "{arch:?} keys"
            );
            assert!(arch.table().all(|(n, nr)| arch.syscall(n) == Some(nr)));
        }
        assert_eq!(Arch::X86_64.syscall("read"), Some(0));
        assert_eq!(Arch::X86.syscall("read"), Some(3));
        assert_eq!(Arch::X32.syscall("read"), Some(X32_SYSCALL_BIT));
        assert_eq!(Arch::Aarch64.syscall("read"), Some(63));
        assert_eq!(Arch::Aarch64.syscall("open"), None);
        assert_eq!(Arch::Arm.syscall("cacheflush"), Some(0xf0002));
        assert_eq!(Arch::Riscv64.syscall("riscv_flush_icache"), Some(259));
        assert_eq!(Arch::X86.syscall("socketcall"), Some(102));
    }

    #[test]
    fn x32_and_x86_64_share_an_audit_value() {
        assert_eq!(Arch::X86_64.audit(), 0xc000_003e);
        assert_eq!(Arch::X32.audit(), Arch::X86_64.audit());
        assert_eq!(Arch::X86.audit(), 0x4000_0003);
        assert_eq!(Arch::Aarch64.audit(), 0xc000_00b7);
        assert_eq!(Arch::Arm.audit(), 0x4000_0028);
        assert_eq!(Arch::Riscv64.audit(), 0xc000_00f3);
    }
}
