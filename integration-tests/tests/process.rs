//! The container process: args, env, cwd, user, umask, stdio, fds, rlimits, exit status and
//! signals.

mod common;

use std::collections::BTreeSet;
use std::fs::File;

use common::*;
use serde_json::{json, Value};

#[test]
fn args_are_passed_verbatim() {
    let mut b = Bundle::new("args");
    // $0 is "zero"; the rest keep their spaces and the empty one.
    b.set_args(&[
        "/bin/sh",
        "-c",
        "printf '[%s]' \"$0\" \"$@\"",
        "zero",
        "a b",
        "",
        "c",
    ]);
    assert_eq!(b.run_ok(), "[zero][a b][][c]");
    let r = b.run_report();
    assert_eq!(r["args"], json!([PROBE, "report"]));
}

#[test]
fn env_is_exactly_the_config() {
    let mut b = Bundle::new("env");
    let env = [
        "PATH=/bin:/usr/bin",
        "HOME=/home/x",
        "FOO=bar baz",
        "EMPTY=",
        "EQ=a=b",
    ];
    b.config_mut(|c| c["process"]["env"] = json!(env));
    let r = b.run_report();
    let want: serde_json::Map<String, Value> = env
        .iter()
        .map(|e| {
            let (k, v) = e.split_once('=').expect("KEY=VALUE");
            (k.to_string(), json!(v))
        })
        .collect();
    assert_eq!(r["env"], Value::Object(want));
}

#[test]
fn path_lookup_uses_config_path() {
    let mut b = Bundle::new("pathlookup");
    b.config_mut(|c| c["process"]["env"] = json!(["PATH=/bin", "HOME=/"]));
    b.set_args(&["probe", "exit", "0"]);
    b.run_ok();
}

#[test]
fn cwd_is_created_when_missing() {
    let mut b = Bundle::new("cwd");
    assert!(!b.rootfs.join("work").exists());
    b.config_mut(|c| c["process"]["cwd"] = json!("/work/sub/dir"));
    let r = b.run_report();
    assert_eq!(r["cwd"], "/work/sub/dir");
}

/// The cwd is entered with root's permissions before the user switch, as
/// runc does: a user may have a 0700 root directory as its cwd (issue 17).
#[test]
fn cwd_the_user_may_not_search_is_entered_before_the_user_switch() {
    let mut b = Bundle::new("cwdroot");
    let dir = b.rootfs.join("private");
    std::fs::create_dir_all(&dir).unwrap();
    set_mode(&dir, 0o700);
    b.config_mut(|c| {
        c["process"]["cwd"] = json!("/private");
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    });
    b.set_sh("pwd; id -u");
    assert_eq!(b.run_ok(), "/private\n1000\n");
}

#[test]
fn cwd_with_dotdot_stays_inside_rootfs() {
    let mut b = Bundle::new("cwddotdot");
    b.config_mut(|c| c["process"]["cwd"] = json!("/../../etc"));
    let r = b.run_report();
    assert_eq!(r["cwd"], "/etc");
}

#[test]
fn user_ids_and_groups() {
    let mut b = Bundle::new("user");
    b.config_mut(|c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1001, "additionalGids": [20, 10]});
    });
    let r = b.run_report();
    assert_eq!(
        (r["uid"].as_u64(), r["euid"].as_u64()),
        (Some(1000), Some(1000)),
        "{r}"
    );
    assert_eq!(
        (r["gid"].as_u64(), r["egid"].as_u64()),
        (Some(1001), Some(1001)),
        "{r}"
    );
    let groups: BTreeSet<u64> = r["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(
        groups,
        BTreeSet::from([10, 20]),
        "supplementary groups: {}",
        r["groups"]
    );
}

#[test]
fn umask_from_config() {
    let mut b = Bundle::new("umask");
    b.config_mut(|c| c["process"]["user"]["umask"] = json!(0o027));
    assert_eq!(b.run_report()["umask"], 0o027);
}

