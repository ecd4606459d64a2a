//! create / start / state / kill / delete / run / list, and their state machine.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::thread;
use std::time::Duration;

use common::*;
use serde_json::json;

#[test]
fn create_start_kill_delete() {
    let mut b = Bundle::new("lifecycle");
    b.set_args(&[PROBE, "wait-signal"]);
    let id = b.id();
    let pid_file = b.tmp.join("container.pid");
    let created = b.corten(&[
        "create",
        "--bundle",
        &b.dir_str(),
        "--pid-file",
        &pid_file.to_string_lossy(),
        &id,
    ]);
    created.ok();

    let st = b.state(&id);
    assert_eq!(st["status"], "created", "{st}");
    let pid = st["pid"].as_i64().expect("pid") as i32;
    assert!(pid > 0, "{st}");
    let written = fs::read_to_string(&pid_file).expect("--pid-file written");
    assert_eq!(
        written.trim().parse::<i32>().ok(),
        Some(pid),
        "pid file {written:?} vs state {st}"
    );
    assert!(alive(pid), "created container's process {pid} is not alive");

    b.start(&id);
    let st = b.state(&id);
    assert_eq!(st["status"], "running", "{st}");
    assert_eq!(
        st["pid"].as_i64(),
        Some(pid as i64),
        "pid changed on start: {st}"
    );
    wait_until("probe to print ready", WAIT_TIMEOUT, || {
        created.reread_stdout().contains("ready")
    });

    // Default signal: SIGTERM (15), which the probe reports and exits 115 on.
    b.corten(&["kill", &id]).ok();
    let st = b.wait_status(&id, "stopped");
    assert_eq!(st["pid"], 0, "a stopped container has pid 0: {st}");
    assert!(
        created.reread_stdout().contains("signal 15"),
        "default kill signal is SIGTERM; container printed {:?}",
        created.reread_stdout()
    );

    b.delete(&id);
    b.assert_gone(&id);
    b.assert_clean(&id);
}

#[test]
fn state_fields() {
    let mut b = Bundle::new("statefields");
    b.set_args(&[PROBE, "sleep", "30"]);
    // The state names the runtime's spec version (its `--version` line),
    // not the config's, as runc's does.
    b.config_mut(|c| c["ociVersion"] = json!("1.0.1"));
    let id = b.id();
    b.create(&id);
    let out = b.corten(&["state", &id]);
    out.ok();
    assert!(
        out.stdout.starts_with("{\n  \""),
        "state output is indented by two spaces: {:?}",
        out.stdout
    );
    let st = out.json();
    let obj = st.as_object().expect("state is an object");
    let version = b.call(&["--version"]).no_root().output();
    let spec = version
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("spec: "))
        .unwrap_or_default()
        .to_string();
    assert_eq!(st["ociVersion"], spec.as_str(), "{st}");
    assert_eq!(st["id"], id.as_str());
    assert!(st["pid"].as_i64().unwrap_or(0) > 0, "{st}");
    assert_eq!(st["status"], "created");
    assert_eq!(
        st["bundle"],
        b.dir_str().as_str(),
        "bundle is the absolute bundle path"
    );
    assert_eq!(st["rootfs"], b.rootfs.to_string_lossy().as_ref());
    let created = st["created"].as_str().unwrap_or("");
    assert!(
        is_rfc3339_nanos(created),
        "created is not RFC 3339 with nanoseconds: {created:?}"
    );
    assert_eq!(st["owner"], "", "owner is empty in state: {st}");
    assert!(
        !obj.contains_key("annotations"),
        "annotations omitted when empty: {st}"
    );
    b.delete_force(&id);
    b.assert_clean(&id);

    // With annotations in the config, state shows them.
    b.config_mut(|c| c["annotations"] = json!({"org.example.key": "value"}));
    let id = b.id();
    b.create(&id);
    let st = b.state(&id);
    assert_eq!(
        st["annotations"],
        json!({"org.example.key": "value"}),
        "{st}"
    );
    b.delete_force(&id);
    b.assert_clean(&id);
}

