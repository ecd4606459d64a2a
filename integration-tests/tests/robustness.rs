//! Failures of the machine and of the runtime itself: a full disk, a
//! runtime killed half-way. Each must leave one clear error and nothing
//! behind (no process, mount or state directory), or a proper container.

mod common;

use std::fs;
use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// A --root on a full filesystem: the state write fails, the init started
/// for the container is killed and the container's directory removed.
#[test]
fn full_disk_fails_with_one_error_and_no_leftovers() {
    let b = Bundle::new("fulldisk");
    let root = b.tmp.join("fullroot");
    fs::create_dir_all(&root).unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success(), "mount tmpfs");
    // Fill it to the last byte.
    let mut filler = fs::File::create(root.join("filler")).unwrap();
    let chunk = [0u8; 4096];
    while filler.write_all(&chunk).is_ok() {}
    drop(filler);

    let id = b.id();
    let root_str = root.display().to_string();
    let out = b
        .call(&["--root", &root_str, "create", "--bundle", &b.dir_str(), &id])
        .no_root()
        .output();
    out.fails_with(1, "no space left on device");
    assert!(!root.join(&id).exists(), "no state directory may remain");
    b.assert_no_processes();
    let st = std::process::Command::new("umount")
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success(), "umount of the test's tmpfs");
    b.assert_no_mounts();
}

/// SIGKILL the runtime at many points of `create`: afterwards there is
/// either a proper container (state says "created") or nothing at all, and
/// the id can be used again.
#[test]
fn killed_create_leaves_a_container_or_nothing() {
    let mut b = Bundle::new("killedcreate");
    b.set_args(&["true"]);
    kill_create_at_many_points(&b);
}

/// The same with a two-stage init (a time namespace needs one), which has
/// no parent-death signal and relies on the sync channel closing.
#[test]
fn killed_two_stage_create_leaves_a_container_or_nothing() {
    if is_runc() {
        return;
    }
    let mut b = Bundle::new("killed2stage");
    b.set_args(&["true"]);
    b.config_mut(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"type": "time"}));
    });
    kill_create_at_many_points(&b);
}

fn kill_create_at_many_points(b: &Bundle) {
    for delay_ms in [0u64, 1, 2, 3, 4, 6, 8, 12, 20, 40] {
        let id = format!("{}-{delay_ms}", b.id());
        let spawned = b.call(&["create", "--bundle", &b.dir_str(), &id]).spawn();
        thread::sleep(Duration::from_millis(delay_ms));
        send_signal(spawned.pid(), libc::SIGKILL);
        let _ = spawned.wait();
        // An init cut off from its runtime exits by itself: give it a moment.
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            let st = b.corten(&["state", &id]);
            let created = st.code == Some(0) && st.json()["status"] == "created";
            if created || b.processes_in_rootfs().is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "delay {delay_ms} ms: init left without a container"
            );
            thread::sleep(Duration::from_millis(10));
        }
        // Whatever is left is a container that delete removes, or nothing.
        let _ = b.corten(&["delete", "--force", &id]);
        b.assert_clean(&id);
        // The id is free again.
        b.create(&id);
        b.delete_force(&id);
        b.assert_clean(&id);
    }
}