#[test]
fn stdio_is_inherited() {
    let mut b = Bundle::new("stdio");
    // stdin is /dev/null for the runtime: cat sees EOF at once.
    b.set_sh("cat; echo to-stdout; echo to-stderr >&2");
    let id = b.id();
    let out = b.run(&id);
    out.ok();
    assert_eq!(out.stdout, "to-stdout\n");
    assert_eq!(
        out.stderr, "to-stderr\n",
        "only the container's stderr, nothing from the runtime"
    );
    b.assert_clean(&id);
}

#[test]
fn stdio_pipes_belong_to_the_process_user_so_dev_stdin_reopens() {
    let mut b = Bundle::new("stdio-owner");
    b.config_mut(|c| c["process"]["user"] = json!({"uid": 1000, "gid": 1000}));
    // /dev/stdin is a reopen of the pipe: a 0600 pipe of root's refuses
    // uid 1000 unless the pipe was given to it, as runc gives it.
    b.set_sh("cat /dev/stdin; stat -L -c %u:%g /proc/self/fd/0 /proc/self/fd/1");
    let (rx, tx) = std::io::pipe().unwrap();
    let mut tx = File::from(std::os::fd::OwnedFd::from(tx));
    std::io::Write::write_all(&mut tx, b"through-the-pipe\n").unwrap();
    drop(tx);
    let id = b.id();
    let dir = b.dir_str();
    let out = b
        .call(&["run", "--bundle", &dir, &id])
        .stdin_from(File::from(std::os::fd::OwnedFd::from(rx)))
        .output();
    out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"through-the-pipe"), "{}", out.stdout);
    assert_eq!(lines.get(1), Some(&"1000:0"), "the pipe's owner");
    // stdout is a file of the caller's (runc's foreground run puts a pipe
    // of its own between): a host file is never given to the container.
    if !skip_if_runc("runc relays a foreground run's stdout through its own pipe") {
        assert_eq!(lines.get(2), Some(&"0:0"), "the caller's file is untouched");
    }
    b.assert_clean(&id);
}

#[test]
fn only_stdio_fds_are_open() {
    let mut b = Bundle::new("fds");
    let r = b.run_report();
    assert_eq!(
        open_fds(&r),
        BTreeSet::from([0, 1, 2]),
        "fds in the container: {}",
        r["fds"]
    );
}

/// Files in the test's directory, open, to pass as descriptors.
fn files_to_pass(b: &Bundle, names: &[&str]) -> Vec<File> {
    names
        .iter()
        .map(|n| {
            let p = b.tmp.join(n);
            std::fs::write(&p, "x").expect("write");
            File::open(&p).expect("open")
        })
        .collect()
}

#[test]
fn preserve_fds() {
    let mut b = Bundle::new("preservefds");
    let files = files_to_pass(&b, &["fd3.txt", "fd4.txt", "fd5.txt"]);
    b.set_args(&[PROBE, "report"]);
    let id = b.id();
    let out = b
        .call(&["run", "--preserve-fds", "2", "--bundle", &b.dir_str(), &id])
        .pass_fd(&files[0], 3)
        .pass_fd(&files[1], 4)
        .pass_fd(&files[2], 5)
        .output();
    out.ok();
    let r = last_json(&out.stdout);
    assert_eq!(
        open_fds(&r),
        BTreeSet::from([0, 1, 2, 3, 4]),
        "fds: {}",
        r["fds"]
    );
    for (fd, name) in [("3", "fd3.txt"), ("4", "fd4.txt")] {
        let target = r["fds"][fd].as_str().unwrap_or_default();
        assert!(
            target.ends_with(name),
            "fd {fd} is {target:?}, expected our {name}"
        );
    }
    b.assert_clean(&id);
}

#[test]
fn rlimits_from_config() {
    let mut b = Bundle::new("rlimits");
    b.config_mut(|c| {
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 2048}]);
    });
    assert_eq!(
        b.run_report()["rlimits"]["RLIMIT_NOFILE"],
        json!([512, 2048])
    );
}

#[test]
fn no_new_privileges() {
    let mut b = Bundle::new("nnp");
    b.config_mut(|c| c["process"]["noNewPrivileges"] = json!(true));
    assert_eq!(b.run_report()["status"]["NoNewPrivs"], "1");
    b.config_mut(|c| c["process"]["noNewPrivileges"] = json!(false));
    assert_eq!(b.run_report()["status"]["NoNewPrivs"], "0");
}