#[test]
fn kill_signal_forms() {
    let mut b = Bundle::new("killforms");
    b.set_args(&[PROBE, "sleep", "30"]);
    for sig in ["KILL", "SIGKILL", "9"] {
        let id = b.id();
        b.create_start(&id);
        let pid = b.pid(&id);
        b.kill(&id, sig);
        let st = b.wait_status(&id, "stopped");
        assert_eq!(st["pid"], 0, "{st}");
        assert!(!alive(pid), "kill {sig}: process {pid} still alive");
        b.delete(&id);
        b.assert_gone(&id);
        b.assert_clean(&id);
    }
}

#[test]
fn kill_delivers_named_and_numbered_signals() {
    let mut b = Bundle::new("killsigs");
    b.set_args(&[PROBE, "wait-signal"]);
    for (sig, num) in [("USR2", 12), ("SIGHUP", 1), ("10", 10)] {
        let id = b.id();
        let created = b.create_start(&id);
        wait_until("ready", WAIT_TIMEOUT, || {
            created.reread_stdout().contains("ready")
        });
        b.kill(&id, sig);
        b.wait_status(&id, "stopped");
        let printed = created.reread_stdout();
        assert!(
            printed.contains(&format!("signal {num}")),
            "kill {sig} should deliver signal {num}; container printed {printed:?}"
        );
        b.delete(&id);
        b.assert_clean(&id);
    }
}

#[test]
fn created_container_has_not_run_user_program() {
    let mut b = Bundle::new("notyet");
    b.config_mut(|c| c["root"]["readonly"] = json!(false));
    b.set_args(&[PROBE, "write", "/started", "yes"]);
    let marker = b.rootfs.join("started");
    let id = b.id();
    b.create(&id);
    // Give a runtime that wrongly execs early the time to show it.
    thread::sleep(Duration::from_millis(300));
    assert!(!marker.exists(), "the user program ran before start");
    assert_eq!(b.state(&id)["status"], "created");
    b.start(&id);
    b.wait_status(&id, "stopped");
    assert_eq!(fs::read_to_string(&marker).unwrap_or_default(), "yes");
    b.delete(&id);
    b.assert_clean(&id);
}

#[test]
fn init_is_pid_1() {
    let mut b = Bundle::new("pid1");
    let r = b.run_report();
    assert_eq!(
        r["pid"], 1,
        "container init must be pid 1 in its pid namespace"
    );
    assert_eq!(r["ppid"], 0, "pid 1's parent is outside the namespace");
}

#[test]
fn exited_container_is_stopped() {
    let mut b = Bundle::new("exited");
    b.set_args(&[PROBE, "exit", "3"]);
    let id = b.id();
    b.create_start(&id);
    let st = b.wait_status(&id, "stopped");
    assert_eq!(st["pid"], 0, "{st}");
    b.delete(&id);
    b.assert_gone(&id);
    b.assert_clean(&id);
}

#[test]
fn run_removes_container() {
    let mut b = Bundle::new("runrm");
    b.set_args(&[PROBE, "exit", "0"]);
    let id = b.id();
    b.run(&id).ok();
    b.assert_gone(&id);
    b.assert_clean(&id);
}

#[test]
fn run_keep_leaves_stopped_container() {
    let mut b = Bundle::new("runkeep");
    b.set_args(&[PROBE, "exit", "0"]);
    let id = b.id();
    b.corten(&["run", "--keep", "--bundle", &b.dir_str(), &id])
        .ok();
    let list = b.corten(&["list", "-f", "json"]);
    list.ok();
    let entries = list.json();
    let entry = entries
        .as_array()
        .and_then(|a| a.iter().find(|e| e["id"] == id.as_str()))
        .unwrap_or_else(|| panic!("run --keep: {id} not listed: {entries}"));
    assert_eq!(entry["status"], "stopped", "{entry}");
    let st = b.state(&id);
    assert_eq!(st["status"], "stopped");
    assert_eq!(st["pid"], 0);
    b.delete(&id);
    b.assert_gone(&id);
    b.assert_clean(&id);
}

#[test]
fn run_detached() {
    let mut b = Bundle::new("rundetach");
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    b.corten(&["run", "-d", "--bundle", &b.dir_str(), &id]).ok();
    let st = b.state(&id);
    assert_eq!(st["status"], "running", "{st}");
    let pid = st["pid"].as_i64().unwrap_or(0) as i32;
    assert!(pid > 0 && alive(pid), "{st}");
    b.delete_force(&id);
    b.assert_gone(&id);
    b.assert_clean(&id);
}

