//! Command-line grammar: runc's flag forms, logs, version, features, spec, and the
//! subcommands that are not implemented yet.

mod common;

use std::fs;

use common::*;
use serde_json::Value;

#[test]
fn single_dash_long_flags() {
    let mut b = Bundle::new("singledash");
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    b.call(&[
        "-root",
        &b.root_str(),
        "create",
        "-bundle",
        &b.dir_str(),
        &id,
    ])
    .no_root()
    .output()
    .ok();
    let st = b.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(
        st["bundle"],
        b.dir_str().as_str(),
        "-bundle was taken as the bundle"
    );
    b.call(&["-root", &b.root_str(), "delete", "-force", &id])
        .no_root()
        .output()
        .ok();
    b.assert_gone(&id);
    b.assert_clean(&id);
}

#[test]
fn equals_forms() {
    let mut b = Bundle::new("equals");
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    let pid_file = b.tmp.join("pid");
    let root_flag = format!("--root={}", b.root_str());
    b.call(&[
        root_flag.as_str(),
        "create",
        &format!("--bundle={}", b.dir_str()),
        &format!("--pid-file={}", pid_file.to_string_lossy()),
        &id,
    ])
    .no_root()
    .output()
    .ok();
    let pid = b.pid(&id);
    assert_eq!(
        fs::read_to_string(&pid_file).unwrap_or_default().trim(),
        pid.to_string()
    );
    // A boolean flag given as =false is off.
    b.start(&id);
    b.call(&[root_flag.as_str(), "delete", "--force=false", &id])
        .no_root()
        .output()
        .fails_with(1, "not stopped");
    assert_eq!(b.state(&id)["status"], "running");
    b.call(&[root_flag.as_str(), "delete", "--force=true", &id])
        .no_root()
        .output()
        .ok();
    b.assert_gone(&id);
    b.assert_clean(&id);
}

#[test]
fn flags_after_the_id() {
    let mut b = Bundle::new("flagsafter");
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    let pid_file = b.tmp.join("pid");
    b.corten(&[
        "create",
        &id,
        "--bundle",
        &b.dir_str(),
        "--pid-file",
        &pid_file.to_string_lossy(),
    ])
    .ok();
    let pid = b.pid(&id);
    assert_eq!(
        fs::read_to_string(&pid_file).unwrap_or_default().trim(),
        pid.to_string()
    );
    assert_eq!(b.state(&id)["bundle"], b.dir_str().as_str());
    b.corten(&["delete", &id, "--force"]).ok();
    b.assert_gone(&id);
    b.assert_clean(&id);
}

#[test]
fn bundle_defaults_to_cwd() {
    // runc's tutorial: `spec` then `run ID` inside the bundle dir.
    let mut b = Bundle::new("bundlecwd");
    b.set_args(&[PROBE, "exit", "0"]);
    let id = b.id();
    let dir = b.dir.clone();
    b.call(&["run", "--keep", &id]).cwd(&dir).output().ok();
    assert_eq!(b.state(&id)["bundle"], b.dir_str().as_str());
    b.delete(&id);
    b.assert_clean(&id);
}

#[test]
fn log_json_on_error() {
    let b = Bundle::new("logjson");
    let log = b.tmp.join("log.json");
    let id = b.id();
    b.corten(&[
        "--log",
        &log.to_string_lossy(),
        "--log-format",
        "json",
        "state",
        &id,
    ])
    .fails_with(1, "does not exist");
    let text = fs::read_to_string(&log).expect("--log file written");
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l:?}: {e}")))
        .collect();
    assert!(!lines.is_empty(), "empty log");
    for l in &lines {
        for k in ["level", "msg", "time"] {
            assert!(l[k].is_string(), "log line lacks {k}: {l}");
        }
        let t = l["time"].as_str().unwrap_or_default();
        assert!(
            t.len() >= 20 && t.as_bytes()[10] == b'T',
            "time is not RFC 3339: {t}"
        );
    }
    let last = lines.last().expect("a line");
    assert_eq!(last["level"], "error");
    assert!(
        last["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("does not exist"),
        "{last}"
    );
}

