//! Lifecycle hooks: where and when each runs, and what it reads on stdin.

mod common;

use std::fs;

use common::*;
use serde_json::{json, Value};

/// A hook that appends its name and its stdin (one line) to `log`.
fn logging_hook(log: &str, name: &str) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("printf '%s ' {name} >> {log}; cat >> {log}; echo >> {log}")],
        "env": ["PATH=/bin:/usr/bin"],
        "timeout": 10
    })
}

fn read_log(path: &std::path::Path) -> Vec<(String, Value)> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let (name, json) = l.split_once(' ').unwrap();
            (name.to_string(), serde_json::from_str(json).unwrap())
        })
        .collect()
}

#[test]
fn every_hook_runs_in_order_with_the_state_on_stdin() {
    if is_runc() {
        // runc passes other statuses to some hooks (runtime-tools' hooks_stdin).
        return;
    }
    let mut b = Bundle::new("hooks");
    let log = b.tmp.join("hooks.log");
    let log_s = log.display().to_string();
    b.config_mut(|c| {
        c["annotations"] = json!({"org.example": "hooked"});
        c["hooks"] = json!({
            "prestart": [logging_hook(&log_s, "prestart")],
            "createRuntime": [logging_hook(&log_s, "createRuntime")],
            "createContainer": [logging_hook(&log_s, "createContainer")],
            "poststart": [logging_hook(&log_s, "poststart")],
            "poststop": [logging_hook(&log_s, "poststop")]
        });
    });
    b.set_args(&["true"]);
    let id = b.id();
    b.create(&id);
    let pid = b.pid(&id);
    let names =
        |entries: &[(String, Value)]| entries.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&read_log(&log)),
        ["prestart", "createRuntime", "createContainer"]
    );
    b.start(&id);
    b.wait_status(&id, "stopped");
    b.delete(&id);
    let entries = read_log(&log);
    assert_eq!(
        names(&entries),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "poststart",
            "poststop"
        ]
    );
    let want = [
        ("creating", json!(pid)),
        ("creating", json!(pid)),
        ("creating", json!(1)),
        ("running", json!(pid)),
        ("stopped", Value::Null),
    ];
    for ((name, state), (status, pid)) in entries.iter().zip(want) {
        assert_eq!(state["id"], id.as_str(), "{name}");
        assert_eq!(state["status"], status, "{name}");
        assert_eq!(state["bundle"], b.dir_str().as_str(), "{name}");
        assert_eq!(state["annotations"]["org.example"], "hooked", "{name}");
        assert_eq!(state["pid"], pid, "{name}");
    }
    b.assert_clean(&id);
}

#[test]
fn start_container_hook_runs_inside_the_container() {
    if is_runc() {
        return;
    }
    let mut b = Bundle::new("hookstart");
    b.config_mut(|c| {
        c["root"]["readonly"] = json!(false);
        // The path resolves in the container: the rootfs's own sh.
        c["hooks"] = json!({"startContainer": [{
            "path": "/bin/sh",
            "args": ["sh", "-c", "hostname > /hook-ran; cat >> /hook-ran"]
        }]});
    });
    b.set_args(&["true"]);
    let id = b.id();
    b.run(&id).ok();
    let text = fs::read_to_string(b.rootfs.join("hook-ran")).unwrap();
    let (host, state) = text.split_once('\n').unwrap();
    assert_eq!(host, "corten", "ran in the container's uts namespace");
    let state: Value = serde_json::from_str(state).unwrap();
    assert_eq!(state["status"], "created");
    b.assert_clean(&id);
}

#[test]
fn failing_prestart_hook_fails_create_and_cleans_up() {
    let mut b = Bundle::new("hookfail");
    let log = b.tmp.join("poststop.log");
    let log_s = log.display().to_string();
    b.config_mut(|c| {
        c["hooks"] = json!({
            "prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo no-go >&2; exit 7"]}],
            "poststop": [logging_hook(&log_s, "poststop")]
        });
    });
    let id = b.id();
    let out = b.corten(&["create", "--bundle", &b.dir_str(), &id]);
    out.fails_with(1, "prestart");
    if !is_runc() {
        assert!(
            out.stderr.contains("no-go"),
            "the hook's output is in the error: {}",
            out.stderr
        );
        assert_eq!(
            read_log(&log).len(),
            1,
            "poststop runs after a failed create"
        );
    }
    b.assert_clean(&id);
}

#[test]
fn hook_timeout_fails_create() {
    let mut b = Bundle::new("hooktimeout");
    b.config_mut(|c| {
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
    });
    let id = b.id();
    let started = std::time::Instant::now();
    b.corten(&["create", "--bundle", &b.dir_str(), &id])
        .fails_with(1, "timed out");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    b.assert_clean(&id);
}

