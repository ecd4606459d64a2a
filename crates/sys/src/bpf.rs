//! bpf(2): loading an eBPF program and attaching it to a cgroup.
//!
//! Only what the cgroup v2 device controller needs. Each command takes its
//! own `#[repr(C)]` prefix of `union bpf_attr`, zeroed and passed with its
//! size: the kernel zero-fills the rest of the union, so an older kernel sees
//! every field it knows and a newer one sees zeros in the fields it added.

use std::ffi::CStr;
use std::fmt;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::{check_long, Error, Result};

/// `BPF_PROG_TYPE_CGROUP_DEVICE` (Linux 4.15).
pub const PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// Attach type `BPF_CGROUP_DEVICE`.
pub const CGROUP_DEVICE: u32 = 6;
/// `BPF_F_ALLOW_MULTI`: several programs on one cgroup, all of which must
/// allow an access, and descendants may add their own.
pub const F_ALLOW_MULTI: u32 = 1 << 1;

// enum bpf_cmd.
const PROG_LOAD: libc::c_int = 5;
const PROG_ATTACH: libc::c_int = 8;
const PROG_DETACH: libc::c_int = 9;
const PROG_GET_FD_BY_ID: libc::c_int = 13;
const PROG_QUERY: libc::c_int = 16;

/// `struct bpf_insn`: one eBPF instruction.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Insn {
    pub code: u8,
    /// `dst_reg:4, src_reg:4`, a C bit-field: dst is the low nibble on
    /// little-endian machines and the high one on big-endian machines.
    regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    /// An instruction from its fields; registers are 0..=10.
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        let regs = if cfg!(target_endian = "little") {
            (dst & 0xf) | (src << 4)
        } else {
            (dst << 4) | (src & 0xf)
        };
        Insn {
            code,
            regs,
            off,
            imm,
        }
    }

    /// The destination register.
    pub const fn dst(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs & 0xf
        } else {
            self.regs >> 4
        }
    }

    /// The source register.
    pub const fn src(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0xf
        }
    }
}

/// A `bpf_attr` prefix for one command. Sealed: only the structs below,
/// each of which is the layout `CMD` reads.
trait Attr: Sized {
    const CMD: libc::c_int;
    const OP: &'static str;
}

fn bpf<A: Attr>(attr: &mut A) -> Result<libc::c_long> {
    // SAFETY: `A` is the bpf_attr layout command `A::CMD` reads (the trait is
    // private and implemented only for such pairs), it is initialised, and we
    // pass its exact size. Every pointer inside it points at memory its caller
    // keeps alive and, for out-buffers, writable for the length it states.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            A::CMD,
            attr as *mut A,
            std::mem::size_of::<A>() as libc::c_uint,
        )
    };
    check_long(ret, A::OP)
}

fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: callers pass a descriptor bpf(2) just returned (opened with
    // O_CLOEXEC), which nothing else owns yet.
    unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) }
}

/// The `BPF_PROG_LOAD` fields up to `prog_name` (all Linux 4.15 has).
#[repr(C)]
#[derive(Default)]
struct LoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

impl Attr for LoadAttr {
    const CMD: libc::c_int = PROG_LOAD;
    const OP: &'static str = "bpf(BPF_PROG_LOAD)";
}

