//! `exec`: a process joins a running container, with the container's
//! namespaces, cgroup and security settings unless told otherwise.

mod common;

use std::fs;
use std::io::Write;

use common::*;
use serde_json::{json, Value};

/// A running container whose init waits for a signal.
fn running(b: &mut Bundle) -> (String, Spawned) {
    b.config_mut(with_cgroup_ns);
    b.set_args(&[PROBE, "wait-signal"]);
    let id = b.id();
    b.create(&id);
    let spawned = b.call(&["start", &id]).spawn();
    b.wait_status(&id, "running");
    (id, spawned)
}

fn exec_report(b: &Bundle, id: &str, flags: &[&str]) -> Value {
    let mut args = vec!["exec"];
    args.extend_from_slice(flags);
    args.extend([id, PROBE, "report"]);
    let out = b.corten(&args);
    out.ok();
    last_json(&out.stdout)
}

fn init_report(b: &Bundle, id: &str) -> (i32, Value) {
    let pid = b.pid(id);
    let ns: serde_json::Map<String, Value> = fs::read_dir(format!("/proc/{pid}/ns"))
        .unwrap()
        .flatten()
        .map(|e| {
            let t = fs::read_link(e.path()).unwrap();
            (
                e.file_name().into_string().unwrap(),
                json!(t.to_string_lossy()),
            )
        })
        .collect();
    (pid, Value::Object(ns))
}

#[test]
fn exec_joins_the_containers_namespaces_and_cgroup() {
    let mut b = Bundle::new("exec-ns");
    let (id, _init) = running(&mut b);
    let r = exec_report(&b, &id, &[]);
    let (pid, init_ns) = init_report(&b, &id);
    for kind in ["mnt", "net", "ipc", "uts", "pid", "cgroup"] {
        assert_eq!(r["ns"][kind], init_ns[kind], "{kind} namespace");
    }
    // In the container's cgroup namespace, its own cgroup is the root: a
    // process outside the container's cgroup would see "/.." paths.
    let seen = r["cgroup"].as_str().unwrap().to_string();
    assert!(seen.lines().all(|l| l.ends_with(":/")), "{seen}");
    let host_view = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(
        host_view.contains(&id),
        "the init's cgroup is the container's: {host_view}"
    );
    assert_eq!(
        r["ppid"], 0,
        "born in the container's pid namespace from outside it"
    );
    assert!(r["pid"].as_i64().unwrap() > 1);
    assert_eq!(r["cwd"], "/");
    b.delete_force(&id);
    b.assert_clean(&id);
}

/// Issue 17: without a cgroup namespace, an exec'd process sees the
/// container's cgroup path in /proc/self/cgroup, the init's own line for
/// line: it is in the container's cgroup in every v1 hierarchy and in the
/// unified one, also as an unprivileged user and at the pids limit.
#[test]
fn exec_without_a_cgroup_namespace_sees_the_containers_cgroup_path() {
    let mut b = Bundle::new("exec-cg-path");
    b.config_mut(|c| {
        let namespaces = c["linux"]["namespaces"].as_array_mut().unwrap();
        namespaces.retain(|n| n["type"] != "cgroup");
        c["linux"]["cgroupsPath"] = json!(format!("/corten-it-exec-cg/{}", std::process::id()));
    });
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    b.create_start(&id);
    let init = fs::read_to_string(format!("/proc/{}/cgroup", b.pid(&id))).unwrap();
    assert!(
        init.lines().all(|l| l.contains("/corten-it-exec-cg/")),
        "{init}"
    );
    let exec_sees_init = |why: &str| {
        for user in [&[][..], &["--user", "1000:1000"]] {
            let mut args = vec!["exec"];
            args.extend_from_slice(user);
            args.extend([id.as_str(), "cat", "/proc/self/cgroup"]);
            let out = b.corten(&args);
            out.ok();
            assert_eq!(out.stdout, init, "exec {user:?}, {why}");
        }
    };
    exec_sees_init("born in the cgroup");
    // At the pids limit the process is moved in by pid instead.
    if !skip_if_runc("runc's exec starts Go threads in the cgroup: at the limit they fail") {
        b.corten(&["update", "--pids-limit", "1", &id]).ok();
        exec_sees_init("at the pids limit");
    }
    b.delete_force(&id);
    for c in [
        "memory", "cpu", "cpuacct", "cpuset", "pids", "devices", "freezer", "blkio", "systemd",
        "unified", "",
    ] {
        let _ = fs::remove_dir(format!("/sys/fs/cgroup/{c}/corten-it-exec-cg"));
    }
    b.assert_clean(&id);
}