#[test]
fn list_formats() {
    let mut b = Bundle::new("list");
    // Empty root.
    let table = b.corten(&["list"]);
    table.ok();
    let lines: Vec<&str> = table
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "only the header: {:?}", table.stdout);
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    );
    let empty = b.corten(&["list", "-f", "json"]);
    empty.ok();
    let v = empty.json();
    assert!(
        v.is_null() || v == json!([]),
        "empty list -f json is null or []: {v}"
    );
    assert!(b.list_ids().is_empty());

    b.set_args(&[PROBE, "sleep", "30"]);
    let ids = [b.id(), b.id()];
    for id in &ids {
        b.create(id);
    }
    let table = b.corten(&["list"]);
    table.ok();
    let rows: Vec<Vec<&str>> = table
        .stdout
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{:?}", table.stdout);
    for id in &ids {
        let row = rows.iter().find(|r| r[0] == id).expect("id in table");
        assert_eq!(row.len(), 6, "{row:?}");
        assert_eq!(row[1], b.pid(id).to_string());
        assert_eq!(row[2], "created");
        assert_eq!(row[3], b.dir_str());
        assert!(is_rfc3339_nanos(row[4]), "{row:?}");
    }

    let json_out = b.corten(&["list", "--format", "json"]);
    json_out.ok();
    let arr = json_out.json();
    let arr = arr.as_array().expect("list -f json is an array");
    assert_eq!(arr.len(), 2);
    for e in arr {
        for k in [
            "ociVersion",
            "id",
            "pid",
            "status",
            "bundle",
            "rootfs",
            "created",
            "owner",
        ] {
            assert!(e.get(k).is_some(), "list entry lacks {k}: {e}");
        }
        assert_eq!(e["status"], "created");
        assert_eq!(e["bundle"], b.dir_str().as_str());
        assert_eq!(
            e["owner"], "root",
            "list fills owner with the user name: {e}"
        );
    }

    let quiet: BTreeSet<String> = b.list_ids().into_iter().collect();
    assert_eq!(quiet, ids.iter().cloned().collect::<BTreeSet<_>>());
    for id in &ids {
        b.delete_force(id);
    }
    for id in &ids {
        b.assert_clean(id);
    }
}

#[test]
fn kill_all() {
    let mut b = Bundle::new("killall");
    // Without a pid namespace the children outlive init: only --all reaches them.
    b.config_mut(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces")
            .retain(|n| n["type"] != "pid")
    });
    b.set_sh("/bin/probe sleep 30 & /bin/probe sleep 30 & exec /bin/probe sleep 30");
    let id = b.id();
    b.create_start(&id);
    wait_until("three processes in the container", WAIT_TIMEOUT, || {
        b.processes_in_rootfs().len() >= 3
    });
    b.corten(&["kill", "--all", &id, "KILL"]).ok();
    b.wait_status(&id, "stopped");
    b.assert_no_processes();
    b.delete(&id);
    b.assert_clean(&id);
}

#[test]
fn delete_force_running() {
    let mut b = Bundle::new("delforce");
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    b.create_start(&id);
    let pid = b.pid(&id);
    b.delete_force(&id);
    b.assert_gone(&id);
    b.assert_clean(&id);
    assert!(!alive(pid));
}

#[test]
fn delete_force_created() {
    let mut b = Bundle::new("delforcec");
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    b.create(&id);
    b.delete_force(&id);
    b.assert_gone(&id);
    b.assert_clean(&id);
}

#[test]
fn concurrent_state_during_start() {
    let mut b = Bundle::new("concstate");
    b.set_args(&[PROBE, "wait-signal"]);
    let id = b.id();
    b.create(&id);
    let outputs = thread::scope(|s| {
        let start = s.spawn(|| b.corten(&["start", &id]));
        let states: Vec<_> = (0..10)
            .map(|_| s.spawn(|| b.corten(&["state", &id])))
            .collect();
        let mut outs = vec![start.join().expect("start thread")];
        outs.extend(states.into_iter().map(|h| h.join().expect("state thread")));
        outs
    });
    outputs[0].ok();
    for out in &outputs[1..] {
        out.ok();
        let st = out.json();
        assert!(
            st["status"] == "created" || st["status"] == "running",
            "state during start: {st}"
        );
        assert_eq!(st["id"], id.as_str());
    }
    assert_eq!(b.state(&id)["status"], "running");
    b.delete_force(&id);
    b.assert_clean(&id);
}

