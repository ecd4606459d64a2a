//! Writing a child's user-namespace id maps and time-namespace offsets.

use std::collections::HashMap;

use oci_spec::runtime::{LinuxIdMapping, LinuxTimeOffset};

use crate::error::{Context, Error};

/// The text of a uid_map/gid_map file.
pub fn format_map(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// Writes the maps of `pid`. The runtime is privileged here; rootless maps
/// (newuidmap) are the rootless issue's.
pub fn write_maps(pid: i32, uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<(), Error> {
    if uid.is_empty() || gid.is_empty() {
        return Err(Error::Config(
            "a new user namespace needs linux.uidMappings and linux.gidMappings".into(),
        ));
    }
    for (file, maps) in [("uid_map", uid), ("gid_map", gid)] {
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, format_map(maps)).with_context(|| format!("writing {path}"))?;
    }
    Ok(())
}

/// Writes `linux.timeOffsets` to /proc/PID/timens_offsets.
pub fn write_time_offsets(
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
    let path = format!("/proc/{pid}/timens_offsets");
    std::fs::write(&path, text).with_context(|| format!("writing {path}"))
}
