//! The differential scenarios: a name, the config edits, the commands, what
//! to compare. Adding one is a few lines of the table at the end.
//!
//! Both sides start from corten's `spec` with the harness's edits (absolute
//! root path, no terminal, `probe report`), each with its own rootfs copy,
//! `--root` and temp dir; `{cg}` is a cgroups path of each side's own.

use serde_json::{json, Value};

use super::{cmd, Cmd, Err, Exit, Out, Scenario, Side, Step, Why};

const PROBE: &str = "/bin/probe";
/// `state` fields that differ by nature: host pid, creation time, version.
const STATE: &[&str] = &["/pid", "/created", "/ociVersion"];
const LIST: &[&str] = &["/*/pid", "/*/created", "/*/ociVersion"];

// --- config edits ---------------------------------------------------------

fn args(a: &'static [&'static str]) -> impl Fn(&mut Value, &Side) + Send + Sync {
    move |c, _| c["process"]["args"] = json!(a)
}

fn sh(script: &'static str) -> impl Fn(&mut Value, &Side) + Send + Sync {
    move |c, _| c["process"]["args"] = json!(["/bin/sh", "-c", script])
}

/// Sets the JSON pointer `ptr` (its parents must exist) to `v`.
fn set(ptr: &'static str, v: Value) -> impl Fn(&mut Value, &Side) + Send + Sync {
    move |c, _| {
        let (parent, key) = ptr.rsplit_once('/').expect("a pointer");
        let p = if parent.is_empty() {
            Some(&mut *c)
        } else {
            c.pointer_mut(parent)
        };
        match p {
            Some(Value::Object(o)) => {
                o.insert(key.to_string(), v.clone());
            }
            _ => panic!("config has no object at {parent}"),
        }
    }
}

fn resources(r: Value) -> impl Fn(&mut Value, &Side) + Send + Sync {
    move |c, _| c["linux"]["resources"] = r.clone()
}

fn add_mount(m: Value) -> impl Fn(&mut Value, &Side) + Send + Sync {
    move |c, s| {
        let text = m.to_string().replace("{tmp}", &s.b.tmp.to_string_lossy());
        let m: Value = serde_json::from_str(&text).expect("mount JSON");
        c["mounts"].as_array_mut().expect("mounts").push(m);
    }
}

fn without_ns(kind: &'static str) -> impl Fn(&mut Value, &Side) + Send + Sync {
    move |c, _| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces")
            .retain(|n| n["type"] != kind)
    }
}

fn with_ns(kind: &'static str) -> impl Fn(&mut Value, &Side) + Send + Sync {
    move |c, _| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces")
            .push(json!({ "type": kind }))
    }
}

fn cgroups_path(c: &mut Value, s: &Side) {
    c["linux"]["cgroupsPath"] = json!(s.cg);
}

/// Writes `text` to `{tmp}/name` of each side (for `-p`, `-r`, bind sources).
fn tmp_file(name: &'static str, text: &'static str) -> impl Fn(&Side) + Send + Sync {
    move |s| {
        let p = s.b.tmp.join(name);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        std::fs::write(p, text).expect("write a tmp file")
    }
}

// --- commands ---------------------------------------------------------------

/// `run` in the foreground; stdout is the container's.
fn run() -> Cmd {
    cmd("run --bundle {bundle} {id}")
}

/// `run` of `probe report`, compared field by field.
fn report() -> Cmd {
    run().out(Out::Report)
}

fn state() -> Cmd {
    cmd("state {id}").out(Out::Json(STATE))
}

/// A container whose init sleeps, detached and running.
fn running() -> Scenario {
    Scenario::new()
        .config(args(&[PROBE, "sleep", "60"]))
        .run(cmd("run -d --bundle {bundle} {id}").label("run-d"))
        .status("running")
}

/// A container whose init prints `ready`, then waits for a signal and
/// exits 100+N; `run` in the background (label "run").
fn waiting() -> Scenario {
    Scenario::new()
        .config(args(&[PROBE, "wait-signal"]))
        .spawn(run().out(Out::Text))
        .status("running")
        .step(Step::Sleep(100))
}

/// A created container.
fn created() -> Scenario {
    Scenario::new()
        .config(args(&[PROBE, "sleep", "60"]))
        .run(cmd("create --bundle {bundle} {id}"))
        .status("created")
}

// --- normalizers --------------------------------------------------------------

/// A JSON value with every number and string leaf replaced by its kind:
/// the shape, not the figures.
fn shape(text: &str) -> String {
    fn walk(v: &Value) -> Value {
        match v {
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), walk(v))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().take(1).map(walk).collect()),
            Value::Number(_) => json!("n"),
            Value::String(_) => json!("s"),
            other => other.clone(),
        }
    }
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .take(1)
        .map(|l| match serde_json::from_str::<Value>(l) {
            Ok(v) => walk(&v).to_string(),
            Err(_) => format!("not JSON: {l}"),
        })
        .collect()
}