/// The process's exit status passes through; exec's own failures (a
/// missing command among them) exit 255, as runc's, so a caller can tell
/// them apart (issue 17).
#[test]
fn exit_status_passes_through_and_execs_own_failures_are_255() {
    let mut b = Bundle::new("exec-status");
    let (id, _init) = running(&mut b);
    b.corten(&["exec", &id, "sh", "-c", "exit 7"]).code_is(7);
    b.corten(&["exec", &id, "sh", "-c", "kill -9 $$"])
        .code_is(128 + 9);
    b.corten(&["exec", &id, "/no/such/cmd"])
        .fails_with(255, "no such file or directory");
    b.corten(&["exec", &id])
        .fails_with(255, "process args cannot be empty");
    b.delete_force(&id);
    b.assert_clean(&id);
}

#[test]
fn flags_change_the_configs_process() {
    let mut b = Bundle::new("exec-flags");
    b.config_mut(|c| c["process"]["env"] = json!(["PATH=/bin", "A=config"]));
    let (id, _init) = running(&mut b);
    let r = exec_report(
        &b,
        &id,
        &[
            "-e",
            "B=flag",
            "--cwd",
            "/tmp",
            "-u",
            "1000:1001",
            "-g",
            "5,6",
            "--no-new-privs",
            "--cap",
            "CAP_KILL",
        ],
    );
    assert_eq!(
        (r["env"]["A"].clone(), r["env"]["B"].clone()),
        (json!("config"), json!("flag"))
    );
    assert_eq!(r["cwd"], "/tmp");
    assert_eq!(
        (r["uid"].clone(), r["gid"].clone()),
        (json!(1000), json!(1001))
    );
    assert_eq!(r["groups"], json!([5, 6]));
    assert_eq!(r["status"]["NoNewPrivs"], "1");
    // The config's own process is untouched for the next exec.
    let r = exec_report(&b, &id, &[]);
    assert_eq!(
        (r["uid"].clone(), r["env"]["B"].clone()),
        (json!(0), Value::Null)
    );
    b.delete_force(&id);
}

