//! Rootless: an unprivileged user runs containers with corten.
//!
//! The user is `corten-it`, with subordinate id ranges in /etc/subuid and
//! /etc/subgid; hack/test.sh creates it. Each test gives it its own
//! `--root` and runs the runtime as that user: the config comes from
//! `corten spec --rootless` as the user made it.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;

use common::*;
use serde_json::{json, Value};

const USER: &str = "corten-it";

struct TestUser {
    uid: u32,
    gid: u32,
    /// The first id of its /etc/subuid range, and the range's size.
    sub_start: u32,
    sub_count: u32,
}

fn field(line: &str, n: usize) -> u32 {
    line.split(':').nth(n).and_then(|f| f.parse().ok()).unwrap()
}

fn test_user() -> TestUser {
    let find = |file: &str| -> String {
        fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(&format!("{USER}:")))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no {USER} in {file}: hack/test.sh creates the test user"))
    };
    let pw = find("/etc/passwd");
    let sub = find("/etc/subuid");
    TestUser {
        uid: field(&pw, 2),
        gid: field(&pw, 3),
        sub_start: field(&sub, 1),
        sub_count: field(&sub, 2),
    }
}

/// A bundle whose config is what `corten spec --rootless` gives the user,
/// with the test's rootfs and args, and a `--root` the user owns.
fn rootless_bundle(name: &str) -> (Bundle, TestUser) {
    let mut b = Bundle::new(name);
    let u = test_user();
    for dir in [b.root.clone(), b.tmp.join("spec")] {
        fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(u.uid), Some(u.gid)).unwrap();
    }
    b.call(&["spec", "--rootless"])
        .no_root()
        .run_as(u.uid, u.gid)
        .cwd(&b.tmp.join("spec"))
        .output()
        .ok();
    let spec: Value =
        serde_json::from_str(&fs::read_to_string(b.tmp.join("spec/config.json")).unwrap()).unwrap();
    b.config_mut(|c| {
        let mut new = spec;
        new["root"] = c["root"].clone();
        new["process"]["args"] = c["process"]["args"].clone();
        new["process"]["terminal"] = json!(false);
        *c = new;
    });
    (b, u)
}

fn as_user(b: &Bundle, u: &TestUser, args: &[&str]) -> Output {
    b.call(args).run_as(u.uid, u.gid).output()
}

/// The user's own id mapped to root, written by the runtime itself: the
/// whole lifecycle and exec, as that user, without a cgroup (said in the
/// debug log only: runc is silent there, and the user has nothing to do).
#[test]
fn rootless_lifecycle_with_the_users_own_id() {
    let (mut b, u) = rootless_bundle("rl-life");
    assert_eq!(b.config()["linux"]["uidMappings"][0]["hostID"], u.uid);
    b.set_sh("id -u; cat /proc/self/uid_map /proc/self/setgroups; exec probe sleep 30");
    let dir = b.dir_str();
    if !is_runc() {
        let id = format!("{}-debug", b.id());
        let debug = as_user(&b, &u, &["--debug", "create", "--bundle", &dir, &id]);
        debug.ok();
        assert!(
            debug.stderr.contains("running without a cgroup"),
            "{}",
            debug.stderr
        );
        as_user(&b, &u, &["delete", "--force", &id]).ok();
    }
    let id = b.id();
    let created = as_user(&b, &u, &["create", "--bundle", &dir, &id]);
    created.ok();
    assert_eq!(created.stderr, "", "nothing the user can act on");
    // The state is the user's, and private.
    let md = fs::metadata(b.root.join(&id)).unwrap();
    assert_eq!((md.uid(), md.mode() & 0o777), (u.uid, 0o700));
    as_user(&b, &u, &["start", &id]).ok();
    let state = as_user(&b, &u, &["state", &id]);
    state.ok();
    assert_eq!(state.json()["status"], "running");
    let out = as_user(&b, &u, &["exec", &id, "id", "-u"]);
    out.ok();
    assert_eq!(out.stdout.trim(), "0");
    wait_until("the container's output", WAIT_TIMEOUT, || {
        created.reread_stdout().contains("deny")
    });
    let text = created.reread_stdout();
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let own = u.uid.to_string();
    assert_eq!(lines[0], ["0"]);
    assert_eq!(lines[1], ["0", own.as_str(), "1"]);
    assert_eq!(lines[2], ["deny"]);
    as_user(&b, &u, &["kill", &id, "KILL"]).ok();
    b.wait_status(&id, "stopped");
    as_user(&b, &u, &["delete", &id]).ok();
    b.assert_clean(&id);
}

/// Several mappings (the user's subordinate range) go through newuidmap and
/// newgidmap; a range /etc/subuid does not grant is their refusal, reported
/// with their message, and leaves nothing behind.
#[test]
fn rootless_subordinate_ranges_go_through_newuidmap() {
    let (mut b, u) = rootless_bundle("rl-subids");
    let count = u.sub_count.min(65536);
    let maps = |start: u32| {
        json!([
            {"containerID": 0, "hostID": u.uid, "size": 1},
            {"containerID": 1, "hostID": start, "size": count}
        ])
    };
    b.config_mut(|c| {
        c["linux"]["uidMappings"] = maps(u.sub_start);
        c["linux"]["gidMappings"] = maps(u.sub_start);
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [5]});
    });
    b.set_sh("id -u; id -G; cat /proc/self/uid_map /proc/self/setgroups");
    let id = b.id();
    let dir = b.dir_str();
    let out = as_user(&b, &u, &["run", "--bundle", &dir, &id]);
    out.ok();
    let lines: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let (own, start, size) = (
        u.uid.to_string(),
        u.sub_start.to_string(),
        count.to_string(),
    );
    assert_eq!(lines[0], ["1000"]);
    assert_eq!(lines[1], ["1000", "5"], "{}", out.stdout);
    assert_eq!(lines[2], ["0", own.as_str(), "1"]);
    assert_eq!(lines[3], ["1", start.as_str(), size.as_str()]);
    // newgidmap leaves setgroups allowed: the supplementary group is set.
    assert_eq!(lines[4], ["allow"]);
    b.assert_clean(&id);

    b.config_mut(|c| c["linux"]["uidMappings"] = maps(u.sub_start + u.sub_count));
    let id = b.id();
    as_user(&b, &u, &["run", "--bundle", &dir, &id]).fails_with(1, "newuidmap failed");
    b.assert_clean(&id);
}

