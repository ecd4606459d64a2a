//! linux.seccomp: profiles compiled by corten and installed in the container,
//! checked from inside with the probe's raw syscalls.

mod common;

use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;

use common::*;
use serde_json::{json, Value};

// x86_64 numbers (the tests run on x86_64).
const GETPGID: u64 = 121;
const KEXEC_LOAD: u64 = 246;

fn podman_profile() -> Value {
    let path = workspace().join("crates/seccomp/tests/data/podman-default.oci.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn with_profile(name: &str, profile: Value) -> Bundle {
    let mut b = Bundle::new(name);
    b.config_mut(|c| c["linux"]["seccomp"] = profile);
    b
}

/// Runs `probe syscall NR ARGS...` in the container; returns its answer.
fn call(b: &mut Bundle, nr: u64, args: &[u64]) -> Value {
    let mut argv = vec![PROBE.to_string(), "syscall".into(), nr.to_string()];
    argv.extend(args.iter().map(|a| format!("{a:#x}")));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    b.set_args(&argv);
    last_json(&b.run_ok())
}

fn allow_all_but(rules: Value) -> Value {
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules})
}

#[test]
fn podman_default_profile_runs_busybox() {
    let mut b = with_profile("sc-podman", podman_profile());
    b.set_sh("ls / >/dev/null && echo hi | cat && grep '^Seccomp:' /proc/self/status");
    let out = b.run_ok();
    assert!(out.starts_with("hi\n"), "{out}");
    assert!(out.contains("Seccomp:\t2"), "filter mode: {out}");
    // What it forbids stays forbidden: kexec_load gets the profile's errno.
    assert_eq!(call(&mut b, KEXEC_LOAD, &[]), json!({"errno": libc::EPERM}));
}

