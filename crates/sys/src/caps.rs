//! Capabilities, no_new_privs and resource limits of this process.

use crate::{check, check_long, Result};

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The three per-thread capability sets, one bit per capability number.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

/// `capget` of this thread.
pub fn get() -> Result<CapSets> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: version 3 takes a header and an array of two CapData, both
    // valid for writes for the duration of the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    check_long(ret, "capget")?;
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok(CapSets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// `capset` of this thread.
pub fn set(sets: &CapSets) -> Result<()> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let split = |v: u64| (v as u32, (v >> 32) as u32);
    let (e0, e1) = split(sets.effective);
    let (p0, p1) = split(sets.permitted);
    let (i0, i1) = split(sets.inheritable);
    let data = [
        CapData {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        CapData {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: version 3 reads a header and an array of two CapData, both
    // valid for the duration of the call.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    check_long(ret, "capset").map(drop)
}

fn prctl(
    op: libc::c_int,
    a: libc::c_ulong,
    b: libc::c_ulong,
    name: &'static str,
) -> Result<libc::c_int> {
    // SAFETY: every prctl option used here takes integer arguments only.
    check(
        unsafe { libc::prctl(op, a, b, 0 as libc::c_ulong, 0 as libc::c_ulong) },
        name,
    )
}

/// Drops `cap` from the bounding set.
pub fn drop_bounding(cap: u32) -> Result<()> {
    prctl(
        libc::PR_CAPBSET_DROP,
        cap.into(),
        0,
        "prctl(PR_CAPBSET_DROP)",
    )
    .map(drop)
}

/// Keeps the permitted set across a switch away from uid 0.
pub fn set_keepcaps(on: bool) -> Result<()> {
    prctl(
        libc::PR_SET_KEEPCAPS,
        on.into(),
        0,
        "prctl(PR_SET_KEEPCAPS)",
    )
    .map(drop)
}

/// Empties the ambient set.
pub fn clear_ambient() -> Result<()> {
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
        0,
        "prctl(PR_CAP_AMBIENT_CLEAR_ALL)",
    )
    .map(drop)
}

/// Raises `cap` in the ambient set.
pub fn raise_ambient(cap: u32) -> Result<()> {
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
        cap.into(),
        "prctl(PR_CAP_AMBIENT_RAISE)",
    )
    .map(drop)
}

/// Sets no_new_privs, which execve never clears.
pub fn set_no_new_privs() -> Result<()> {
    prctl(
        libc::PR_SET_NO_NEW_PRIVS,
        1,
        0,
        "prctl(PR_SET_NO_NEW_PRIVS)",
    )
    .map(drop)
}

/// Sets a resource limit of this process.
pub fn set_rlimit(resource: libc::c_int, soft: u64, hard: u64) -> Result<()> {
    let lim = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `lim` is a valid rlimit64; a null old-limit pointer is allowed.
    let ret = unsafe {
        libc::prlimit64(
            0,
            resource as libc::__rlimit_resource_t,
            &lim,
            std::ptr::null_mut(),
        )
    };
    check(ret, "setrlimit").map(drop)
}

/// The highest capability number the running kernel knows: read once per
/// process (each capability set of a config asks, and the init too).
pub fn last_cap() -> u32 {
    static LAST: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capget_reads_this_thread() {
        let sets = get().unwrap();
        assert_eq!(
            sets.effective & !sets.permitted,
            0,
            "effective is a subset of permitted"
        );
    }
}