#[test]
fn process_json_replaces_the_configs_process() {
    let mut b = Bundle::new("exec-process");
    let (id, _init) = running(&mut b);
    let path = b.root.join("process.json");
    let process = json!({
        "args": [PROBE, "report"], "cwd": "/etc", "env": ["ONLY=this"],
        "user": {"uid": 7, "gid": 8}, "noNewPrivileges": true,
        "capabilities": {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"]},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 321, "soft": 123}]
    });
    fs::write(&path, process.to_string()).unwrap();
    let out = b.corten(&["exec", "--process", path.to_str().unwrap(), &id]);
    out.ok();
    let r = last_json(&out.stdout);
    // HOME from the container's /etc/passwd, or "/", as runc adds it.
    assert_eq!(r["env"], json!({"ONLY": "this", "HOME": "/"}));
    assert_eq!(
        (r["cwd"].clone(), r["uid"].clone(), r["gid"].clone()),
        (json!("/etc"), json!(7), json!(8))
    );
    assert_eq!(r["status"]["CapBnd"], "0000000000000001");
    assert_eq!(r["rlimits"]["RLIMIT_NOFILE"], json!([123, 321]));
    b.delete_force(&id);
}

#[test]
fn detached_exec_writes_its_pid_and_outlives_the_runtime() {
    let mut b = Bundle::new("exec-detach");
    let (id, _init) = running(&mut b);
    let pidfile = b.root.join("exec.pid");
    b.corten(&[
        "exec",
        "-d",
        "--pid-file",
        pidfile.to_str().unwrap(),
        &id,
        "sleep",
        "30",
    ])
    .ok();
    let pid: i32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let ns = |p: i32| fs::read_link(format!("/proc/{p}/ns/pid")).unwrap();
    assert_eq!(ns(pid), ns(b.pid(&id)), "in the container");
    let ps = b.corten(&["ps", "-f", "json", &id]);
    ps.ok();
    assert!(
        ps.json().as_array().unwrap().contains(&json!(pid)),
        "in its cgroup"
    );
    // delete --force takes it with the container.
    b.delete_force(&id);
    b.assert_clean(&id);
}

#[test]
fn signals_reach_a_foreground_exec() {
    let mut b = Bundle::new("exec-signal");
    let (id, _init) = running(&mut b);
    let mut call = b.call(&["exec", &id, PROBE, "wait-signal"]).spawn();
    call.wait_stdout("ready");
    sys_kill(call.pid(), libc::SIGUSR1);
    let out = call.wait();
    out.code_is(100 + libc::SIGUSR1);
    assert!(out.stdout.contains(&format!("signal {}", libc::SIGUSR1)));
    b.delete_force(&id);
}

fn sys_kill(pid: i32, sig: i32) {
    // SAFETY: the test signals a process it started.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

/// The runtime, waiting for an exec process, stays in its own cgroups
/// (the init's runtime steps into the container's for the clone, the
/// exec's does not): inside, it would count against the container's limits,
/// be frozen with it and die with it.
#[test]
fn exec_runtime_is_not_left_in_the_containers_cgroup() {
    let mut b = Bundle::new("exec-cg-out");
    let (id, _init) = running(&mut b);
    let mut call = b.call(&["exec", &id, PROBE, "wait-signal"]).spawn();
    call.wait_stdout("ready");
    let cgroups_of = |pid: &str| fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert_eq!(cgroups_of(&call.pid().to_string()), cgroups_of("self"));
    b.delete_force(&id);
    call.wait();
    b.assert_clean(&id);
}

/// Regression (review): an exec cloned straight into the container's
/// cgroup failed at the pids limit ("clone3: resource temporarily
/// unavailable"); a shell into a full container is how one looks around.
#[test]
fn exec_into_a_container_at_its_pids_limit() {
    let mut b = Bundle::new("exec-pids-full");
    b.config_mut(|c| c["linux"]["resources"] = serde_json::json!({"pids": {"limit": 2}}));
    b.set_sh("sleep 1000 & wait");
    let id = b.id();
    b.create(&id);
    let _start = b.call(&["start", &id]).spawn();
    b.wait_status(&id, "running");
    // sh and sleep: the container is full.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while b
        .corten(&["ps", "--format", "json", &id])
        .stdout
        .matches(',')
        .count()
        < 1
    {
        assert!(std::time::Instant::now() < deadline, "sleep did not start");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    b.corten(&["exec", &id, "true"]).ok();
    b.delete_force(&id);
    b.assert_clean(&id);
}

/// Regression (review): where `tasks` is not writable but `cgroup.procs`
/// is (a delegation of cgroup.procs only), exec failed opening `tasks`; it
/// falls back to the move by pid, which needs only cgroup.procs.
#[test]
fn exec_where_tasks_is_not_writable_moves_by_pid() {
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        return; // cgroup v2 has no tasks file.
    }
    let mut b = Bundle::new("exec-no-tasks");
    let (id, _init) = running(&mut b);
    let (pid, _) = init_report(&b, &id);
    let own = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let path = own
        .lines()
        .find_map(|l| {
            l.strip_prefix(|c: char| c.is_ascii_digit())?
                .strip_prefix(":pids:")
        })
        .expect("a pids hierarchy");
    let tasks = std::path::Path::new("/sys/fs/cgroup/pids")
        .join(path.trim_start_matches('/'))
        .join("tasks");
    let mode = |m| fs::set_permissions(&tasks, std::os::unix::fs::PermissionsExt::from_mode(m));
    mode(0o444).unwrap();
    let out = b
        .call(&["exec", &id, "cat", "/proc/self/cgroup"])
        .without_dac_override()
        .output();
    mode(0o644).unwrap();
    out.ok();
    assert!(
        out.stdout.lines().all(|l| l.ends_with(":/")),
        "{}",
        out.stdout
    );
    b.delete_force(&id);
    b.assert_clean(&id);
}

#[test]
fn exec_is_refused_in_a_stopped_paused_or_unknown_container() {
    let mut b = Bundle::new("exec-states");
    let (id, _init) = running(&mut b);
    b.corten(&["pause", &id]).ok();
    b.corten(&["exec", &id, "true"]).fails_with(255, "paused");
    // --ignore-paused: it starts, frozen with the container, until resumed.
    let mut frozen = b
        .call(&["exec", "--ignore-paused", &id, "sh", "-c", "echo thawed"])
        .spawn();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!frozen.stdout_so_far().contains("thawed"));
    b.corten(&["resume", &id]).ok();
    frozen.wait_stdout("thawed");
    b.kill(&id, "KILL");
    b.wait_status(&id, "stopped");
    b.corten(&["exec", &id, "true"])
        .fails_with(255, "cannot exec in a stopped container");
    b.delete(&id);
    b.corten(&["exec", &id, "true"])
        .fails_with(255, "does not exist");
    b.assert_clean(&id);
}

#[test]
fn seccomp_applies_to_exec() {
    let mut b = Bundle::new("exec-seccomp");
    b.config_mut(|c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]});
    });
    let (id, _init) = running(&mut b);
    let out = b.corten(&["exec", &id, PROBE, "syscall", "121", "0"]);
    out.ok();
    assert_eq!(last_json(&out.stdout), json!({"errno": 42}));
    b.delete_force(&id);
}