/// runtime-tools' poststart_fail / poststop_fail: a failing hook is a
/// warning, and the hooks after it still run.
#[test]
fn failing_poststart_and_poststop_hooks_warn_and_the_rest_run() {
    if is_runc() {
        return;
    }
    let mut b = Bundle::new("hookwarn");
    let log = b.tmp.join("hooks.log");
    let log_s = log.display().to_string();
    let failing = json!({"path": "/bin/false", "args": ["false"]});
    b.config_mut(|c| {
        c["hooks"] = json!({
            "poststart": [failing.clone(), logging_hook(&log_s, "poststart")],
            "poststop": [failing, logging_hook(&log_s, "poststop")]
        });
    });
    b.set_args(&["true"]);
    let id = b.id();
    b.create(&id);
    let start = b.corten(&["start", &id]);
    start.ok();
    assert!(
        start.stderr.contains("poststart hook #0 (/bin/false)"),
        "{}",
        start.stderr
    );
    assert!(
        !start.stderr.contains("invalid configuration"),
        "{}",
        start.stderr
    );
    b.wait_status(&id, "stopped");
    b.corten(&["delete", &id]).ok();
    let names: Vec<String> = read_log(&log).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["poststart", "poststop"]);
    b.assert_clean(&id);
}

/// A hook without `env` run by the runtime gets the runtime's environment
/// (one run by the init, none: runc's init has none), and the create-time
/// hooks run where runc runs them: prestart and createRuntime in the
/// bundle, createContainer in the rootfs (runc's hook tests `touch
/// ./lib/...` relative to it). Issue 17.
#[test]
fn hooks_get_the_runtimes_environment_and_runcs_working_directories() {
    let mut b = Bundle::new("hookenvcwd");
    let log = b.tmp.join("hooklog");
    let log_str = log.display().to_string();
    let hook = |name: &str| {
        json!({
            "path": "/bin/sh",
            "args": ["sh", "-c", format!("echo {name} $HOOK_TEST_VAR $(pwd) >> {log_str}")]
        })
    };
    b.config_mut(|c| {
        c["hooks"] = json!({
            "prestart": [hook("prestart")],
            "createRuntime": [hook("createRuntime")],
            "createContainer": [hook("createContainer")]
        });
    });
    b.set_args(&["true"]);
    let id = b.id();
    b.call(&["run", "--bundle", &b.dir_str(), &id])
        .env("HOOK_TEST_VAR", "from-the-runtime")
        .output()
        .ok();
    let text = fs::read_to_string(&log).unwrap();
    let bundle = b.dir.display().to_string();
    let rootfs = b.rootfs.display().to_string();
    for (name, env, dir) in [
        ("prestart", " from-the-runtime", &bundle),
        ("createRuntime", " from-the-runtime", &bundle),
        ("createContainer", "", &rootfs),
    ] {
        let want = format!("{name}{env} {dir}");
        assert!(text.lines().any(|l| l == want), "{want:?} in {text}");
    }
    b.assert_clean(&id);
}

/// What every kind of hook reads on stdin is runc's state document byte for
/// byte: runc's key order (ociVersion, id, status, pid, bundle, annotations
/// with their keys sorted), "creating" for prestart and createRuntime as
/// for createContainer, the init's own pid (1 in its pid namespace) for the
/// hooks the init runs, and no pid at all for poststop (a stopped container
/// has none; Go's omitempty). Found by the differential harness
/// (hooks_see_the_state), issue 17.
#[test]
fn hooks_read_runcs_state_document() {
    let mut b = Bundle::new("hookstate");
    let out = b.tmp.clone();
    let hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}/{name}.json", out.display())]});
    b.config_mut(|c| {
        c["root"]["readonly"] = json!(false);
        c["annotations"] = json!({"z.last": "2", "a.first": "1"});
        c["hooks"] = json!({
            "prestart": [hook("prestart")],
            "createRuntime": [hook("createRuntime")],
            "createContainer": [hook("createContainer")],
            // After pivot_root: the rootfs's own sh writes into the rootfs.
            "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /startContainer.json"]}],
            "poststart": [hook("poststart")],
            "poststop": [hook("poststop")]
        });
    });
    b.set_args(&["sleep", "1"]);
    let id = b.id();
    b.create(&id);
    let pid = b.pid(&id);
    b.start(&id);
    b.wait_status(&id, "stopped");
    b.delete(&id);
    // runc 1.1.5 runs poststart at the end of `create` ("created"); runc
    // since opencontainers/runc#5186 after the process started, in `start`.
    let poststart = if skip_if_runc("runc 1.1.5 gives poststart \"created\"") {
        None
    } else {
        Some("running")
    };
    let cases = [
        ("prestart", Some("creating"), Some(pid)),
        ("createRuntime", Some("creating"), Some(pid)),
        ("createContainer", Some("creating"), Some(1)),
        ("startContainer", Some("created"), Some(1)),
        ("poststart", poststart, Some(pid)),
        ("poststop", Some("stopped"), None),
    ];
    for (name, status, pid) in cases {
        let file = if name == "startContainer" {
            b.rootfs.join("startContainer.json")
        } else {
            out.join(format!("{name}.json"))
        };
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"));
        let status = status.map_or_else(|| v["status"].to_string(), |s| format!("{s:?}"));
        let pid = pid.map(|p| format!("\"pid\":{p},")).unwrap_or_default();
        let want = format!(
            "{{\"ociVersion\":{},\"id\":\"{id}\",\"status\":{status},{pid}\"bundle\":\"{}\",\
             \"annotations\":{{\"a.first\":\"1\",\"z.last\":\"2\"}}}}",
            v["ociVersion"],
            b.dir_str()
        );
        assert_eq!(text, want, "{name}");
    }
    b.assert_clean(&id);
}
