//! Attacks a malicious image or config makes on the host, in the classes of
//! runc's CVEs (2019-5736, 2019-16884/19921, 2021-30465, 2024-21626,
//! 2025-31133, 2025-52565, 2025-52881). Each test is named after what it
//! stops and fails against a runtime that lets it through.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::*;
use serde_json::json;

/// A host directory holding an `sh` that says it ran on the host, and the
/// path of that directory from `/` as `..` steps can reach it from any
/// directory up to 16 levels deep.
fn host_decoy_bin(b: &Bundle) -> String {
    let dir = b.tmp.join("hostbin");
    fs::create_dir_all(&dir).unwrap();
    let sh = dir.join("sh");
    fs::write(&sh, "#!/bin/sh\necho RAN-THE-HOST-FILE\n").unwrap();
    fs::set_permissions(&sh, fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}{}", "../".repeat(16), dir.display())
}

/// `PATH` entries through every descriptor number a runtime might leave
/// open, each leading to the host directory.
fn leaked_fd_path(up_to_host_dir: &str) -> String {
    let mut entries: Vec<String> = (3..64)
        .map(|n| format!("/proc/self/fd/{n}/{up_to_host_dir}"))
        .collect();
    entries.push("/bin".into());
    entries.join(":")
}

/// CVE-2024-21626 through PATH: the image's PATH names a directory through
/// /proc/self/fd/N, where N is a host directory the runtime still holds
/// (the cgroup directory opened for clone3): the program must be the
/// container's own.
#[test]
fn executable_lookup_through_a_leaked_descriptor_runs_the_containers_program() {
    let mut b = Bundle::new("pathfd");
    let up = host_decoy_bin(&b);
    let path = leaked_fd_path(&up);
    b.config_mut(|c| {
        c["process"]["env"] = json!([format!("PATH={path}"), "TERM=xterm"]);
        c["process"]["args"] = json!(["sh", "-c", "echo IN-THE-CONTAINER"]);
    });
    let out = b.run_ok();
    assert!(
        out.contains("IN-THE-CONTAINER") && !out.contains("HOST"),
        "the container ran {out:?}"
    );
}

/// The same for `exec`, whose process held more of the runtime's
/// descriptors (the init's pidfd, the cgroup files).
#[test]
fn exec_lookup_through_a_leaked_descriptor_runs_the_containers_program() {
    let mut b = Bundle::new("execpathfd");
    let up = host_decoy_bin(&b);
    let path = leaked_fd_path(&up);
    b.set_args(&[PROBE, "wait-signal"]);
    let id = b.id();
    b.create(&id);
    b.start(&id);
    let out = b.corten(&[
        "exec",
        "--env",
        &format!("PATH={path}"),
        &id,
        "sh",
        "-c",
        "echo IN-THE-CONTAINER",
    ]);
    out.ok();
    assert!(
        out.stdout.contains("IN-THE-CONTAINER") && !out.stdout.contains("HOST"),
        "exec ran {:?}",
        out.stdout
    );
    b.delete_force(&id);
}

/// An absolute `args[0]` through a descriptor: refused, never executed.
#[test]
fn absolute_program_through_a_leaked_descriptor_is_not_executed() {
    let mut b = Bundle::new("argfd");
    let up = host_decoy_bin(&b);
    for n in [5, 8, 9, 12] {
        b.set_args(&[&format!("/proc/self/fd/{n}/{up}/sh")]);
        let id = b.id();
        let out = b.run(&id);
        assert!(
            !out.stdout.contains("HOST") && out.code != Some(0),
            "fd {n}: {out:?}",
            out = (out.code, &out.stdout, &out.stderr)
        );
        b.assert_clean(&id);
    }
}

/// A create that must be refused: exit 1, one error line naming `needle`,
/// nothing left behind.
#[track_caller]
fn refused(b: &Bundle, needle: &str) {
    let id = b.id();
    b.run(&id).fails_with(1, needle);
    b.assert_clean(&id);
}

fn add_mount(b: &mut Bundle, m: serde_json::Value) {
    b.config_mut(|c| c["mounts"].as_array_mut().unwrap().push(m));
}

/// A directory of symlinks `0`..`40` to `target`, the shape of a volume
/// put over /proc/self/fd to redirect the runtime's paths.
fn fd_decoy(b: &Bundle, target: &str) -> String {
    let dir = b.tmp.join("decoy");
    fs::create_dir_all(&dir).unwrap();
    for n in 0..=40 {
        std::os::unix::fs::symlink(target, dir.join(n.to_string())).unwrap();
    }
    dir.display().to_string()
}