#[test]
fn preserve_fds_pass_to_the_exec_process() {
    let mut b = Bundle::new("exec-fds");
    let (id, _init) = running(&mut b);
    let path = b.root.join("passed");
    let mut f = fs::File::create(&path).unwrap();
    f.write_all(b"x").unwrap();
    let out = b
        .call(&["exec", "--preserve-fds", "1", &id, PROBE, "report"])
        .pass_fd(&f, 3)
        .spawn()
        .wait();
    out.ok();
    let fds = last_json(&out.stdout)["fds"].clone();
    let listed: Vec<i64> = fds
        .as_object()
        .unwrap()
        .keys()
        .filter_map(|k| k.parse().ok())
        .collect();
    assert!(listed.contains(&3), "fd 3 passed: {fds}");
    assert!(
        !listed.iter().any(|&fd| fd > 3),
        "nothing else leaks: {fds}"
    );
    b.delete_force(&id);
}

/// CVE-2019-5736 through exec: the process that joins the container is a
/// clone of a runtime running from the sealed copy of its binary.
#[test]
fn cve_2019_5736_exec_runtime_exe_cannot_be_written() {
    if is_runc() {
        return;
    }
    let mut b = Bundle::new("exec-5736");
    let (id, _init) = running(&mut b);
    let mut call = b.call(&["exec", &id, PROBE, "wait-signal"]).spawn();
    call.wait_stdout("ready");
    let exe = format!("/proc/{}/exe", call.pid());
    let err = fs::OpenOptions::new()
        .write(true)
        .open(&exe)
        .and_then(|mut f| f.write_all(b"#!/bin/sh\n"))
        .expect_err("the runtime's binary must not be writable");
    assert!(
        matches!(
            err.raw_os_error(),
            Some(libc::EROFS | libc::EPERM | libc::ETXTBSY)
        ),
        "{err}"
    );
    sys_kill(call.pid(), libc::SIGTERM);
    call.wait();
    b.delete_force(&id);
}