#[test]
fn oom_score_adj() {
    let mut b = Bundle::new("oomadj");
    b.config_mut(|c| c["process"]["oomScoreAdj"] = json!(123));
    assert_eq!(b.run_report()["oom_score_adj"], 123);
}

#[test]
fn run_passes_exit_status() {
    let mut b = Bundle::new("exitstatus");
    for code in [0, 7, 255] {
        b.set_args(&[PROBE, "exit", &code.to_string()]);
        let id = b.id();
        b.run(&id).code_is(code);
        b.assert_clean(&id);
    }
}

#[test]
fn run_reports_signal_death_as_128_plus_signal() {
    let mut b = Bundle::new("sigdeath");
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    let run = b.spawn_run(&id);
    let mut pid = 0;
    wait_until("the container to be running", WAIT_TIMEOUT, || {
        let out = b.corten(&["state", &id]);
        if out.code != Some(0) {
            return false;
        }
        let st = out.json();
        pid = st["pid"].as_i64().unwrap_or(0) as i32;
        st["status"] == "running" && pid > 0
    });
    send_signal(pid, libc::SIGKILL);
    run.wait().code_is(128 + libc::SIGKILL);
    b.assert_clean(&id);
}

#[test]
fn run_forwards_signals_to_the_container() {
    let mut b = Bundle::new("sigforward");
    b.set_args(&[PROBE, "wait-signal"]);
    for sig in [libc::SIGUSR1, libc::SIGHUP, libc::SIGTERM] {
        let id = b.id();
        let mut run = b.spawn_run(&id);
        run.wait_stdout("ready");
        send_signal(run.pid(), sig);
        let out = run.wait();
        out.code_is(100 + sig);
        assert!(
            out.stdout.contains(&format!("signal {sig}")),
            "{:?}",
            out.stdout
        );
        b.assert_clean(&id);
    }
}

/// Regression: a config without `capabilities` ran its process with every
/// capability root has; runc gives it none.
#[test]
fn a_process_without_capabilities_gets_none() {
    let mut b = Bundle::new("nocaps");
    b.config_mut(|c| {
        c["process"].as_object_mut().unwrap().remove("capabilities");
    });
    b.set_sh("grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status | cut -f2 | sort -u");
    let id = b.id();
    let out = b.run(&id);
    out.ok();
    assert_eq!(out.stdout, "0000000000000000\n", "every set is empty");
    b.assert_clean(&id);
}

/// Regression: capability names were compared with oci-spec's Display form
/// (no "CAP_" prefix), so every set came out empty without an error.
#[test]
fn capabilities_from_config_reach_the_process() {
    let mut b = Bundle::new("caps");
    // runc spec's default: AUDIT_WRITE (29), KILL (5), NET_BIND_SERVICE (10).
    let r = b.run_report();
    for set in ["CapBnd", "CapEff", "CapPrm"] {
        assert_eq!(r["status"][set], "0000000020000420", "{set}");
    }
    b.config_mut(|c| {
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_CHOWN", "CAP_SYS_ADMIN"],
            "effective": ["CAP_CHOWN"],
            "permitted": ["CAP_CHOWN"],
            "inheritable": ["CAP_CHOWN"],
            "ambient": ["CAP_CHOWN"]
        });
        c["process"]["user"]["uid"] = json!(1000);
    });
    let r = b.run_report();
    assert_eq!(r["status"]["CapBnd"], "0000000000200001");
    assert_eq!(r["status"]["CapAmb"], "0000000000000001");
    assert_eq!(
        r["status"]["CapEff"], "0000000000000001",
        "ambient caps survive the uid switch"
    );
}