#[test]
fn errno_ret_reaches_the_process() {
    let rules = json!([{"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]);
    let mut b = with_profile("sc-errno", allow_all_but(rules));
    assert_eq!(call(&mut b, GETPGID, &[0]), json!({"errno": 42}));
    // No errnoRet: EPERM, as runc.
    b.config_mut(|c| c["linux"]["seccomp"]["syscalls"][0]["errnoRet"] = Value::Null);
    assert_eq!(call(&mut b, GETPGID, &[0]), json!({"errno": libc::EPERM}));
}

#[test]
fn argument_conditions_match_and_do_not_over_match() {
    let rules = json!([
        {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7,
         "args": [{"index": 0, "value": 4242, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 8,
         "args": [{"index": 0, "value": 0xff00, "valueTwo": 0x1200, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 9,
         "args": [{"index": 0, "value": 0x2_0000_0000u64, "op": "SCMP_CMP_GT"}]},
    ]);
    let mut b = with_profile("sc-args", allow_all_but(rules));
    assert_eq!(call(&mut b, GETPGID, &[4242]), json!({"errno": 7}));
    assert_eq!(call(&mut b, GETPGID, &[0x12ab]), json!({"errno": 8}));
    assert_eq!(call(&mut b, GETPGID, &[0x2_0000_0001]), json!({"errno": 9}));
    // The high word counts: 0x2_0000_0000 is not above itself, and 4242
    // plus a high bit is not 4242. Unmatched calls reach the kernel (which
    // reads a pid_t, the low word).
    assert!(
        call(&mut b, GETPGID, &[0x2_0000_0000])["ret"]
            .as_i64()
            .unwrap()
            > 0
    );
    assert_eq!(
        call(&mut b, GETPGID, &[0x1_0000_1092]),
        json!({"errno": libc::ESRCH})
    );
    assert_eq!(
        call(&mut b, GETPGID, &[4243]),
        json!({"errno": libc::ESRCH})
    );
    assert!(call(&mut b, GETPGID, &[0])["ret"].as_i64().unwrap() > 0);
}

#[test]
fn kill_process_kills_with_sigsys() {
    let rules = json!([{"names": ["getpgid"], "action": "SCMP_ACT_KILL_PROCESS"}]);
    let b = with_profile("sc-kill", allow_all_but(rules));
    let mut b = b;
    b.set_args(&[PROBE, "syscall", &GETPGID.to_string()]);
    let id = b.id();
    b.run(&id).code_is(128 + libc::SIGSYS);
    b.assert_clean(&id);
}

/// runc's ENOSYS stub: a syscall newer than every one the profile names
/// answers ENOSYS (libc falls back), one the profile merely omits gets the
/// default action's errno.
#[test]
fn syscalls_newer_than_the_profile_get_enosys() {
    let mut profile = podman_profile();
    profile["defaultErrnoRet"] = json!(libc::EPERM);
    let mut b = with_profile("sc-enosys", profile);
    assert_eq!(call(&mut b, 1000, &[]), json!({"errno": libc::ENOSYS}));
    assert_eq!(call(&mut b, KEXEC_LOAD, &[]), json!({"errno": libc::EPERM}));
}

/// The filter goes in after the init's own calls, with or without
/// no_new_privs: a profile may forbid getcwd (runtime-tools' linux_seccomp,
/// which runc fails), close_range or the uid switch, and the container must
/// still start, as the user, with the capabilities the config asks for.
#[test]
fn profile_forbidding_the_inits_own_syscalls_still_runs() {
    let rules = json!([{"names": ["getcwd", "close_range", "setresuid", "setuid", "setgroups"],
                        "action": "SCMP_ACT_ERRNO"}]);
    let mut b = with_profile("sc-order", allow_all_but(rules));
    let kill = json!(["CAP_KILL"]);
    b.config_mut(|c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        // Ambient (and so inheritable) too: a uid other than 0 keeps only
        // those across execve.
        c["process"]["capabilities"] = json!({"bounding": kill, "effective": kill,
            "permitted": kill, "inheritable": kill, "ambient": kill});
    });
    for nnp in [false, true] {
        b.config_mut(|c| c["process"]["noNewPrivileges"] = json!(nnp));
        let r = b.run_report();
        let s = &r["status"];
        assert_eq!(s["Seccomp"], "2", "nnp {nnp}: {r}");
        assert_eq!(r["uid"], 1000, "nnp {nnp}: {r}");
        assert_eq!(s["CapEff"], "0000000000000020", "nnp {nnp}: CAP_KILL only");
        assert_eq!(s["CapPrm"], "0000000000000020", "nnp {nnp}");
        assert_eq!(s["NoNewPrivs"], if nnp { "1" } else { "0" });
    }
    // Without a capabilities section the uid change leaves none (kernel rule).
    b.config_mut(|c| {
        c["process"]["noNewPrivileges"] = json!(false);
        c["process"].as_object_mut().unwrap().remove("capabilities");
    });
    let r = b.run_report();
    assert_eq!(r["status"]["CapEff"], "0000000000000000", "{r}");
    assert_eq!(r["status"]["CapPrm"], "0000000000000000", "{r}");
}

#[test]
fn notify_hands_the_agent_a_listener_and_its_answer_reaches_the_process() {
    let mut b = Bundle::new("sc-notify");
    let sock = b.root.join("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    b.config_mut(|c| {
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": sock,
            "listenerMetadata": "hello agent",
            "syscalls": [{"names": ["getpgid"], "action": "SCMP_ACT_NOTIFY"}],
        });
    });
    let agent = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let (n, fd) = sys::socket::recv_with_fd(conn.as_fd(), &mut buf).unwrap();
        let state: Value = serde_json::from_slice(&buf[..n]).unwrap();
        let fd = fd.expect("the listener rides along");
        let req = sys::seccomp::notif_recv(fd.as_fd()).unwrap();
        let resp = sys::seccomp::NotifResp {
            id: req.id,
            val: 4242,
            ..Default::default()
        };
        sys::seccomp::notif_send(fd.as_fd(), &resp).unwrap();
        (state, req.nr, req.args[0])
    });
    let answer = call(&mut b, GETPGID, &[77]);
    let (state, nr, arg0) = agent.join().unwrap();
    assert_eq!(answer, json!({"ret": 4242}));
    assert_eq!((nr, arg0), (GETPGID as i32, 77));
    assert_eq!(state["fds"], json!(["seccompFd"]));
    assert_eq!(state["metadata"], "hello agent");
    assert_eq!(state["state"]["status"], "creating");
    assert_eq!(state["state"]["pid"], state["pid"]);
}

#[test]
fn notify_without_a_listener_path_is_refused() {
    let rules = json!([{"names": ["getpgid"], "action": "SCMP_ACT_NOTIFY"}]);
    let b = with_profile("sc-nolistener", allow_all_but(rules));
    let id = b.id();
    b.corten(&["create", "--bundle", &b.dir_str(), &id])
        .fails_with(1, "listenerPath is not set");
    b.assert_clean(&id);
}

#[test]
fn impossible_profiles_are_refused_cleanly() {
    let cases = [
        (
            json!({"defaultAction": "SCMP_ACT_NOTIFY"}),
            "cannot be used as default action",
        ),
        (json!({"defaultAction": "SCMP_ACT_BOGUS"}), "SCMP_ACT_BOGUS"),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_NOPE"]}),
            "SCMP_ARCH_NOPE",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                   "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
            "index 6 is out of range",
        ),
    ];
    for (i, (profile, needle)) in cases.into_iter().enumerate() {
        let b = with_profile(&format!("sc-bad{i}"), profile);
        let id = b.id();
        b.corten(&["create", "--bundle", &b.dir_str(), &id])
            .fails_with(1, needle);
        b.assert_clean(&id);
    }
}