/// Reads the pid a pidfd names, from /proc/self/fdinfo.
fn pid_of_pidfd(fd: &std::os::fd::OwnedFd) -> i32 {
    use std::os::fd::AsRawFd;
    let info = fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn pidfd_socket_gets_a_pidfd_of_the_init_and_of_an_exec() {
    use std::os::fd::AsFd;
    let mut b = Bundle::new("pidfd");
    b.set_args(&[PROBE, "wait-signal"]);
    let sock = b.root.join("pidfd.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let receive = move |n: usize| {
        std::thread::spawn(move || {
            let mut got = Vec::new();
            for _ in 0..n {
                let (conn, _) = listener.accept().unwrap();
                let mut buf = [0u8; 64];
                let (_, fd) = sys::socket::recv_with_fd(conn.as_fd(), &mut buf).unwrap();
                got.push(pid_of_pidfd(&fd.expect("a pidfd")));
            }
            got
        })
    };
    let agent = receive(2);
    let id = b.id();
    let sock_str = sock.to_str().unwrap().to_string();
    b.corten(&[
        "create",
        "--pidfd-socket",
        &sock_str,
        "--bundle",
        &b.dir_str(),
        &id,
    ])
    .ok();
    let pidfile = b.root.join("exec.pid");
    b.corten(&[
        "exec",
        "-d",
        "--pidfd-socket",
        &sock_str,
        "--pid-file",
        pidfile.to_str().unwrap(),
        &id,
        "sleep",
        "30",
    ])
    .ok();
    let got = agent.join().unwrap();
    let exec_pid: i32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(got, vec![b.pid(&id), exec_pid]);
    b.delete_force(&id);
    b.assert_clean(&id);
    // Nobody listening: the create is undone.
    let nobody = b.root.join("nobody.sock");
    b.corten(&[
        "create",
        "--pidfd-socket",
        nobody.to_str().unwrap(),
        "--bundle",
        &b.dir_str(),
        &id,
    ])
    .fails_with(1, "connecting to the pidfd socket");
    b.assert_clean(&id);
}

#[test]
fn exec_cgroup_joins_a_sub_cgroup() {
    let mut b = Bundle::new("exec-subcg");
    let (id, _init) = running(&mut b);
    let pid = b.pid(&id);
    let host_view = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    // cgroup v2 (hack/cgv2-vm.sh): one hierarchy, paths without controllers.
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let (prefix, mount) = if v2 {
        ("0::", "/sys/fs/cgroup")
    } else {
        (":pids:", "/sys/fs/cgroup/pids")
    };
    let own = host_view
        .lines()
        .find_map(|l| l.split_once(prefix).map(|(_, p)| p.to_string()))
        .expect("the container's cgroup");
    let sub = std::path::PathBuf::from(mount)
        .join(own.trim_start_matches('/'))
        .join("sub");
    fs::create_dir(&sub).unwrap();
    let arg = if v2 { "sub" } else { "pids:sub" };
    let out = b.corten(&["exec", "--cgroup", arg, &id, "cat", "/proc/self/cgroup"]);
    out.ok();
    let line = |needle: &str| {
        out.stdout
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} line: {}", out.stdout))
            .to_string()
    };
    assert!(
        line(prefix).ends_with(&format!("{prefix}/sub")),
        "{}",
        out.stdout
    );
    if v2 {
        b.corten(&["exec", "--cgroup", "pids:sub", &id, "true"])
            .fails_with(255, "takes no controller");
    } else {
        assert!(
            line(":memory:").ends_with(":memory:/"),
            "other controllers stay: {}",
            out.stdout
        );
        // A controller the host has no hierarchy for, as runc (issue 17).
        b.corten(&["exec", "--cgroup", "nosuch:sub", &id, "true"])
            .fails_with(255, "unknown controller nosuch");
    }
    b.corten(&["exec", "--cgroup", "nosuch", &id, "true"])
        .fails_with(255, "no such sub-cgroup");
    fs::remove_dir(&sub).unwrap();
    b.delete_force(&id);
    b.assert_clean(&id);
}