#[test]
fn version() {
    let b = Bundle::new("version");
    for flag in ["--version", "-v"] {
        let out = b.call(&[flag]).no_root().output();
        out.ok();
        let first = out.stdout.lines().next().unwrap_or_default();
        if !skip_if_runc("version string names runc") {
            assert!(
                first.starts_with("corten version "),
                "{flag}: {:?}",
                out.stdout
            );
        }
        assert!(
            out.stdout.lines().any(|l| l.starts_with("spec: 1.")),
            "{flag} names the runtime-spec version: {:?}",
            out.stdout
        );
        // runc's shape (issue 16): the commit, and the seccomp library's
        // line (runc's libseccomp, corten's own compiler).
        assert!(
            out.stdout
                .lines()
                .any(|l| l.strip_prefix("commit: ").is_some_and(|c| !c.is_empty())),
            "{flag} names the commit: {:?}",
            out.stdout
        );
        let seccomp = if is_runc() {
            "libseccomp: "
        } else {
            "seccomp: "
        };
        assert!(
            out.stdout.lines().any(|l| l.starts_with(seccomp)),
            "{flag}: {:?}",
            out.stdout
        );
    }
}

#[test]
fn features() {
    let b = Bundle::new("features");
    let out = b.call(&["features"]).no_root().output();
    out.ok();
    let f = out.json();
    for k in ["ociVersionMin", "ociVersionMax"] {
        assert!(
            f[k].as_str().is_some_and(|v| v.starts_with("1.")),
            "{k}: {f}"
        );
    }
    assert!(
        f["linux"]["namespaces"].is_array(),
        "features lists namespaces: {f}"
    );
    // The binary's drivers, whatever this (hybrid) host mounts (issue 17).
    assert_eq!(f["linux"]["cgroup"]["v1"], true, "{f}");
    assert_eq!(f["linux"]["cgroup"]["v2"], true, "{f}");
}

/// `features` lists the mount options the binary parses, sorted as
/// runc's (rnostrictatime, iversion, noiversion and tmpcopyup were missing
/// though handled or easily handled), and AppArmor as the binary applies
/// it, whatever this host has (runc's meaning). Found by the differential
/// harness (features_shape), issue 17.
#[test]
fn features_lists_the_mount_options_it_parses_and_apparmor() {
    let b = Bundle::new("featmount");
    let out = b.call(&["features"]).no_root().output();
    out.ok();
    let f = out.json();
    let opts: Vec<&str> = f["mountOptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for o in [
        "rnostrictatime",
        "iversion",
        "noiversion",
        "tmpcopyup",
        "rro",
        "nosymfollow",
    ] {
        assert!(opts.contains(&o), "{o} in {opts:?}");
    }
    let mut sorted = opts.clone();
    sorted.sort_unstable();
    assert_eq!(opts, sorted, "sorted as runc's");
    assert_eq!(f["linux"]["apparmor"]["enabled"], true, "{f}");
}

#[test]
fn spec_refuses_to_overwrite() {
    let b = Bundle::new("specexists");
    let before = fs::read(b.config_path()).expect("config.json");
    let dir = b.dir.clone();
    b.call(&["spec"])
        .no_root()
        .cwd(&dir)
        .output()
        .fails_with(1, "exists");
    b.call(&["spec", "--bundle", &b.dir_str()])
        .no_root()
        .output()
        .fails_with(1, "exists");
    assert_eq!(
        fs::read(b.config_path()).expect("config.json"),
        before,
        "config.json changed"
    );
}

#[test]
fn spec_bundle_flag_and_rootless() {
    let b = Bundle::new("specrootless");
    let plain = b.tmp.join("plain");
    let rootless = b.tmp.join("rootless");
    fs::create_dir(&plain).expect("mkdir");
    fs::create_dir(&rootless).expect("mkdir");
    b.call(&["spec", "-b", &plain.to_string_lossy()])
        .no_root()
        .output()
        .ok();
    let c: Value = serde_json::from_str(
        &fs::read_to_string(plain.join("config.json")).expect("spec -b wrote config.json"),
    )
    .expect("JSON");
    assert!(
        c["ociVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{c}"
    );
    assert_eq!(c["root"]["path"], "rootfs");
    assert!(c["process"]["args"].is_array());

    b.call(&[
        "spec",
        "--rootless",
        "--bundle",
        &rootless.to_string_lossy(),
    ])
    .no_root()
    .output()
    .ok();
    let c: Value = serde_json::from_str(
        &fs::read_to_string(rootless.join("config.json")).expect("spec --rootless wrote config"),
    )
    .expect("JSON");
    let ns: Vec<&str> = c["linux"]["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    assert!(
        ns.contains(&"user"),
        "rootless spec has a user namespace: {ns:?}"
    );
    // SAFETY: getuid(2) has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    for k in ["uidMappings", "gidMappings"] {
        let m = c["linux"][k]
            .as_array()
            .unwrap_or_else(|| panic!("rootless spec has {k}"));
        assert!(!m.is_empty(), "{k}");
        assert_eq!(m[0]["containerID"], 0, "{k}");
        assert_eq!(m[0]["size"], 1, "{k}");
    }
    assert_eq!(
        c["linux"]["uidMappings"][0]["hostID"], uid,
        "maps the caller's uid"
    );
}