/// A program the kernel refused, with what its verifier said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub error: Error,
    /// The verifier's log (empty when the kernel wrote none).
    pub log: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.log.is_empty() {
            write!(f, "{}", self.error)
        } else {
            write!(f, "{}; verifier log:\n{}", self.error, self.log.trim_end())
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Room for the verifier's log; ours are short programs with short logs.
const LOG_SIZE: usize = 64 * 1024;

/// Loads `insns` as a program of `prog_type`, named `name` (at most 15 of
/// `[A-Za-z0-9_.]`, shown by bpftool). If the kernel refuses it, loads it
/// once more with the verifier's log on, and returns that log in the error:
/// the first try goes without, since a log costs the verifier time.
pub fn prog_load(
    prog_type: u32,
    insns: &[Insn],
    license: &CStr,
    name: &str,
) -> std::result::Result<OwnedFd, LoadError> {
    let insn_cnt = u32::try_from(insns.len()).map_err(|_| LoadError {
        error: Error::new(LoadAttr::OP, libc::E2BIG),
        log: String::new(),
    })?;
    let mut attr = LoadAttr {
        prog_type,
        insn_cnt,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..LoadAttr::default()
    };
    let n = name.len().min(attr.prog_name.len() - 1);
    attr.prog_name[..n].copy_from_slice(&name.as_bytes()[..n]);
    let error = match load(&mut attr) {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    let mut log = vec![0u8; LOG_SIZE];
    attr.log_level = 1;
    attr.log_size = LOG_SIZE as u32;
    attr.log_buf = log.as_mut_ptr() as u64;
    if let Ok(fd) = load(&mut attr) {
        // The first failure was transient (ENOMEM, say): the program is good.
        return Ok(fd);
    }
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    Err(LoadError {
        error,
        log: String::from_utf8_lossy(&log[..end]).into_owned(),
    })
}

/// One `BPF_PROG_LOAD`, retried while the verifier was interrupted by a
/// signal (EAGAIN, as libbpf does) or the call by EINTR, a few times.
fn load(attr: &mut LoadAttr) -> Result<OwnedFd> {
    let mut tries = 0;
    loop {
        match bpf(attr) {
            Err(e) if matches!(e.errno(), libc::EINTR | libc::EAGAIN) && tries < 5 => tries += 1,
            other => return other.map(owned),
        }
    }
}

/// The `BPF_PROG_ATTACH` fields (and `BPF_PROG_DETACH`'s, the same layout).
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

impl Attr for AttachAttr {
    const CMD: libc::c_int = PROG_ATTACH;
    const OP: &'static str = "bpf(BPF_PROG_ATTACH)";
}

#[repr(transparent)]
#[derive(Default)]
struct DetachAttr(AttachAttr);

impl Attr for DetachAttr {
    const CMD: libc::c_int = PROG_DETACH;
    const OP: &'static str = "bpf(BPF_PROG_DETACH)";
}

fn raw(fd: BorrowedFd<'_>) -> u32 {
    // A live descriptor is never negative.
    fd.as_raw_fd() as u32
}

/// Attaches program `prog` to the cgroup directory `cgroup` as `attach_type`.
pub fn prog_attach(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
    flags: u32,
) -> Result<()> {
    let mut attr = AttachAttr {
        target_fd: raw(cgroup),
        attach_bpf_fd: raw(prog),
        attach_type,
        attach_flags: flags,
    };
    bpf(&mut attr).map(drop)
}

/// Detaches program `prog` from `cgroup` (libbpf's `bpf_prog_detach2`: with
/// BPF_F_ALLOW_MULTI the program must be named).
pub fn prog_detach2(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>, attach_type: u32) -> Result<()> {
    let mut attr = DetachAttr(AttachAttr {
        target_fd: raw(cgroup),
        attach_bpf_fd: raw(prog),
        attach_type,
        attach_flags: 0,
    });
    bpf(&mut attr).map(drop)
}

/// The `BPF_PROG_QUERY` fields up to `prog_cnt` (Linux 4.15).
#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
}

impl Attr for QueryAttr {
    const CMD: libc::c_int = PROG_QUERY;
    const OP: &'static str = "bpf(BPF_PROG_QUERY)";
}

/// The ids of the programs attached to `cgroup` itself (not its ancestors')
/// as `attach_type`, in the order they run.
pub fn prog_query(cgroup: BorrowedFd<'_>, attach_type: u32) -> Result<Vec<u32>> {
    // 64 is the kernel's limit per cgroup and type (BPF_CGROUP_MAX_PROGS);
    // ENOSPC tells the real count should a kernel allow more.
    let mut ids = vec![0u32; 64];
    for _ in 0..10 {
        let mut attr = QueryAttr {
            target_fd: raw(cgroup),
            attach_type,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: ids.len() as u32,
            ..QueryAttr::default()
        };
        match bpf(&mut attr) {
            Ok(_) => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok(ids);
            }
            Err(e) if e.errno() == libc::ENOSPC => ids.resize(attr.prog_cnt as usize, 0),
            Err(e) if e.errno() == libc::EINTR => {}
            Err(e) => return Err(e),
        }
    }
    // Programs kept coming and going faster than we could count them.
    Err(Error::new(QueryAttr::OP, libc::EAGAIN))
}

/// The `BPF_PROG_GET_FD_BY_ID` fields.
#[repr(C)]
#[derive(Default)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

impl Attr for GetFdAttr {
    const CMD: libc::c_int = PROG_GET_FD_BY_ID;
    const OP: &'static str = "bpf(BPF_PROG_GET_FD_BY_ID)";
}

/// A descriptor of the loaded program with id `id` (needs CAP_SYS_ADMIN).
/// ENOENT when it is gone.
pub fn prog_get_fd_by_id(id: u32) -> Result<OwnedFd> {
    let mut attr = GetFdAttr {
        prog_id: id,
        ..GetFdAttr::default()
    };
    bpf(&mut attr).map(owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_sizes_match_the_kernel() {
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        // offsetof(union bpf_attr, prog_name) + BPF_OBJ_NAME_LEN.
        assert_eq!(std::mem::size_of::<LoadAttr>(), 48 + 16);
        assert_eq!(std::mem::size_of::<AttachAttr>(), 16);
        assert_eq!(std::mem::size_of::<QueryAttr>(), 32);
        assert_eq!(std::mem::size_of::<GetFdAttr>(), 12);
    }

    #[test]
    fn registers_pack_into_one_byte() {
        let i = Insn::new(0xbc, 1, 3, -2, 7);
        assert_eq!((i.dst(), i.src(), i.off, i.imm), (1, 3, -2, 7));
        if cfg!(target_endian = "little") {
            assert_eq!(i.regs, 0x31);
        }
    }

    fn root() -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    #[test]
    fn a_rejected_program_brings_the_verifier_log() {
        if !root() {
            eprintln!("skipped: loading a cgroup device program needs root");
            return;
        }
        // `exit` with r0 never written: the verifier must refuse it.
        let prog = [Insn::new(0x95, 0, 0, 0, 0)];
        let e = prog_load(PROG_TYPE_CGROUP_DEVICE, &prog, c"Apache", "corten_test")
            .expect_err("a program that returns an unset r0 loaded");
        assert_eq!(e.error.errno(), libc::EACCES, "{e}");
        assert!(e.log.contains("R0"), "log: {}", e.log);
        assert!(e.to_string().contains("verifier log"));
    }
}