/// A volume of fd-shaped symlinks to /decoy at `dest` must be refused.
#[track_caller]
fn decoy_volume_refused(b: &mut Bundle, dest: &str, needle: &str) {
    let src = fd_decoy(b, "/decoy");
    add_mount(
        b,
        json!({"destination": dest, "type": "bind", "source": src, "options": ["rbind"]}),
    );
    refused(b, needle);
}

/// CVE-2019-16884/19921's class: a volume over /proc/self/fd would have
/// the masks and read-only binds land on its symlinks' targets, leaving
/// /proc/sys writable. Mounts inside /proc are refused, as runc does.
#[test]
fn mount_over_proc_self_fd_is_refused() {
    let mut b = Bundle::new("procfdmount");
    fs::create_dir_all(b.rootfs.join("decoy")).unwrap();
    decoy_volume_refused(&mut b, "/proc/self/fd", "inside /proc");
}

/// The same through the image: its /proc a symlink to /data and the volume
/// at /data/1/fd. procfs is never mounted through a symlink.
#[test]
fn proc_through_an_image_symlink_is_refused() {
    let mut b = Bundle::new("procsymlink");
    fs::remove_dir_all(b.rootfs.join("proc")).unwrap();
    fs::create_dir_all(b.rootfs.join("data")).unwrap();
    std::os::unix::fs::symlink("data", b.rootfs.join("proc")).unwrap();
    decoy_volume_refused(
        &mut b,
        "/data/1/fd",
        "must be mounted on ordinary directory",
    );
}

/// A destination outside /proc on paper that resolves into the container's
/// procfs (an image symlink /data -> /proc/1) is inside /proc all the same,
/// as runc too finds once it has resolved the path ("cannot be mounted
/// because it is inside /proc"; corten: "inside a procfs").
#[test]
fn mount_resolving_into_procfs_is_refused() {
    let mut b = Bundle::new("procresolve");
    std::os::unix::fs::symlink("/proc/1", b.rootfs.join("data")).unwrap();
    decoy_volume_refused(&mut b, "/data/fd", "inside");
}

/// lxcfs' files stay allowed (runc's list).
#[test]
fn a_bind_over_proc_cpuinfo_is_allowed() {
    let mut b = Bundle::new("lxcfs");
    let fake = b.tmp.join("cpuinfo");
    fs::write(&fake, "fake cpuinfo\n").unwrap();
    add_mount(
        &mut b,
        json!({"destination": "/proc/cpuinfo", "type": "bind",
               "source": fake.display().to_string(), "options": ["bind", "ro"]}),
    );
    b.set_args(&["cat", "/proc/cpuinfo"]);
    assert_eq!(b.run_ok(), "fake cpuinfo\n");
}

/// CVE-2025-52881's class: the runtime's sysctl write follows the
/// container's /proc. Here the image brings no procfs mount and its
/// /proc/sys/net/ipv4/ip_forward is a symlink to a file on a host volume:
/// the write must reach the container's network namespace, not the file.
#[test]
fn sysctl_is_never_written_into_a_file_the_container_chose() {
    if skip_if_runc("runc 1.1.5 predates the CVE-2025-52881 fix and writes the file") {
        return;
    }
    let mut b = Bundle::new("sysctlredirect");
    let vol = b.tmp.join("vol");
    fs::create_dir_all(&vol).unwrap();
    fs::write(vol.join("target"), "untouched").unwrap();
    let net = b.rootfs.join("proc/sys/net/ipv4");
    fs::create_dir_all(&net).unwrap();
    std::os::unix::fs::symlink("/vol/target", net.join("ip_forward")).unwrap();
    b.config_mut(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["type"] != "proc");
        mounts.push(json!({"destination": "/vol", "type": "bind",
                           "source": vol.display().to_string(), "options": ["rbind"]}));
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
        c["linux"]["maskedPaths"] = json!([]);
        c["linux"]["readonlyPaths"] = json!([]);
    });
    b.set_args(&["true"]);
    let id = b.id();
    let out = b.run(&id);
    assert_eq!(
        fs::read_to_string(vol.join("target")).unwrap(),
        "untouched",
        "the sysctl was written into the host file: {out:?}",
        out = (out.code, &out.stderr)
    );
    out.ok();
    b.assert_clean(&id);
}