#[test]
fn features_list_what_the_compiler_takes() {
    let b = Bundle::new("sc-features");
    let out = b.corten(&["features"]);
    out.ok();
    let f = out.json()["linux"]["seccomp"].clone();
    assert_eq!(f["enabled"], true);
    for want in ["SCMP_ACT_NOTIFY", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_ERRNO"] {
        assert!(
            f["actions"].as_array().unwrap().contains(&json!(want)),
            "{f}"
        );
    }
    for want in [
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X86",
        "SCMP_ARCH_X32",
        "SCMP_ARCH_AARCH64",
    ] {
        assert!(f["archs"].as_array().unwrap().contains(&json!(want)), "{f}");
    }
    assert_eq!(f["operators"].as_array().unwrap().len(), 7);
    let supported = f["supportedFlags"].as_array().unwrap();
    assert!(supported.contains(&json!("SECCOMP_FILTER_FLAG_LOG")), "{f}");
}

/// Debian's i386 busybox-static, fetched by hack/test.sh (hack/i386-busybox.sh).
fn busybox32(b: &Bundle) {
    let src = workspace().join("target/i386/busybox");
    assert!(
        src.exists(),
        "{} is missing: run hack/i386-busybox.sh (hack/test.sh does)",
        src.display()
    );
    std::fs::copy(&src, b.rootfs.join("bin/busybox32")).unwrap();
}

/// A 32-bit program meets the same policy by its own syscall numbers
/// (mkdir is 39 on i386, 83 on x86_64; socket goes through socketcall or
/// socket(2) there), not SIGSYS; without SCMP_ARCH_X86 it is a bad
/// architecture and killed, as with runc.
#[test]
fn i386_binaries_get_the_same_policy() {
    let exdev = json!([{"names": ["mkdir", "mkdirat", "socket"], "action": "SCMP_ACT_ERRNO",
                        "errnoRet": libc::EXDEV}]);
    let mut profile = allow_all_but(exdev);
    profile["architectures"] = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
    let mut b = with_profile("sc-i386", profile);
    busybox32(&b);
    let script = "for bb in busybox busybox32; do $bb mkdir /tmp/d 2>&1; $bb nc 127.0.0.1 1 2>&1; done; true";
    b.set_sh(script);
    let out = b.run_ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines.iter().all(|l| l.contains("nvalid cross-device link")),
        "{out}"
    );
    // Without the i386 architecture in the profile: killed (bad architecture).
    b.config_mut(|c| c["linux"]["seccomp"]["architectures"] = json!(["SCMP_ARCH_X86_64"]));
    b.set_args(&["/bin/busybox32", "true"]);
    let id = b.id();
    b.run(&id).code_is(128 + libc::SIGSYS);
    b.assert_clean(&id);
}

#[test]
fn notify_with_no_agent_listening_fails_create_cleanly() {
    let mut b = Bundle::new("sc-noagent");
    let sock = b.root.join("nobody.sock");
    b.config_mut(|c| {
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": sock,
            "syscalls": [{"names": ["getpgid"], "action": "SCMP_ACT_NOTIFY"}],
        });
    });
    let id = b.id();
    b.corten(&["create", "--bundle", &b.dir_str(), &id])
        .fails_with(1, "connecting to the seccomp agent");
    b.assert_clean(&id);
}