#[test]
fn unsupported_commands() {
    if skip_if_runc("runc implements these commands") {
        return;
    }
    let mut b = Bundle::new("unsupported");
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    b.create(&id);
    let before = b.state(&id);
    // runc's global --criu is accepted (and has nothing to do here).
    b.corten(&["--criu", "/usr/sbin/criu", "state", &id]).ok();
    for args in [
        vec!["checkpoint", id.as_str()],
        vec!["restore", id.as_str()],
    ] {
        b.corten(&args).fails_with(1, "not supported yet");
    }
    assert_eq!(
        b.state(&id),
        before,
        "an unsupported command changed the container"
    );
    b.delete_force(&id);
    b.assert_clean(&id);
}

#[test]
fn unknown_subcommand() {
    let b = Bundle::new("unknowncmd");
    let out = b.corten(&["no-such-subcommand"]);
    assert_ne!(
        out.code,
        Some(0),
        "unknown subcommand succeeded: {}",
        out.stdout
    );
}

/// On a host whose init is not systemd, asking for its cgroup manager is
/// runc's clear error, not a silent fallback to cgroupfs, and leaves
/// nothing behind. (The driver itself is tested in a VM booting systemd:
/// integration-tests/systemd/.)
#[test]
fn systemd_cgroup_manager_without_systemd_is_refused_as_runc_does() {
    if std::path::Path::new("/run/systemd/system").exists() {
        return; // a systemd host: the driver works here
    }
    let b = Bundle::new("systemdcg");
    let id = b.id();
    // crun's spelling is corten's too; runc has only --systemd-cgroup.
    let flags: &[&str] = if is_runc() {
        &["--systemd-cgroup"]
    } else {
        &["--systemd-cgroup", "--cgroup-manager=systemd"]
    };
    for flag in flags {
        b.corten(&[flag, "create", "--bundle", &b.dir_str(), &id])
            .fails_with(
                1,
                "systemd not running on this host, cannot use systemd cgroups manager",
            );
        b.assert_clean(&id);
    }
}

/// `--debug`, or runc's `--log-level debug`, adds the debug lines to the
/// log; without them a successful create logs nothing.
#[test]
fn debug_and_log_level_debug_log_the_steps() {
    let mut b = Bundle::new("logdebug");
    b.set_args(&["true"]);
    for (n, flags) in [
        vec!["--debug"],
        vec!["--log-level", "debug"],
        vec!["--log-level", "info"],
    ]
    .into_iter()
    .enumerate()
    {
        let log = b.tmp.join(format!("log-{n}.txt"));
        let id = b.id();
        let mut args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        args.extend(["--log".into(), log.to_string_lossy().into_owned()]);
        args.extend(["create".into(), "--bundle".into(), b.dir_str(), id.clone()]);
        b.corten(&args).ok();
        let text = fs::read_to_string(&log).unwrap_or_default();
        let quiet = flags.contains(&"info");
        assert_eq!(
            text.contains(&format!("container {id} created")),
            !quiet,
            "{flags:?}: {text:?}"
        );
        b.delete_force(&id);
    }
}

/// `spec` gives a cgroup namespace only on a cgroup-v2-only host, as runc's
/// spec does (issue 17).
#[test]
fn spec_has_a_cgroup_namespace_only_on_a_cgroup_v2_host() {
    let b = Bundle::new("speccgns");
    let dir = b.tmp.join("fresh");
    fs::create_dir_all(&dir).unwrap();
    b.call(&["spec"]).no_root().cwd(&dir).output().ok();
    let config: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let has_cgroup_ns = config["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["type"] == "cgroup");
    let v2_only = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    assert_eq!(has_cgroup_ns, v2_only, "{config}");
}
