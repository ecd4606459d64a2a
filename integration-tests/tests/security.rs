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