/// hostname and domainname without a UTS namespace would be the host's.
#[test]
fn hostname_without_a_uts_namespace_is_refused() {
    let before = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let before_domain = fs::read_to_string("/proc/sys/kernel/domainname").unwrap();
    // runc refuses domainname from 1.2 on.
    let fields: &[&str] = if is_runc() {
        &["hostname"]
    } else {
        &["hostname", "domainname"]
    };
    for &field in fields {
        let needle = field;
        let mut b = Bundle::new("nouts");
        b.config_mut(|c| {
            let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
            ns.retain(|n| n["type"] != "uts");
            c.as_object_mut().unwrap().remove("hostname");
            c[field] = json!("changed-by-a-container");
        });
        let id = b.id();
        let out = b.run(&id);
        // Put the host back before asserting, should a runtime change it.
        let now = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        let now_domain = fs::read_to_string("/proc/sys/kernel/domainname").unwrap();
        fs::write("/proc/sys/kernel/hostname", before.trim()).unwrap();
        fs::write("/proc/sys/kernel/domainname", before_domain.trim()).unwrap();
        assert_eq!((now, now_domain), (before.clone(), before_domain.clone()));
        out.fails_with(1, needle);
        b.assert_clean(&id);
    }
}

/// "ro\0x" is not "ro" to the kernel, and must not be silently dropped.
#[test]
fn mount_option_with_a_nul_byte_is_refused() {
    let mut b = Bundle::new("nulopt");
    let vol = b.tmp.join("vol");
    fs::create_dir_all(&vol).unwrap();
    add_mount(
        &mut b,
        json!({"destination": "/vol", "type": "bind",
               "source": vol.display().to_string(), "options": ["rbind", "ro\u{0}x"]}),
    );
    b.set_args(&["touch", "/vol/written"]);
    let id = b.id();
    let out = b.run(&id);
    assert!(!vol.join("written").exists(), "the volume was writable");
    out.code_is(1);
    b.assert_clean(&id);
}

/// (uid_t)-1 is "unchanged" to setresuid: the process would stay root.
#[test]
fn uid_or_gid_4294967295_is_refused() {
    for field in ["uid", "gid"] {
        let mut b = Bundle::new("uidmax");
        b.config_mut(|c| c["process"]["user"][field] = json!(4294967295u32));
        refused(&b, "must be in range");
    }
    let mut b = Bundle::new("gidsmax");
    b.config_mut(|c| c["process"]["user"]["additionalGids"] = json!([4294967295u32]));
    refused(&b, "must be in range");
}

/// The spec requires an absolute hook path; a relative one would be looked
/// up through PATH.
#[test]
fn hook_with_a_relative_path_is_refused() {
    if skip_if_runc("runc (1.1.5 to 1.5.1) runs it relative to its cwd") {
        return;
    }
    let mut b = Bundle::new("hookrel");
    b.config_mut(|c| c["hooks"] = json!({"prestart": [{"path": "true"}]}));
    refused(&b, "absolute");
}

/// CVE-2021-30465's mechanics: a bind's flags must be applied to the mount
/// just made, never by a remount that looks the destination up again (a
/// volume swapped for a symlink in between would stay writable). Traced:
/// no MS_REMOUNT of a bind happens at all.
#[test]
fn readonly_bind_is_not_made_by_a_remount_of_its_path() {
    if skip_if_runc("runc remounts by path") {
        return;
    }
    let mut b = Bundle::new("robind");
    // The cgroup view without a cgroup namespace binds the host's
    // hierarchies before pivot_root, by descriptor: not what is traced.
    b.config_mut(|c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["type"] != "cgroup")
    });
    let vol = b.tmp.join("vol");
    fs::create_dir_all(&vol).unwrap();
    add_mount(
        &mut b,
        json!({"destination": "/vol", "type": "bind",
               "source": vol.display().to_string(), "options": ["rbind", "ro", "nosuid"]}),
    );
    b.set_sh(
        "touch /vol/x 2>/dev/null && echo WRITABLE; grep -c ' /vol ro,nosuid' /proc/self/mountinfo",
    );
    let id = b.id();
    let trace = b.tmp.join("trace");
    let out = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=mount", "-o"])
        .arg(&trace)
        .arg(bin())
        .args([
            "--root",
            &b.root_str(),
            "run",
            "--bundle",
            &b.dir_str(),
            &id,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout.trim(), "1", "the volume is mounted ro,nosuid");
    let remounts: Vec<String> = fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|l| l.contains("MS_REMOUNT") && l.contains("MS_BIND"))
        .map(String::from)
        .collect();
    assert!(remounts.is_empty(), "bind remounts by path: {remounts:#?}");
    b.assert_clean(&id);
}