/// An `events` stats line's [`shape`], where runc 1.1.5 and 1.4 differ
/// taken as 1.4 prints it: 1.1.5's Go `omitempty` never leaves out a
/// section (a container never throttled has `"throttling": {}`), 1.4's
/// `omitzero` leaves out one whose values are all zero, as corten does.
fn stats_shape(text: &str) -> String {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let Ok(mut v) = serde_json::from_str::<Value>(first) else {
        return shape(first);
    };
    if let Some(cpu) = v.pointer_mut("/data/cpu").and_then(Value::as_object_mut) {
        cpu.retain(|_, section| section != &json!({}));
    }
    shape(&v.to_string())
}

/// A table: the header's words and each row through `row`.
fn table_with(text: &str, row: fn(&[&str]) -> String) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            if i == 0 {
                cols.join(" ")
            } else {
                row(&cols)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A table: the header and each row's first column (`list`: the id).
fn table_shape(text: &str) -> String {
    table_with(text, |cols| format!("row {}", cols.first().unwrap_or(&"")))
}

/// `ps` output: the header and each row's command (from the 8th column on).
fn ps_shape(text: &str) -> String {
    table_with(text, |cols| {
        cols.get(7..).map(|c| c.join(" ")).unwrap_or_default()
    })
}

/// Each line's last column (`ps -o pid,comm`: the command).
fn last_column(text: &str) -> String {
    text.lines()
        .map(|l| l.split_whitespace().last().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn lines_count(text: &str) -> String {
    format!("{} lines", text.lines().count())
}

/// `{tmp}/NAME` read back (or "missing").
fn read_tmp(s: &Side, name: &str) -> String {
    std::fs::read_to_string(s.b.tmp.join(name)).unwrap_or_else(|_| "missing".into())
}

// --- the table ------------------------------------------------------------------

crate::table! {
    // Lifecycle and exit statuses.
    run_default_report => Scenario::new()
        .strict()
        .run(report())
        // DIFF: runc's foreground `run` and `exec` give the process pipes it copies
        // to its own stdio; corten hands over the caller's descriptors.
        .differs("run.stdout.fds", Why::Documented, "stdio: runc pipes, corten the caller's files")
        // The /sys/fs/cgroup tmpfs of a v1 or hybrid host: every runc since
        // 1.0.0-rc91 leaves it rw whatever the config says; corten keeps the
        // config's ro.
        .differs("run.stdout.mounts", Why::Documented,
            "/sys/fs/cgroup tmpfs: rw with runc, ro as the config asks with corten"),
    run_exit_status_passes_through => Scenario::new().config(sh("exit 3")).run(run()),
    run_killed_by_signal_is_128_plus => Scenario::new().config(sh("kill -9 $$")).run(run()),
    run_missing_program_fails => Scenario::new().config(args(&["/nonexistent"])).run(run().fails()),
    run_keep_leaves_stopped_state => Scenario::new()
        .config(args(&[PROBE, "exit", "0"]))
        .run(cmd("run --keep --bundle {bundle} {id}"))
        .run(state())
        .run(cmd("delete {id}")),
    run_detached_then_kill_and_delete => running()
        .run(state())
        .run(cmd("kill {id} KILL"))
        .status("stopped")
        .run(state())
        .run(cmd("delete {id}"))
        .run(cmd("state {id}").fails().label("state-after-delete")),
    create_start_state_cycle => created()
        .run(state())
        .run(cmd("start {id}"))
        .status("running")
        .run(state().label("state-running"))
        .run(cmd("kill {id} 9"))
        .status("stopped")
        .run(cmd("delete {id}")),
    create_with_pid_file => Scenario::new()
        .config(args(&[PROBE, "sleep", "60"]))
        .run(cmd("create --pid-file {tmp}/init.pid --bundle {bundle} {id}"))
        .look("pid file", |s| {
            let t = read_tmp(s, "init.pid");
            format!("{:?}", t.trim().parse::<i32>().map(|p| p > 0))
        }),
    create_no_pivot => Scenario::new()
        .run(cmd("run --no-pivot --bundle {bundle} {id}").out(Out::Report)),
    create_duplicate_id_fails => created()
        .run(cmd("create --bundle {bundle} {id}").fails().label("create-again")),
    start_twice_fails => running().run(cmd("start {id}").fails()),
    start_of_stopped_fails => Scenario::new()
        .config(args(&[PROBE, "exit", "0"]))
        .run(cmd("run --keep --bundle {bundle} {id}"))
        .run(cmd("start {id}").fails()),
    delete_of_running_fails_force_succeeds => running()
        .run(cmd("delete {id}").fails())
        .run(cmd("delete --force {id}").label("delete-f"))
        .run(cmd("state {id}").fails()),
    delete_of_created_removes_it => created()
        .run(cmd("delete {id}"))
        .run(cmd("state {id}").fails()),
    // Unknown containers: every command fails with one line.
    start_unknown_id => Scenario::new().run(cmd("start nosuch").fails()),
    state_unknown_id => Scenario::new().run(cmd("state nosuch").fails()),
    kill_unknown_id => Scenario::new().run(cmd("kill nosuch KILL").fails()),
    delete_unknown_id => Scenario::new().run(cmd("delete nosuch").fails()),
    delete_force_unknown_id => Scenario::new().run(cmd("delete -f nosuch")),
    pause_unknown_id => Scenario::new().run(cmd("pause nosuch").fails()),
    resume_unknown_id => Scenario::new().run(cmd("resume nosuch").fails()),
    ps_unknown_id => Scenario::new().run(cmd("ps nosuch").fails()),
    events_unknown_id => Scenario::new().run(cmd("events --stats nosuch").fails()),
    update_unknown_id => Scenario::new().run(cmd("update --memory 10M nosuch").fails()),
    exec_unknown_id => Scenario::new().run(cmd("exec nosuch /bin/true")),
    // Bad input.
    malformed_config_fails => Scenario::new()
        .prepare(|s| std::fs::write(s.b.config_path(), "{\"ociVersion\": ").unwrap())
        .run(run().fails()),
    missing_rootfs_fails => Scenario::new()
        .config(set("/root/path", json!("/nonexistent-rootfs")))
        .run(run().fails()),
    empty_args_fails => Scenario::new().config(set("/process/args", json!([]))).run(run().fails()),
    missing_bundle_fails => Scenario::new().run(cmd("run --bundle /nonexistent {id}").fails()),
    // kill.
    kill_default_is_sigterm => waiting().run(cmd("kill {id}")).wait("run"),
    kill_by_number => waiting().run(cmd("kill {id} 10")).wait("run"),
    kill_by_sig_name => waiting().run(cmd("kill {id} SIGUSR2")).wait("run"),
    kill_bad_signal_fails => running().run(cmd("kill {id} NOPE").fails()),
    kill_all_reaches_every_process => Scenario::new()
        .config(sh("/bin/probe sleep 60 & exec /bin/probe sleep 60"))
        .run(cmd("run -d --bundle {bundle} {id}").label("run-d"))
        .status("running")
        .run(cmd("kill --all {id} KILL"))
        .status("stopped"),
    kill_of_stopped_fails => Scenario::new()
        .config(args(&[PROBE, "exit", "0"]))
        .run(cmd("run --keep --bundle {bundle} {id}"))
        .run(cmd("kill {id} KILL").fails()),
    kill_all_of_stopped => Scenario::new()
        .config(args(&[PROBE, "exit", "0"]))
        .run(cmd("run --keep --bundle {bundle} {id}"))
        .run(cmd("kill --all {id} KILL")),
    // list, ps.
    list_empty_json => Scenario::new().run(cmd("list -f json").out(Out::Text)),
    list_json => created().run(cmd("list -f json").out(Out::Json(LIST))),
    list_table => created().run(cmd("list").out(Out::Norm(table_shape))),
    list_quiet => created().run(cmd("list -q").out(Out::Text)),
    ps_json => running().run(cmd("ps -f json {id}").out(Out::Norm(lines_count))),
    ps_table => running().run(cmd("ps {id}").out(Out::Norm(ps_shape))),
    ps_with_ps_args => running().run(cmd("ps {id} -o pid,comm").out(Out::Norm(last_column))),
    ps_with_separator_and_ps_args => running()
        .run(cmd("ps {id} -- -o pid,comm").out(Out::Norm(last_column)))
        // Released runc (1.1.5 to 1.5.1) hands the `--` to ps(1), which fails
        // ("garbage option"); runc's main branch (urfave/cli v3,
        // opencontainers/runc 57fad01) drops it as the separator, as corten.
        .differs("ps", Why::Documented, "released runc passes `--` on to ps(1) and fails"),
    // pause, resume.
    pause_and_resume => running()
        .run(cmd("pause {id}"))
        .status("paused")
        .run(state())
        .cgroup("freezer", "freezer.state")
        .run(cmd("resume {id}"))
        .status("running")
        .cgroup("freezer", "freezer.state"),
    pause_of_created => created()
        .run(cmd("pause {id}"))
        .run(state())
        .run(cmd("start {id}").fails().label("start-while-paused"))
        .run(cmd("resume {id}"))
        .run(state().label("state-after-resume"))
        .run(cmd("start {id}"))
        .status("running"),
    resume_of_running_fails => running().run(cmd("resume {id}").fails()),
    exec_in_paused_fails => running()
        .run(cmd("pause {id}"))
        .run(cmd("exec {id} /bin/true").fails())
        .run(cmd("resume {id}")),
    // events.
    events_stats_shape => running()
        .run(cmd("events --stats {id}").out(Out::Norm(stats_shape))),
    events_stream_shape => running()
        .spawn(cmd("events --interval 200ms {id}").exit(Exit::Ignore).err(Err::Ignore).out(Out::Norm(stats_shape)))
        .step(Step::Sleep(700))
        .stop("events"),
    events_of_stopped_fails => Scenario::new()
        .config(args(&[PROBE, "exit", "0"]))
        .run(cmd("run --keep --bundle {bundle} {id}"))
        .run(cmd("events --stats {id}").fails()),
    // update.
    update_memory => running()
        .run(cmd("update --memory 100M {id}"))
        .cgroup("memory", "memory.limit_in_bytes"),
    update_pids_limit => running()
        .run(cmd("update --pids-limit 42 {id}"))
        .cgroup("pids", "pids.max"),
    update_cpu_quota_unlimited => running()
        .run(cmd("update --cpu-quota -1 {id}"))
        .cgroup("cpu", "cpu.cfs_quota_us"),
    update_cpu_shares_and_period => running()
        .run(cmd("update --cpu-shares 512 --cpu-period 50000 --cpu-quota 25000 {id}"))
        .cgroup("cpu", "cpu.shares")
        .cgroup("cpu", "cpu.cfs_period_us")
        .cgroup("cpu", "cpu.cfs_quota_us"),
    update_cpuset => running()
        .run(cmd("update --cpuset-cpus 0 {id}"))
        .cgroup("cpuset", "cpuset.cpus"),
    update_resources_from_stdin => running()
        .run(cmd("update -r - {id}").stdin(r#"{"memory": {"limit": 67108864}, "pids": {"limit": 33}}"#))
        .cgroup("memory", "memory.limit_in_bytes")
        .cgroup("pids", "pids.max"),
    update_resources_malformed_fails => running()
        .run(cmd("update -r - {id}").stdin("{not json").fails()),
    // exec.
    exec_report => running().run(cmd("exec {id} /bin/probe report").out(Out::Report)),
    exec_env_cwd_user => running()
        .run(cmd("exec -e FOO=bar --cwd /tmp -u 1000:1000 --additional-gids 5 {id} /bin/probe report").out(Out::Report)),
    exec_env_replaces_config_env => running()
        .config(set("/process/env", json!(["PATH=/bin:/sbin", "MY_VAR=from_spec"])))
        .run(cmd("exec -e MY_VAR=from_cli {id} /bin/probe report").out(Out::Report)),
    exec_process_json => running()
        .prepare(tmp_file("process.json", r#"{"args": ["/bin/probe", "report"], "cwd": "/", "env": ["A=1"]}"#))
        .run(cmd("exec -p {tmp}/process.json {id}").out(Out::Report))
        .differs("exec.stdout.rlimits", Why::Documented, "runc gives an exec process its own limits (1.1.5 the NOFILE Go raised, 1.5 the caller's); corten the container's"),
    exec_cap_and_no_new_privs => running()
        .config(set("/process/capabilities", json!({"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]})))
        .run(cmd("exec --cap CAP_CHOWN --no-new-privs {id} /bin/probe report").out(Out::Report)),
    exec_detached_with_pid_file => running()
        .run(cmd("exec -d --pid-file {tmp}/exec.pid {id} /bin/probe sleep 30"))
        .look("exec pid file", |s| format!("{:?}", read_tmp(s, "exec.pid").trim().parse::<i32>().map(|p| p > 0))),
    exec_exit_status_passes_through => running().run(cmd("exec {id} /bin/sh -c").then(&["exit 7"])),
    exec_missing_program => running().run(cmd("exec {id} /nonexistent")),
    exec_bad_cwd => running().run(cmd("exec --cwd /nonexistent {id} /bin/true")),
    exec_in_stopped => Scenario::new()
        .config(args(&[PROBE, "exit", "0"]))
        .run(cmd("run --keep --bundle {bundle} {id}"))
        .run(cmd("exec {id} /bin/true")),
    exec_tty_console_detached => running()
        .run(cmd("exec -d -t --console-socket {console} {id} /bin/sh -c").then(&["tty; stat -c '%u:%g %a' $(tty)"]))
        .step(Step::Console),
    exec_tty_console_foreground => running()
        .run(cmd("exec -t --console-socket {console} {id} /bin/sh -c").then(&["tty"]))
        .step(Step::Console),
    // spec, features, version, checkpoint.
    spec_default => Scenario::new()
        .run(cmd("spec --bundle {tmp}").no_root())
        .look("spec", |s| spec_view(&read_tmp(s, "config.json")))
        .differs("spec", Why::Documented, "corten's spec masks /sys/devices/virtual/powercap (as moby's and containerd's defaults; no runc does) and lists no ambient set (as runc 1.5)"),
    spec_rootless => Scenario::new()
        .run(cmd("spec --rootless --bundle {tmp}").no_root())
        .look("spec", |s| spec_view(&read_tmp(s, "config.json")))
        .differs("spec", Why::Documented, "corten's spec masks /sys/devices/virtual/powercap (as moby's and containerd's defaults; no runc does) and lists no ambient set (as runc 1.5)"),
    spec_existing_fails => Scenario::new()
        .prepare(tmp_file("config.json", "{}"))
        .run(cmd("spec --bundle {tmp}").no_root().fails()),
    features_shape => Scenario::new()
        .run(features("shape", |v| shape(&v.to_string())))
        .run(features("ociVersionMin", |v| v["ociVersionMin"].to_string()))
        .run(features("hooks", |v| v["hooks"].to_string()))
        .run(features("seccomp", |v| {
            let s = &v["linux"]["seccomp"];
            format!("{} {} {} {}", s["enabled"], s["actions"], s["operators"], s["archs"])
        }))
        .run(features("cgroup", |v| v["linux"]["cgroup"].to_string()))
        .run(features("namespaces", |v| v["linux"]["namespaces"].to_string()))
        .run(features("lsm", |v| format!("{} {}", v["linux"]["apparmor"], v["linux"]["selinux"])))
        .run(features("mountOptions", |v| v["mountOptions"].to_string()))
        .run(features("capabilities", |v| v["linux"]["capabilities"].to_string()))
        .differs("features-shape", Why::Runc115,
            "corten has the fields runc 1.2 added (seccomp knownFlags/supportedFlags, intelRdt, \
             mountExtensions, netDevices, cgroup.rdma) and its own version annotation")
        .differs("features-cgroup", Why::Runc115, "corten lists rdma: true, as runc 1.2+ does (1.1.5 has no rdma key)")
        .differs("features-lsm", Why::Documented, "selinux: runc true, corten false (linux.mountLabel is refused)")
        .differs("features-namespaces", Why::Runc115, "corten lists \"time\", as runc 1.2+ (1.1.5 has no time namespace)")
        .differs("features-mountOptions", Why::Runc115,
            "runc 1.1.5 lists acl and noacl as MS_POSIXACL flags; runc 1.2+ and corten pass them to the filesystem")
        .differs("features-seccomp", Why::Documented, "corten lists the architectures its own compiler handles"),
    version_shape => Scenario::new().run(cmd("--version").no_root().out(Out::Norm(version_view))),
    // corten refuses checkpoint ("not supported yet", README); runc's criu
    // fails on this host (a dump of a container without its own setup), so
    // both fail cleanly and the container keeps running.
    checkpoint_running => running()
        .run(cmd("checkpoint --image-path {tmp}/img {id}").fails().err(Err::Ignore))
        .run(state()),
    restore_without_image_fails => Scenario::new()
        .run(cmd("restore --image-path {tmp}/noimg --bundle {bundle} {id}").fails()),
    // Global flags.
    log_json_error_line => Scenario::new()
        .run(cmd("--log {tmp}/log.json --log-format json state nosuch").fails().err(Err::Ignore))
        .look("log", |s| log_view(&read_tmp(s, "log.json"))),
    single_dash_root_flag => created().run(cmd("-root {root} state {id}").no_root().out(Out::Json(STATE))),
    // process.
    process_env_and_cwd => Scenario::new()
        .config(set("/process/env", json!(["PATH=/bin", "A=1", "B=two words"])))
        .config(set("/process/cwd", json!("/tmp")))
        .run(report()),
    process_cwd_created_when_missing => Scenario::new()
        .config(set("/process/cwd", json!("/does/not/exist")))
        .run(report()),
    process_user_and_groups => Scenario::new()
        .config(set("/process/user", json!({"uid": 1000, "gid": 1001, "additionalGids": [5, 6], "umask": 63})))
        .run(report()),
    process_user_with_root_only_cwd => Scenario::new()
        .config(set("/process/user", json!({"uid": 1000, "gid": 1000})))
        .config(set("/process/cwd", json!("/root")))
        .prepare(|s| {
            std::fs::create_dir_all(s.b.rootfs.join("root")).unwrap();
            crate::common::set_mode(&s.b.rootfs.join("root"), 0o700);
        })
        .run(report()),
    process_rlimits => Scenario::new()
        .config(set("/process/rlimits", json!([
            {"type": "RLIMIT_NOFILE", "hard": 2048, "soft": 512},
            {"type": "RLIMIT_CORE", "hard": 0, "soft": 0},
            {"type": "RLIMIT_NPROC", "hard": 300, "soft": 200}])))
        .run(report()),
    process_capabilities_reduced => Scenario::new()
        .config(set("/process/capabilities", json!({
            "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
            "effective": ["CAP_KILL"], "permitted": ["CAP_KILL", "CAP_CHOWN"],
            "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]})))
        .run(report()),
    process_unknown_capability => Scenario::new()
        .config(set("/process/capabilities", json!({
            "bounding": ["CAP_KILL", "CAP_NO_SUCH"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]})))
        .run(report().err(Err::Ignore)),
    process_no_new_privileges => Scenario::new()
        .config(set("/process/noNewPrivileges", json!(true)))
        .run(report()),
    process_oom_score_adj => Scenario::new()
        .config(set("/process/oomScoreAdj", json!(500)))
        .run(report()),
    process_terminal_console_socket => Scenario::new()
        .config(set("/process/terminal", json!(true)))
        .config(set("/process/user", json!({"uid": 1000, "gid": 1000})))
        .config(sh("tty; stat -c '%u:%g %a' $(tty)"))
        .run(cmd("create --console-socket {console} --bundle {bundle} {id}"))
        .run(cmd("start {id}"))
        .step(Step::Console),
    // root, hostname.
    root_readonly => Scenario::new().config(set("/root/readonly", json!(true))).run(report()),
    hostname_set => Scenario::new().config(set("/hostname", json!("differential"))).run(report()),
    hostname_with_kernel_hostname_sysctl_fails => Scenario::new()
        .config(set("/linux/sysctl", json!({"kernel.hostname": "other"})))
        .run(run().fails()),
    // mounts.
    mount_tmpfs_with_options => Scenario::new()
        .config(add_mount(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=1770", "uid=5", "gid=6"]})))
        .run(report()),
    mount_bind_dir_readonly => Scenario::new()
        .prepare(tmp_file("vol/file", "hello"))
        .config(add_mount(json!({"destination": "/vol", "type": "bind", "source": "{tmp}/vol",
            "options": ["rbind", "ro", "nosuid"]})))
        .run(report()),
    mount_bind_file => Scenario::new()
        .prepare(tmp_file("single", "hello"))
        .config(add_mount(json!({"destination": "/etc/single", "type": "none", "source": "{tmp}/single",
            "options": ["bind", "rprivate"]})))
        .config(sh("cat /etc/single; grep -c ' /etc/single ' /proc/self/mountinfo"))
        .run(run().out(Out::Text)),
    mount_bind_missing_source_fails => Scenario::new()
        .config(add_mount(json!({"destination": "/vol", "type": "bind", "source": "{tmp}/nonexistent",
            "options": ["rbind"]})))
        .run(run().fails()),
    mount_recursive_atime => Scenario::new()
        .prepare(tmp_file("vol/file", "hello"))
        .config(add_mount(json!({"destination": "/vol", "type": "bind", "source": "{tmp}/vol",
            "options": ["rbind", "rnorelatime"]})))
        .run(report()),
    // linux.
    ns_host_network => Scenario::new().config(without_ns("network")).run(report()),
    ns_cgroup_namespace => Scenario::new()
        .config(with_ns("cgroup"))
        .run(report()),
    ns_user_with_mappings => Scenario::new()
        .config(with_ns("user"))
        .config(set("/linux/uidMappings", json!([{"containerID": 0, "hostID": 100000, "size": 65536}])))
        .config(set("/linux/gidMappings", json!([{"containerID": 0, "hostID": 100000, "size": 65536}])))
        .prepare(|s| chown_tree(&s.b.rootfs, 100000))
        .run(report())
        // /dev/mqueue's group: runc's nsexec makes the IPC namespace as uid 0 of
        // the user namespace but with the runtime's unmapped gid (65534 inside);
        // corten as the container's root, 0:0.
        .differs("run.stdout.devices", Why::Documented, "/dev/mqueue group: 65534 with runc, 0 with corten"),
    linux_devices_extra => Scenario::new()
        .config(set("/linux/devices", json!([{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
            "fileMode": 0o640, "uid": 7, "gid": 8}])))
        .config(sh("ls -ln /dev/mynull | cut -c1-10,16-40; echo x > /dev/mynull && echo writable"))
        .run(run().out(Out::Text)),
    linux_devices_denied_by_rules => Scenario::new()
        .config(set("/linux/devices", json!([{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}])))
        .config(resources(json!({"devices": [{"allow": false, "access": "rwm"}]})))
        .config(sh("head -c0 /dev/kmsg 2>/dev/null && echo readable || echo denied"))
        .run(run().out(Out::Text)),
    resources_memory => Scenario::new()
        .config(resources(json!({"memory": {"limit": 134217728, "reservation": 67108864, "swap": 268435456}})))
        .config(args(&[PROBE, "sleep", "60"]))
        .run(cmd("run -d --bundle {bundle} {id}").label("run-d"))
        .cgroup("memory", "memory.limit_in_bytes")
        .cgroup("memory", "memory.soft_limit_in_bytes")
        .cgroup("memory", "memory.memsw.limit_in_bytes"),
    resources_cpu => Scenario::new()
        .config(resources(json!({"cpu": {"shares": 256, "quota": 20000, "period": 100000, "cpus": "0"}})))
        .config(args(&[PROBE, "sleep", "60"]))
        .run(cmd("run -d --bundle {bundle} {id}").label("run-d"))
        .cgroup("cpu", "cpu.shares")
        .cgroup("cpu", "cpu.cfs_quota_us")
        .cgroup("cpu", "cpu.cfs_period_us")
        .cgroup("cpuset", "cpuset.cpus"),
    resources_pids => Scenario::new()
        .config(resources(json!({"pids": {"limit": 17}})))
        .config(args(&[PROBE, "sleep", "60"]))
        .run(cmd("run -d --bundle {bundle} {id}").label("run-d"))
        .cgroup("pids", "pids.max"),
    resources_block_io_weight => Scenario::new()
        .config(resources(json!({"blockIO": {"weight": 300}})))
        .config(args(&[PROBE, "sleep", "60"]))
        .run(cmd("run -d --bundle {bundle} {id}").label("run-d").exit(Exit::Exact))
        .cgroup("blkio", "blkio.weight"),
    cgroups_path_explicit => Scenario::new()
        .config(cgroups_path)
        .config(args(&[PROBE, "sleep", "60"]))
        .run(cmd("run -d --bundle {bundle} {id}").label("run-d"))
        .look("pids in the memory cgroup", |s| {
            let p = std::path::Path::new("/sys/fs/cgroup/memory").join(s.cg.trim_start_matches('/'));
            lines_count(&std::fs::read_to_string(p.join("cgroup.procs")).unwrap_or_default())
        })
        .look("cgroup dir", |s| format!("{}", std::path::Path::new("/sys/fs/cgroup/pids").join(s.cg.trim_start_matches('/')).is_dir())),
    sysctl_net => Scenario::new()
        .config(set("/linux/sysctl", json!({"net.ipv4.ip_forward": "1", "net.ipv4.tcp_syncookies": "0"})))
        .config(sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/tcp_syncookies"))
        .run(run().out(Out::Text)),
    masked_and_readonly_paths => Scenario::new()
        .config(set("/linux/maskedPaths", json!(["/proc/kcore", "/etc/passwd", "/nonexistent"])))
        .config(set("/linux/readonlyPaths", json!(["/proc/sys", "/tmp"])))
        .run(report()),
    rootfs_propagation_private => Scenario::new()
        .config(set("/linux/rootfsPropagation", json!("private")))
        .run(report()),
    rootfs_propagation_shared => Scenario::new()
        .config(set("/linux/rootfsPropagation", json!("rshared")))
        .run(report())
        .differs("run.stdout.mounts", Why::Runc115,
            "rshared is applied to / after pivot_root as runc 1.2.7+ does (runc PR 4724); 1.1.5 leaves it private"),
    masked_then_readonly_order => Scenario::new()
        .config(sh("grep -o ' /proc/[a-z_]* ' /proc/self/mountinfo | tr -d ' '"))
        .run(run().out(Out::Text)),
    seccomp_errno_for_mkdir => Scenario::new()
        .config(set("/linux/seccomp", json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]})))
        .config(sh("mkdir /tmp/x 2>&1; echo $?; grep Seccomp: /proc/self/status"))
        .run(run().out(Out::Text)),
    hooks_see_the_state => Scenario::new()
        .config(|c, s| {
            let t = s.b.tmp.to_string_lossy();
            let hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {t}/{name}.json")]});
            c["annotations"] = json!({"z.last": "2", "a.first": "1"});
            c["hooks"] = json!({"prestart": [hook("prestart")], "createRuntime": [hook("createRuntime")],
                "createContainer": [hook("createContainer")],
                "poststart": [hook("poststart")], "poststop": [hook("poststop")]});
        })
        .run(run())
        .look("prestart", |s| state_view(&read_tmp(s, "prestart.json")))
        .look("createRuntime", |s| state_view(&read_tmp(s, "createRuntime.json")))
        .look("createContainer", |s| state_view(&read_tmp(s, "createContainer.json")))
        .look("poststart", |s| state_view(&read_tmp(s, "poststart.json")))
        .look("poststop", |s| state_view(&read_tmp(s, "poststop.json")))
        .differs("poststart", Why::Runc115,
            "runc 1.1.5 runs poststart at the end of create (\"created\"); runc since #5186 and corten in start (\"running\")"),
    hook_failing_fails_create => Scenario::new()
        .config(set("/hooks", json!({"prestart": [{"path": "/bin/false"}]})))
        .run(run().fails()),
    // SPEC-COVERAGE "Differences from runc", each as it shows.
    hook_relative_path => Scenario::new()
        .prepare(|s| {
            // runc 1.1.5 looks the path up from its cwd, the bundle.
            std::fs::create_dir_all(s.b.dir.join("bin")).unwrap();
            std::fs::copy("/bin/true", s.b.dir.join("bin/true")).unwrap();
        })
        .config(set("/hooks", json!({"prestart": [{"path": "bin/true"}]})))
        .config(args(&[PROBE, "exit", "0"]))
        .run(run().err(Err::Ignore))
        .differs("run", Why::Documented, "a relative hook path is refused"),
    domainname_without_uts_namespace => Scenario::new()
        .config(without_ns("uts"))
        .config(|c, _| {
            c.as_object_mut().unwrap().remove("hostname");
        })
        .config(set("/domainname", json!("example.org")))
        .config(args(&[PROBE, "exit", "0"]))
        .run(run().err(Err::Ignore))
        .differs("run", Why::Documented, "refused without a UTS namespace (as runc 1.2)"),
    kernel_hostname_sysctl_without_hostname => Scenario::new()
        .config(|c, _| {
            c.as_object_mut().unwrap().remove("hostname");
        })
        .config(set("/linux/sysctl", json!({"kernel.hostname": "viasysctl"})))
        .config(args(&["/bin/hostname"]))
        .run(run().out(Out::Text).err(Err::Ignore))
        .differs("run", Why::Documented, "allowed without a hostname field"),
    memory_kernel_tcp_ignored => Scenario::new()
        .config(resources(json!({"memory": {"kernelTCP": 33554432}})))
        .config(args(&[PROBE, "sleep", "60"]))
        .run(cmd("run -d --bundle {bundle} {id}").label("run-d").err(Err::Ignore))
        .cgroup("memory", "memory.kmem.tcp.limit_in_bytes"),
    state_root_not_made_by_a_lookup => Scenario::new()
        .run(cmd("--root {tmp}/fresh-root state nosuch").no_root().fails())
        .look("root made", |s| format!("{}", s.b.tmp.join("fresh-root").exists()))
        .differs("root made", Why::Documented, "only create makes the state root"),
    delete_force_of_a_stray_dir => Scenario::new()
        .prepare(tmp_file("state/stray/file", "not the runtime's"))
        .run(cmd("delete -f stray").exit(Exit::Ignore).err(Err::Ignore))
        .look("stray dir kept", |s| format!("{}", s.b.root.join("stray").exists()))
        .differs("stray dir kept", Why::Documented, "never delete what corten did not make"),
    exec_after_config_edit => running()
        .config(set("/process/env", json!(["PATH=/bin", "V=at-create"])))
        .look("edit config.json", |s| {
            let p = s.b.config_path();
            let t = std::fs::read_to_string(&p).unwrap().replace("V=at-create", "V=edited");
            std::fs::write(&p, t).unwrap();
            String::new()
        })
        .run(cmd("exec {id} /bin/sh -c").then(&["echo $V"]).out(Out::Text))
        .differs("exec.stdout", Why::Documented, "exec takes the process defaults saved at create"),
    // Issue 17's list, as far as a scenario shows it.
    exec_process_json_without_user => running()
        .prepare(tmp_file("process.json", r#"{"args": ["/bin/probe", "report"], "cwd": "/"}"#))
        .run(cmd("exec -p {tmp}/process.json {id}").out(Out::Report).err(Err::Ignore))
        .differs("exec.stdout.rlimits", Why::Documented, "runc gives an exec process its own limits (1.1.5 the NOFILE Go raised, 1.5 the caller's); corten the container's"),
    process_without_capabilities => Scenario::new()
        .config(|c: &mut Value, _: &Side| {
            c["process"].as_object_mut().map(|p| p.remove("capabilities"));
        })
        .run(report()),
    bind_file_onto_dangling_symlink => Scenario::new()
        .prepare(tmp_file("single", "hello"))
        .prepare(|s| std::os::unix::fs::symlink("/foo/bar/not/here", s.b.rootfs.join("etc/not-existing")).unwrap())
        .config(add_mount(json!({"destination": "/etc/not-existing", "type": "bind", "source": "{tmp}/single",
            "options": ["bind"]})))
        .config(sh("cat /foo/bar/not/here"))
        .run(run().out(Out::Text)),
    dev_readonly_path => Scenario::new()
        .config(set("/linux/readonlyPaths", json!(["/dev"])))
        .config(sh("ls /dev/pts >/dev/null && echo ok; touch /dev/x 2>/dev/null || echo ro"))
        .run(run().out(Out::Text)),
    proc_symlink_in_rootfs_refused => Scenario::new()
        .prepare(|s| {
            let p = s.b.rootfs.join("proc");
            let _ = std::fs::remove_dir(&p);
            std::fs::create_dir_all(s.b.rootfs.join("realproc")).unwrap();
            std::os::unix::fs::symlink("/realproc", p).unwrap();
        })
        .run(run().fails()),
    masked_path_symlink_loop_fails => Scenario::new()
        .prepare(|s| std::os::unix::fs::symlink("loop", s.b.rootfs.join("loop")).unwrap())
        .config(set("/linux/maskedPaths", json!(["/loop"])))
        .run(run().fails()),
    hook_without_env_gets_runtime_env => Scenario::new()
        .config(|c, s| {
            let t = s.b.tmp.to_string_lossy();
            c["hooks"] = json!({"createContainer": [{"path": "/bin/sh",
                "args": ["sh", "-c", format!("echo ${{HOOKVAR:-unset}} > {t}/hookenv; pwd > {t}/hookcwd")]}]});
        })
        .config(args(&[PROBE, "exit", "0"]))
        .run(run().env("HOOKVAR", "from-the-runtime"))
        .look("hook env", |s| read_tmp(s, "hookenv"))
        .look("hook cwd", |s| read_tmp(s, "hookcwd")),
    annotations_in_state => created()
        .config(set("/annotations", json!({"org.example/key": "value", "b": "2"})))
        .run(state()),
}

/// A spec as a sorted JSON value, with the hostname and version masked.
fn spec_view(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(mut v) => {
            v["hostname"] = json!("<hostname>");
            v["ociVersion"] = json!("<version>");
            serde_json::to_string_pretty(&v).unwrap_or_default()
        }
        Err(_) => format!("not JSON: {text}"),
    }
}

/// A hook's stdin state with the pid, version and times masked.
fn state_view(text: &str) -> String {
    super::json_view(text, STATE)
}

/// `--version`: the "NAME version X" line and the "spec:" line callers parse
/// (runc's commit, go and libseccomp lines are its own).
fn version_view(text: &str) -> String {
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                [_, "version", _, ..] => Some("NAME version X".to_string()),
                ["spec:", _] => Some("spec: X".to_string()),
                _ => None,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `features` run once more, with one part of its document compared.
fn features(part: &str, view: fn(&Value) -> String) -> Cmd {
    cmd("features")
        .no_root()
        .label(&format!("features-{part}"))
        .out(Out::JsonNorm(view))
}

/// A `--log-format json` file: each line's keys.
fn log_view(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match serde_json::from_str::<Value>(l) {
            Ok(Value::Object(o)) => {
                format!("{:?} level={}", o.keys().collect::<Vec<_>>(), o["level"])
            }
            _ => format!("not JSON: {l}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Gives the rootfs copy to `uid`:`uid` (a user namespace's root).
fn chown_tree(dir: &std::path::Path, uid: u32) {
    let st = std::process::Command::new("chown")
        .args(["-R", "-h", &format!("{uid}:{uid}")])
        .arg(dir)
        .status()
        .expect("run chown");
    assert!(st.success(), "chown -R {}", dir.display());
}