/// Without a cgroup it may write, a rootless create that asks for limits is
/// refused rather than run without them; device rules alone run.
#[test]
fn rootless_limits_without_a_writable_cgroup_are_refused() {
    let (mut b, u) = rootless_bundle("rl-limits");
    b.config_mut(|c| c["linux"]["resources"] = json!({"pids": {"limit": 10}}));
    let id = b.id();
    let dir = b.dir_str();
    as_user(&b, &u, &["create", "--bundle", &dir, &id])
        .fails_with(1, "needs a cgroup this user can write");
    b.assert_clean(&id);
    // Device rules are no limit here (runc's rule): every engine sends
    // them, and the user's own permissions bound the nodes bound in.
    b.config_mut(|c| {
        c["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]})
    });
    b.set_args(&["true"]);
    let id = b.id();
    as_user(&b, &u, &["run", "--bundle", &dir, &id]).ok();
    b.assert_clean(&id);
}

/// An unprivileged user reaches neither root's containers nor another
/// user's: the state directories are private to their owner.
#[test]
fn users_cannot_reach_other_users_containers() {
    let (mut b, u) = rootless_bundle("rl-others");
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    let dir = b.dir_str();
    as_user(&b, &u, &["run", "-d", "--bundle", &dir, &id]).ok();
    let nobody = (65534, 65534);
    for args in [
        vec!["state", id.as_str()],
        vec!["kill", id.as_str(), "KILL"],
        vec!["delete", "--force", id.as_str()],
        vec!["exec", id.as_str(), "true"],
    ] {
        // exec's own failures exit 255, as runc's.
        let code = if args[0] == "exec" { 255 } else { 1 };
        b.call(&args)
            .run_as(nobody.0, nobody.1)
            .output()
            .fails_with(code, "permission denied");
    }
    assert_eq!(b.state(&id)["status"], "running");
    // And root's own root is closed to the user.
    let mut root_b = Bundle::new("rl-roots");
    root_b.set_args(&[PROBE, "sleep", "30"]);
    let rid = root_b.id();
    root_b.create(&rid);
    for args in [
        vec!["state", rid.as_str()],
        vec!["delete", "--force", rid.as_str()],
    ] {
        root_b
            .call(&args)
            .run_as(u.uid, u.gid)
            .output()
            .fails_with(1, "permission denied");
    }
    assert_eq!(root_b.state(&rid)["status"], "created");
    root_b.delete_force(&rid);
    as_user(&b, &u, &["delete", "--force", &id]).ok();
    b.assert_clean(&id);
}

/// On cgroup v2 (the VM of hack/cgv2-vm.sh) a user with a delegated subtree
/// gets a real cgroup: the runtime runs inside the subtree, the container's
/// cgroup is made under it with the controllers the subtree delegates, and
/// the limits land. (On this hybrid host rootless runs skip cgroups: see
/// rootless_lifecycle_with_the_users_own_id.)
#[test]
fn rootless_on_cgroup_v2_uses_a_delegated_subtree() {
    if !std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        return;
    }
    let (mut b, u) = rootless_bundle("rl-deleg");
    // What a login manager gives a user: a directory it owns, with the
    // files that delegate it, and its session inside.
    let top = format!("corten-it-deleg-{}", std::process::id());
    let deleg = std::path::PathBuf::from("/sys/fs/cgroup").join(&top);
    fs::create_dir(&deleg).unwrap();
    fs::create_dir(deleg.join("session")).unwrap();
    for p in [
        deleg.clone(),
        deleg.join("cgroup.procs"),
        deleg.join("cgroup.subtree_control"),
        deleg.join("cgroup.threads"),
        deleg.join("session"),
        deleg.join("session/cgroup.procs"),
    ] {
        std::os::unix::fs::chown(&p, Some(u.uid), Some(u.gid)).unwrap();
    }
    let path = format!("/{top}/ctr");
    b.config_mut(|c| {
        c["linux"]["cgroupsPath"] = json!(path);
        c["linux"]["resources"] = json!({"pids": {"limit": 12}});
    });
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    let dir = b.dir_str();
    let user_call = |args: &[&str]| {
        b.call(args)
            .run_as(u.uid, u.gid)
            .in_cgroup(&deleg.join("session"))
            .output()
    };
    let created = user_call(&["create", "--bundle", &dir, &id]);
    created.ok();
    assert!(
        !created.stderr.contains("without a cgroup"),
        "{}",
        created.stderr
    );
    let ctr = deleg.join("ctr");
    assert_eq!(
        fs::read_to_string(ctr.join("pids.max")).unwrap().trim(),
        "12"
    );
    let procs = fs::read_to_string(ctr.join("cgroup.procs")).unwrap();
    assert!(
        procs.lines().any(|l| l == b.pid(&id).to_string()),
        "{procs}"
    );
    user_call(&["delete", "--force", &id]).ok();
    assert!(!ctr.exists(), "the container's cgroup is left");
    b.assert_clean(&id);
    fs::remove_dir(deleg.join("session")).unwrap();
    fs::remove_dir(&deleg).unwrap();
}
