//! `corten features`: the OCI features document, true for this binary.

use lifecycle::rootfs::MountOptions;
use lifecycle::Error;
use serde_json::json;

/// Mount options this binary understands (see rootfs::mounts), sorted as
/// runc sorts its list. Not "acl"/"noacl": they are no mount flags (runc
/// 1.2+ dropped them too) and go to the filesystem as its own options.
const MOUNT_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "remount",
    "rexec",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "tmpcopyup",
    "unbindable",
];

pub fn run() -> Result<i32, Error> {
    // Every option listed must really parse.
    MountOptions::parse(
        &MOUNT_OPTIONS
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    )?;
    let doc = json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::SPEC_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": MOUNT_OPTIONS,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": lifecycle::process::caps::NAMES,
            // What this binary supports, not what this host mounts (runc's
            // meaning): both drivers, systemd's for root and for a user
            // (its user manager), rdma limits on v2.
            "cgroup": {"v1": true, "v2": true, "systemd": true, "systemdUser": true, "rdma": true},
            "seccomp": {
                "enabled": true,
                "actions": seccomp::features::ACTIONS,
                "operators": seccomp::features::OPERATORS,
                "archs": seccomp::features::archs(),
                "knownFlags": seccomp::features::known_flags(),
                "supportedFlags": seccomp::features::supported_flags()
            },
            // What the binary applies (runc's meaning), not what this host
            // has: AppArmor profiles for the init and exec processes. Not
            // SELinux: process labels are applied but linux.mountLabel is
            // refused, so an engine must not take SELinux as supported.
            "apparmor": {"enabled": true},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false},
            "netDevices": {"enabled": true},
            "mountExtensions": {"idmap": {"enabled": true}}
        },
        "annotations": {
            "org.opencontainers.runc.checkpoint.enabled": "false",
            "io.github.corten.version": env!("CARGO_PKG_VERSION")
        }
    });
    let text = serde_json::to_string_pretty(&doc).map_err(|e| Error::Config(e.to_string()))?;
    println!("{text}");
    Ok(0)
}
