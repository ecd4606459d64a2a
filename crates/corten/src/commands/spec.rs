//! `corten spec`: a default config.json, as runc's.

use std::path::Path;

use lifecycle::Error;
use serde_json::{json, Value};

pub fn run(bundle: Option<&Path>, rootless: bool) -> Result<i32, Error> {
    let dir = bundle.unwrap_or(Path::new("."));
    let path = dir.join("config.json");
    if path.exists() {
        return Err(Error::Config(format!(
            "File {} exists. Remove it first",
            path.display()
        )));
    }
    let mut config = if rootless {
        rootless_config(uid(), gid())
    } else {
        default_config()
    };
    // As runc's spec: a cgroup namespace only on a cgroup-v2-only host.
    if !lifecycle::cgroup::unified_host() {
        if let Some(ns) = config["linux"]["namespaces"].as_array_mut() {
            ns.retain(|n| n["type"] != "cgroup");
        }
    }
    let text = serde_json::to_string_pretty(&config).map_err(|e| Error::Config(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|source| Error::Io {
        context: format!("writing {}", path.display()),
        source,
    })?;
    Ok(0)
}

fn uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0)
}

fn gid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::gid(&m))
        .unwrap_or(0)
}

const CAPS: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// runc's default: a shell on a terminal, every namespace but user and
/// time, the usual mounts, masked and read-only paths, and no
/// `linux.resources` device rule.
pub fn default_config() -> Value {
    json!({
        "ociVersion": crate::SPEC_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": CAPS, "effective": CAPS, "permitted": CAPS},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "corten",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi", "/sys/devices/virtual/powercap"
            ],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// The default made to work for an unprivileged user as it is: a user
/// namespace mapping the caller to root, /sys bound, no network namespace,
/// no resources that need root.
pub fn rootless_config(uid: u32, gid: u32) -> Value {
    let mut v = default_config();
    let linux = &mut v["linux"];
    linux["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
    linux["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    linux["namespaces"] = json!([{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}, {"type": "user"}]);
    // No cgroup settings: the user may have no cgroup to set them in.
    linux
        .as_object_mut()
        .expect("linux is an object")
        .remove("resources");
    let mounts = v["mounts"]
        .as_array_mut()
        .expect("default config has mounts");
    for m in mounts.iter_mut() {
        if m["destination"] == "/sys" {
            *m = json!({"destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
        }
        if m["destination"] == "/dev/pts" {
            m["options"] = json!([
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620"
            ]);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_parses_as_an_oci_spec() {
        let spec: oci_spec_check::Spec = serde_json::from_value(default_config()).unwrap();
        assert!(spec.process.is_some());
    }

    #[test]
    fn rootless_maps_the_caller_to_root() {
        let v = rootless_config(1000, 1000);
        assert_eq!(v["linux"]["uidMappings"][0]["hostID"], 1000);
        assert!(v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "user"));
        assert!(v["linux"].get("resources").is_none());
    }

    /// Just enough of the spec's shape to check the default is well-formed.
    mod oci_spec_check {
        #[derive(serde::Deserialize)]
        pub struct Spec {
            pub process: Option<serde_json::Value>,
        }
    }
}