#[test]
fn concurrent_force_deletes() {
    let mut b = Bundle::new("concdel");
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    b.create_start(&id);
    let outs = thread::scope(|s| {
        let a = s.spawn(|| b.corten(&["delete", "--force", &id]));
        let c = s.spawn(|| b.corten(&["delete", "--force", &id]));
        [
            a.join().expect("delete thread"),
            c.join().expect("delete thread"),
        ]
    });
    assert!(outs.iter().any(|o| o.code == Some(0)), "{outs:?}");
    for o in &outs {
        if o.code != Some(0) {
            o.fails_with(1, "does not exist");
        }
    }
    b.assert_gone(&id);
    b.assert_clean(&id);
}

#[test]
fn concurrent_kills() {
    let mut b = Bundle::new("conckill");
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    b.create_start(&id);
    let outs = thread::scope(|s| {
        let a = s.spawn(|| b.corten(&["kill", &id, "KILL"]));
        let c = s.spawn(|| b.corten(&["kill", &id, "KILL"]));
        [
            a.join().expect("kill thread"),
            c.join().expect("kill thread"),
        ]
    });
    assert!(outs.iter().any(|o| o.code == Some(0)), "{outs:?}");
    for o in &outs {
        if o.code != Some(0) {
            // The wording containerd matches on when a kill races the exit.
            o.fails_with_any(
                1,
                &[
                    "container not running",
                    "no such process",
                    "process already finished",
                ],
            );
        }
    }
    let st = b.wait_status(&id, "stopped");
    assert_eq!(st["pid"], 0);
    b.delete(&id);
    b.assert_gone(&id);
    b.assert_clean(&id);
}

/// runtime-tools' `start` case, which runc fails: a config without
/// `process` can be created; only `start` fails, and the container stays.
#[test]
fn config_without_process_creates_but_does_not_start() {
    if is_runc() {
        return;
    }
    let mut b = Bundle::new("noprocess");
    b.config_mut(|c| {
        c.as_object_mut().unwrap().remove("process");
    });
    let id = b.id();
    b.create(&id);
    assert_eq!(b.state(&id)["status"], "created");
    b.corten(&["start", &id]).fails_with(1, "without a process");
    assert_eq!(
        b.state(&id)["status"],
        "created",
        "a failed start leaves the container as it was"
    );
    b.delete_force(&id);
    b.assert_clean(&id);
}

/// runc: `delete --force` of a container that does not exist succeeds
/// (engines delete what may be gone), and a directory a killed `create`
/// left behind is removed.
#[test]
fn delete_force_of_missing_or_abandoned_container() {
    let b = Bundle::new("delmissing");
    b.corten(&["delete", "--force", "never-created"]).ok();
    b.corten(&["delete", "never-created"])
        .fails_with(1, "does not exist");
    if is_runc() {
        return;
    }
    std::fs::create_dir_all(b.root.join("abandoned")).unwrap();
    b.corten(&["delete", "--force", "abandoned"]).ok();
    assert!(!b.root.join("abandoned").exists());
}

/// `pause` of a created container (never started) freezes its waiting init
/// and says "paused", as runc does; `start` is refused until `resume`,
/// which makes it "created" again, and it then starts as usual. corten
/// refused the pause ("not running: created"). Found by the differential
/// harness (pause_of_created), issue 17.
#[test]
fn pause_of_a_created_container_holds_it_until_resume() {
    let mut b = Bundle::new("pausecreated");
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    b.create(&id);
    b.corten(&["pause", &id]).ok();
    assert_eq!(b.state(&id)["status"], "paused");
    b.corten(&["start", &id])
        .fails_with(1, "cannot start a container in the paused state");
    assert_eq!(b.state(&id)["status"], "paused");
    b.corten(&["resume", &id]).ok();
    assert_eq!(b.state(&id)["status"], "created");
    b.start(&id);
    b.wait_status(&id, "running");
    b.corten(&["delete", "--force", &id]).ok();
    b.assert_clean(&id);
}
