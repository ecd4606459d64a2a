//! Scheduling, I/O priority, CPU affinity, memory policy and personality
//! of this process (inherited across execve).

use crate::{check, check_long, Result};

/// The kernel's `struct sched_attr` (SCHED_ATTR_SIZE_VER1).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SchedAttr {
    pub size: u32,
    pub sched_policy: u32,
    pub sched_flags: u64,
    pub sched_nice: i32,
    pub sched_priority: u32,
    pub sched_runtime: u64,
    pub sched_deadline: u64,
    pub sched_period: u64,
    pub sched_util_min: u32,
    pub sched_util_max: u32,
}

/// `sched_setattr(0, attr, 0)`.
pub fn set_sched_attr(attr: &SchedAttr) -> Result<()> {
    let mut a = *attr;
    a.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: `a` is a fully initialised sched_attr whose size field is set;
    // the kernel only reads it.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &a as *const SchedAttr, 0) };
    check_long(ret, "sched_setattr").map(drop)
}

/// `ioprio_set(IOPRIO_WHO_PROCESS, 0, class << 13 | level)`.
pub fn set_io_priority(class: u32, level: u32) -> Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_int = 1;
    let value = (class << 13) | level;
    // SAFETY: the syscall takes integers only.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) };
    check_long(ret, "ioprio_set").map(drop)
}

/// Restricts this process to `cpus`.
pub fn set_affinity(cpus: &[usize]) -> Result<()> {
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in cpus {
        if c >= libc::CPU_SETSIZE as usize {
            return Err(crate::Error::new("sched_setaffinity", libc::EINVAL));
        }
        // SAFETY: `c` is below CPU_SETSIZE (checked above), so the bit is inside `set`.
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the size we pass.
    let ret = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    check(ret, "sched_setaffinity").map(drop)
}

/// `set_mempolicy(mode | flags, nodes)`.
pub fn set_mempolicy(mode: i32, nodes: &[usize]) -> Result<()> {
    let bits = 8 * std::mem::size_of::<libc::c_ulong>();
    let max = nodes.iter().copied().max().map_or(0, |m| m + 1);
    let mut mask = vec![0 as libc::c_ulong; max.div_ceil(bits).max(1)];
    for &n in nodes {
        mask[n / bits] |= 1 << (n % bits);
    }
    let maxnode = if nodes.is_empty() {
        0
    } else {
        mask.len() * bits + 1
    };
    let ptr = if nodes.is_empty() {
        std::ptr::null()
    } else {
        mask.as_ptr()
    };
    // SAFETY: `ptr` is null or points to `mask`, which holds `maxnode - 1`
    // bits and outlives the call; the kernel only reads it.
    let ret = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) };
    check_long(ret, "set_mempolicy").map(drop)
}

/// `personality(persona)`.
pub fn set_personality(persona: libc::c_ulong) -> Result<()> {
    // SAFETY: personality takes an integer and has no memory effects.
    let ret = unsafe { libc::personality(persona) };
    check(ret, "personality").map(drop)
}