/// Regression (review): exec took the init's root, so an init that had
/// chrooted itself (an entrypoint that runs `chroot`) took every exec
/// into its chroot. With a mount namespace of its own, an exec lands in
/// the container's root, as with runc.
#[test]
fn exec_lands_in_the_containers_root_when_the_init_chrooted() {
    let mut b = Bundle::new("exec-chroot");
    b.config_mut(|c| {
        c["root"]["readonly"] = json!(false);
        grant_cap(c, "CAP_SYS_CHROOT");
    });
    b.set_sh("mkdir -p /inner/bin && cp /bin/busybox /inner/bin/ && exec chroot /inner /bin/busybox sleep 30");
    let id = b.id();
    b.create_start(&id);
    wait_until("the init's chroot", WAIT_TIMEOUT, || {
        fs::read_link(format!("/proc/{}/root", b.pid(&id))).is_ok_and(|r| r.ends_with("inner"))
    });
    let out = b.corten(&[
        "exec",
        &id,
        "sh",
        "-c",
        "test -e /bin/probe && echo container-root",
    ]);
    out.ok();
    assert_eq!(out.stdout.trim(), "container-root");
    b.delete_force(&id);
    b.assert_clean(&id);
}

/// `exec --env NAME=...` for a name the config sets replaces its value, as
/// runc's does: one entry, which getenv() and a shell read alike.
#[test]
fn exec_env_replaces_the_configs_value_of_the_same_name() {
    let mut b = Bundle::new("execenv");
    b.config_mut(|c| {
        c["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!("MY_VAR=from_spec"));
    });
    let (id, _init) = running(&mut b);
    let out = b.corten(&["exec", "--env", "MY_VAR=from_cli", &id, "env"]);
    out.ok();
    let mine: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("MY_VAR="))
        .collect();
    assert_eq!(mine, ["MY_VAR=from_cli"], "{}", out.stdout);
    b.delete_force(&id);
}

/// A process JSON without `user` runs as uid 0 and gid 0, as runc's exec
/// takes it (Go's zero value), not refused.
#[test]
fn process_json_without_user_runs_as_root() {
    let mut b = Bundle::new("exec-nouser");
    let (id, _init) = running(&mut b);
    let path = b.root.join("process.json");
    let process =
        json!({"args": ["/bin/sh", "-c", "echo $(/bin/id -u):$(/bin/id -g)"], "cwd": "/"});
    fs::write(&path, process.to_string()).unwrap();
    let out = b.corten(&["exec", "--process", path.to_str().unwrap(), &id]);
    out.ok();
    assert_eq!(out.stdout.trim(), "0:0");
    b.delete_force(&id);
}

/// The capability line `name` of /proc/self/status as the process sees it.
fn cap_line<'a>(status: &'a str, name: &str) -> &'a str {
    status
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_default()
        .trim()
}

/// Regression: a process file without `capabilities` ran with every
/// capability root has; runc gives it the container's, as it gives the
/// container's rlimits.
#[test]
fn process_json_without_capabilities_gets_the_containers() {
    let mut b = Bundle::new("exec-nocaps");
    b.config_mut(|c| {
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"],
            "permitted": ["CAP_KILL"]});
        c["process"]["noNewPrivileges"] = json!(true);
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 123, "soft": 45}]);
    });
    let (id, _init) = running(&mut b);
    let path = b.root.join("process.json");
    let process = json!({"args": ["/bin/sh", "-c", "grep -E '^(Cap|NoNewPrivs)' /proc/self/status; ulimit -n"],
        "cwd": "/", "user": {"uid": 0, "gid": 0}});
    fs::write(&path, process.to_string()).unwrap();
    let out = b.corten(&["exec", "--process", path.to_str().unwrap(), &id]);
    out.ok();
    let s = out.stdout.as_str();
    // The container's bounding set; uid 0 without no_new_privs gains all
    // of it at execve (the kernel's rule for root).
    assert_eq!(cap_line(s, "CapBnd:"), "CapBnd:\t0000000000000021", "{s}");
    assert_eq!(cap_line(s, "CapEff:"), "CapEff:\t0000000000000021", "{s}");
    // runc reads a missing noNewPrivileges as false, not as the container's.
    assert_eq!(cap_line(s, "NoNewPrivs:"), "NoNewPrivs:\t0", "{s}");
    if !skip_if_runc(
        "runc gives an exec process the runtime's own limits (1.1.5: the NOFILE Go raised; 1.5.1: the caller's)",
    ) {
        assert_eq!(s.lines().last(), Some("45"), "the container's rlimits: {s}");
    }
    b.delete_force(&id);
}