/// A name no capability has is skipped with runc's warning, as runc and
/// crun do (issue 17; runtime-tools' process_capabilities_fail wants an
/// error, which neither gives), in the config and in `exec --cap`.
#[test]
fn unknown_capability_is_skipped_with_a_warning() {
    let mut b = Bundle::new("capunknown");
    b.config_mut(|c| {
        c["process"]["capabilities"]["bounding"] = json!(["CAP_KILL", "CAP_NO_SUCH_THING"])
    });
    b.set_args(&[PROBE, "wait-signal"]);
    let id = b.id();
    let out = b.create(&id);
    assert!(
        out.stderr
            .contains("ignoring unknown or unavailable capabilities"),
        "{}",
        out.stderr
    );
    b.start(&id);
    let out = b.corten(&["exec", "--cap", "CAP_NO_SUCH_THING", &id, "true"]);
    out.ok();
    assert!(
        out.stderr
            .contains("ignoring unknown or unavailable capabilities"),
        "{}",
        out.stderr
    );
    b.delete_force(&id);
    b.assert_clean(&id);
}

#[test]
fn session_keyring_is_the_containers_own() {
    let mut b = Bundle::new("keyring");
    b.config_mut(|c| {
        let masked = c["linux"]["maskedPaths"].as_array_mut().unwrap();
        masked.retain(|p| p != "/proc/keys");
    });
    b.set_args(&[PROBE, "cat", "/proc/keys"]);
    let id = b.id();
    let out = b.run(&id);
    out.ok();
    if is_runc() {
        // runc names the keyring after the container differently by version.
        return;
    }
    assert!(out.stdout.contains(&format!("_ses.{id}")), "{}", out.stdout);
}

#[test]
fn sysctl_of_the_containers_namespaces() {
    let mut b = Bundle::new("sysctl");
    let host_forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let want = if host_forward.trim() == "1" { "0" } else { "1" };
    b.config_mut(|c| {
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": want, "kernel.shmmni": "1234"});
    });
    b.set_sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni");
    let out = b.run_ok();
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        vec![want, "1234"]
    );
    let after = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    assert_eq!(after, host_forward, "the host's value must not change");
}

#[test]
fn sysctl_outside_the_containers_namespaces_is_refused() {
    let b = {
        let mut b = Bundle::new("sysctlhost");
        b.config_mut(|c| c["linux"]["sysctl"] = json!({"vm.swappiness": "10"}));
        b
    };
    let id = b.id();
    b.corten(&["create", "--bundle", &b.dir_str(), &id])
        .fails_with(1, "not in a separate kernel namespace");
    b.assert_clean(&id);
}

/// kernel.hostname and the hostname field both set the UTS name: runc
/// refuses the sysctl.
#[test]
fn sysctl_kernel_hostname_with_a_hostname_field_is_refused() {
    let mut b = Bundle::new("sysctlhostname");
    b.config_mut(|c| {
        c["hostname"] = json!("from-field");
        c["linux"]["sysctl"] = json!({"kernel.hostname": "from-sysctl"});
    });
    let id = b.id();
    b.corten(&["create", "--bundle", &b.dir_str(), &id])
        .fails_with(1, "is not allowed as it conflicts with the OCI");
    b.assert_clean(&id);
}

/// Fields of /proc/1/stat after the command name: (nice, policy).
fn nice_and_policy(stat: &str) -> (i64, i64) {
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ") ": state is field 3; nice is field 19, policy field 41.
    (f[19 - 3].parse().unwrap(), f[41 - 3].parse().unwrap())
}

#[test]
fn scheduler_io_priority_affinity_personality_and_memory_policy() {
    if is_runc() {
        return;
    }
    let mut b = Bundle::new("sched");
    b.config_mut(|c| {
        c["process"]["scheduler"] =
            json!({"policy": "SCHED_BATCH", "nice": 7, "flags": ["SCHED_FLAG_RESET_ON_FORK"]});
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0});
        c["process"]["execCPUAffinity"] = json!({"initial": "0-1", "final": "0"});
        c["linux"]["personality"] = json!({"domain": "LINUX32"});
        c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "0"});
    });
    b.set_sh(
        "cat /proc/1/stat; ionice -p 1; uname -m; grep Cpus_allowed_list /proc/1/status; \
         grep -c bind:0 /proc/1/numa_maps",
    );
    let out = b.run_ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        nice_and_policy(lines[0]),
        (7, 3),
        "SCHED_BATCH (3) with nice 7"
    );
    assert_eq!(lines[1].trim(), "idle", "I/O class");
    assert_eq!(lines[2].trim(), "i686", "LINUX32 personality");
    assert_eq!(
        lines[3].split_whitespace().last(),
        Some("0"),
        "final CPU affinity"
    );
    assert!(
        lines[4].trim().parse::<u32>().unwrap() > 0,
        "MPOL_BIND to node 0: {out}"
    );
}

