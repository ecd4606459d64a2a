//! Writing a child's user-namespace id maps and time-namespace offsets.
//!
//! Root writes /proc/PID/{uid,gid}_map itself. An unprivileged runtime
//! (rootless) may write only a map of its own single id, and for gid_map
//! only after setgroups is denied (else the container could drop a group
//! that forbids it something). Anything more goes through Debian's
//! setuid newuidmap/newgidmap (package uidmap), which check the ranges
//! /etc/subuid and /etc/subgid grant the user.

use std::collections::HashMap;

use oci_spec::runtime::{LinuxIdMapping, LinuxTimeOffset};

use crate::error::{Context, Error};

/// The text of a uid_map/gid_map file.
pub fn format_map(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// One of the two maps, and who may write it.
struct Map<'a> {
    file: &'static str,
    helper: &'static str,
    maps: &'a [LinuxIdMapping],
    /// The runtime's own effective id of this kind.
    own: u32,
}

/// Writes the maps of `pid`.
pub fn write_maps(
    proc: &sys::procfs::ProcFs,
    pid: i32,
    uid: &[LinuxIdMapping],
    gid: &[LinuxIdMapping],
) -> Result<(), Error> {
    if uid.is_empty() || gid.is_empty() {
        return Err(Error::Config(
            "a new user namespace needs linux.uidMappings and linux.gidMappings".into(),
        ));
    }
    let (euid, egid) = sys::process::effective_ids();
    let maps = [
        Map {
            file: "uid_map",
            helper: "newuidmap",
            maps: uid,
            own: euid,
        },
        Map {
            file: "gid_map",
            helper: "newgidmap",
            maps: gid,
            own: egid,
        },
    ];
    for m in &maps {
        if euid == 0 || is_own_id_only(m.maps, m.own) {
            if euid != 0 && m.file == "gid_map" {
                write_proc(proc, pid, "setgroups", "deny")?;
            }
            write_proc(proc, pid, m.file, &format_map(m.maps))?;
        } else {
            run_helper(pid, m)?;
        }
    }
    Ok(())
}

/// Whether `maps` maps only the id `own`, which an unprivileged process
/// may write itself.
fn is_own_id_only(maps: &[LinuxIdMapping], own: u32) -> bool {
    matches!(maps, [m] if m.host_id() == own && m.size() == 1)
}

/// Through the runtime's verified procfs, as every /proc write it makes
/// for a container.
fn write_proc(proc: &sys::procfs::ProcFs, pid: i32, file: &str, text: &str) -> Result<(), Error> {
    let path = format!("{pid}/{file}");
    proc.write(std::path::Path::new(&path), text.as_bytes())
        .with_context(|| format!("writing /proc/{path}"))
}

/// `newuidmap PID ID HOSTID SIZE...`: its exit status and stderr are the
/// error when it refuses (a range /etc/subuid does not grant, say).
fn run_helper(pid: i32, m: &Map<'_>) -> Result<(), Error> {
    let mut cmd = std::process::Command::new(m.helper);
    cmd.arg(pid.to_string());
    for id in m.maps {
        cmd.args([
            id.container_id().to_string(),
            id.host_id().to_string(),
            id.size().to_string(),
        ]);
    }
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                "not found (Debian package uidmap)".to_string()
            } else {
                e.to_string()
            };
            Error::Config(format!(
                "linux.{}: an unprivileged user needs {} to map more than its own id: {why}",
                if m.file == "uid_map" {
                    "uidMappings"
                } else {
                    "gidMappings"
                },
                m.helper
            ))
        })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr = stderr.trim().lines().last().unwrap_or("").to_string();
    Err(Error::Failed(format!(
        "{} failed ({}): {}",
        m.helper,
        out.status,
        if stderr.is_empty() {
            "no message"
        } else {
            &stderr
        }
    )))
}
/// Writes `linux.timeOffsets` to /proc/PID/timens_offsets.
pub fn write_time_offsets(
    proc: &sys::procfs::ProcFs,
    pid: i32,
    offsets: &HashMap<String, LinuxTimeOffset>,
) -> Result<(), Error> {
    let mut text = String::new();
    for (clock, off) in offsets {
        if clock != "monotonic" && clock != "boottime" {
            return Err(Error::Config(format!(
                "linux.timeOffsets: unknown clock {clock:?}"
            )));
        }
        text.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    if text.is_empty() {
        return Ok(());
    }
    write_proc(proc, pid, "timens_offsets", &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps(v: serde_json::Value) -> Vec<LinuxIdMapping> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn only_a_single_map_of_the_own_id_is_written_without_newuidmap() {
        let own = maps(serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 1}]));
        assert!(is_own_id_only(&own, 1000));
        assert!(!is_own_id_only(&own, 1001));
        let range = maps(serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 2}]));
        assert!(!is_own_id_only(&range, 1000));
        let two = maps(serde_json::json!([
            {"containerID": 0, "hostID": 1000, "size": 1},
            {"containerID": 1, "hostID": 100000, "size": 65536}
        ]));
        assert!(!is_own_id_only(&two, 1000));
        assert_eq!(format_map(&two), "0 1000 1\n1 100000 65536\n");
    }
}