/// The runtime asked the container's /proc/self/status for the bounding
/// set: an image without a procfs mount and a forged status file kept every
/// capability in it (a file-capability binary could then take them).
#[test]
fn bounding_set_is_not_read_from_the_containers_proc() {
    if skip_if_runc("runc (1.1.5 to 1.5.1) reads the container's /proc for its capability setup") {
        return;
    }
    let mut b = Bundle::new("capbnd");
    let fake = b.rootfs.join("proc/self");
    fs::create_dir_all(&fake).unwrap();
    fs::write(fake.join("status"), "Name:\tx\nCapBnd:\t0000000000000000\n").unwrap();
    b.config_mut(|c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["type"] != "proc");
        c["linux"]["maskedPaths"] = json!([]);
        c["linux"]["readonlyPaths"] = json!([]);
    });
    b.set_args(&[PROBE, "wait-signal"]);
    let id = b.id();
    b.create(&id);
    let status = fs::read_to_string(format!("/proc/{}/status", b.pid(&id))).unwrap();
    let bnd = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .unwrap();
    let wanted = b.config()["process"]["capabilities"]["bounding"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        bnd.count_ones() as usize,
        wanted,
        "bounding set {bnd:#x}: only the config's {wanted} capabilities"
    );
    b.delete_force(&id);
}

/// A profile that denies everything (defaultAction SCMP_ACT_ERRNO, no
/// rules) left an init that could neither report nor exit: it crashed
/// with SIGSEGV. It is refused with an error naming seccomp.
#[test]
fn seccomp_profile_denying_everything_fails_with_an_error_naming_seccomp() {
    if skip_if_runc("runc says \"container process is already dead\" (1.1.5) or runs it (1.5.1)") {
        return;
    }
    let mut b = Bundle::new("seccompdeny");
    b.config_mut(|c| c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ERRNO"}));
    b.set_args(&["true"]);
    refused(&b, "seccomp");
}

/// `exec` starts from the config as `create` took it, as runc's does: a
/// bundle edited after create (another user, another environment) or
/// removed changes nothing.
#[test]
fn exec_takes_the_config_saved_at_create() {
    if skip_if_runc("runc's exec takes its default process from the bundle's current config.json") {
        return;
    }
    let mut b = Bundle::new("execsaved");
    b.config_mut(|c| {
        c["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!("WHO=create"));
        c["process"]["args"] = json!([PROBE, "wait-signal"]);
    });
    let id = b.id();
    b.create(&id);
    b.start(&id);
    b.config_mut(|c| {
        c["process"]["env"] = json!(["PATH=/bin", "WHO=edited"]);
        c["process"]["user"]["uid"] = json!(1234);
    });
    let out = b.corten(&["exec", &id, "sh", "-c", "echo $WHO $(id -u)"]);
    out.ok();
    assert_eq!(out.stdout.trim(), "create 0");
    fs::remove_file(b.config_path()).unwrap();
    let out = b.corten(&["exec", &id, "sh", "-c", "echo $WHO"]);
    out.ok();
    assert_eq!(out.stdout.trim(), "create");
    b.delete_force(&id);
}

/// CVE-2025-31133's class: an image whose /dev/null is a symlink (here to
/// /proc/sys/kernel/core_pattern) would have a mask bind that file,
/// writable, over /proc/kcore. The mask source must be the null device.
#[test]
fn mask_source_dev_null_that_is_a_symlink_is_refused() {
    if skip_if_runc("runc 1.1.5 predates the CVE-2025-31133 fix") {
        return;
    }
    let mut b = Bundle::new("devnulllink");
    let dev = b.rootfs.join("dev");
    let _ = fs::remove_dir_all(&dev);
    fs::create_dir_all(&dev).unwrap();
    std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", dev.join("null")).unwrap();
    b.config_mut(|c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| !m["destination"].as_str().unwrap().starts_with("/dev"));
    });
    refused(&b, "/dev/null");
}