#[test]
fn bad_scheduler_and_host_security_modules_are_refused() {
    let mut b = Bundle::new("schedbad");
    let id = b.id();
    b.config_mut(|c| c["process"]["scheduler"] = json!({"policy": "SCHED_NOPE"}));
    b.corten(&["create", "--bundle", &b.dir_str(), &id])
        .fails_with(1, "SCHED_NOPE");
    b.assert_clean(&id);
    if is_runc() || std::path::Path::new("/sys/module/apparmor/parameters/enabled").exists() {
        return;
    }
    b.config_mut(|c| {
        c["process"].as_object_mut().unwrap().remove("scheduler");
        c["process"]["apparmorProfile"] = json!("docker-default");
    });
    b.corten(&["create", "--bundle", &b.dir_str(), &id])
        .fails_with(1, "AppArmor is not enabled on this host");
    b.assert_clean(&id);
}

/// Regression (review): with --preserve-fds over descriptors the caller
/// left closed, the runtime's own (the state lock, namespace fds) landed in
/// the gaps and were handed to the container.
#[test]
fn preserve_fds_gaps_do_not_leak_runtime_descriptors() {
    let mut b = Bundle::new("preservegap");
    let path = b.tmp.join("only4.txt");
    std::fs::write(&path, "x").unwrap();
    let file = File::open(&path).unwrap();
    b.set_args(&[PROBE, "report"]);
    let id = b.id();
    // fds 3 and 5 are closed in the runtime; only 4 is passed.
    let out = b
        .call(&["run", "--preserve-fds", "3", "--bundle", &b.dir_str(), &id])
        .pass_fd(&file, 4)
        .output();
    out.ok();
    let r = last_json(&out.stdout);
    assert_eq!(
        open_fds(&r),
        BTreeSet::from([0, 1, 2, 4]),
        "fds: {}",
        r["fds"]
    );
    b.assert_clean(&id);
}

/// Socket activation as runc passes it: LISTEN_FDS descriptors from 3 go
/// to the init first (then --preserve-fds ones), with LISTEN_FDS=N and
/// LISTEN_PID=1 in its environment; a LISTEN_PID naming another process
/// means the descriptors are not ours to pass.
#[test]
fn listen_fds_pass_socket_activation_descriptors() {
    let mut b = Bundle::new("listenfds");
    let files = files_to_pass(&b, &["l3.txt", "l4.txt", "p5.txt"]);
    b.set_args(&[PROBE, "report"]);
    let id = b.id();
    let out = b
        .call(&["run", "--preserve-fds", "1", "--bundle", &b.dir_str(), &id])
        .env("LISTEN_FDS", "2")
        .pass_fd(&files[0], 3)
        .pass_fd(&files[1], 4)
        .pass_fd(&files[2], 5)
        .output();
    out.ok();
    let r = last_json(&out.stdout);
    assert_eq!(
        open_fds(&r),
        BTreeSet::from([0, 1, 2, 3, 4, 5]),
        "fds: {}",
        r["fds"]
    );
    assert_eq!(
        (
            r["env"]["LISTEN_FDS"].clone(),
            r["env"]["LISTEN_PID"].clone()
        ),
        (json!("2"), json!("1"))
    );
    // Another process's activation: nothing passed, nothing added.
    let id = b.id();
    let out = b
        .call(&["run", "--bundle", &b.dir_str(), &id])
        .env("LISTEN_FDS", "2")
        .env("LISTEN_PID", "1")
        .pass_fd(&files[0], 3)
        .output();
    out.ok();
    let r = last_json(&out.stdout);
    assert_eq!(open_fds(&r), BTreeSet::from([0, 1, 2]), "fds: {}", r["fds"]);
    assert_eq!(r["env"]["LISTEN_FDS"], Value::Null);
}
