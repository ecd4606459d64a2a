//! linux.namespaces: new, joined by path, omitted; uts names; user and time namespaces.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use serde_json::{json, Value};

/// Adds a namespace of `kind` (unless one is already there), optionally with a path.
fn add_ns(c: &mut Value, kind: &str, path: Option<&str>) {
    let list = c["linux"]["namespaces"]
        .as_array_mut()
        .expect("linux.namespaces");
    list.retain(|n| n["type"] != kind);
    let mut ns = json!({ "type": kind });
    if let Some(p) = path {
        ns["path"] = json!(p);
    }
    list.push(ns);
}

fn remove_ns(c: &mut Value, kind: &str) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .expect("linux.namespaces")
        .retain(|n| n["type"] != kind);
}

/// The config's name for each /proc/PID/ns entry.
const KINDS: &[(&str, &str)] = &[
    ("pid", "pid"),
    ("network", "net"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("mount", "mnt"),
    ("cgroup", "cgroup"),
];

#[test]
fn new_namespaces_differ_from_host() {
    let mut b = Bundle::new("nsnew");
    b.config_mut(|c| add_ns(c, "cgroup", None));
    let r = b.run_report();
    for (kind, proc_name) in KINDS {
        let inside = r["ns"][proc_name].as_str().unwrap_or_default();
        assert!(
            inside.starts_with(&format!("{proc_name}:[")),
            "{kind}: {inside:?}"
        );
        assert_ne!(inside, host_ns(proc_name), "{kind} namespace should be new");
    }
    // Not in the config: the host's.
    for proc_name in ["user", "time"] {
        assert_eq!(
            r["ns"][proc_name],
            host_ns(proc_name),
            "{proc_name} namespace is the host's"
        );
    }
    assert_eq!(r["pid"], 1);
}

#[test]
fn network_namespace_has_only_lo() {
    let mut b = Bundle::new("nsnet");
    b.set_args(&[PROBE, "cat", "/proc/net/dev"]);
    let out = b.run_ok();
    // Two header lines, then "  iface: counters...".
    let ifaces: Vec<&str> = out
        .lines()
        .skip(2)
        .filter_map(|l| l.split_once(':'))
        .map(|(name, _)| name.trim())
        .collect();
    assert_eq!(ifaces, ["lo"], "/proc/net/dev inside: {out}");
}

#[test]
fn uts_hostname_and_domainname() {
    let mut b = Bundle::new("nsuts");
    b.config_mut(|c| {
        c["hostname"] = json!("it-host");
        c["domainname"] = json!("it-domain.example");
    });
    let r = b.run_report();
    assert_eq!(r["hostname"], "it-host");
    if !skip_if_runc("runc 1.1 ignores the domainname field") {
        assert_eq!(r["domainname"], "it-domain.example");
    }
    assert_ne!(r["ns"]["uts"], host_ns("uts"));
}

#[test]
fn omitted_namespaces_are_the_hosts() {
    let mut b = Bundle::new("nsomit");
    b.config_mut(|c| {
        remove_ns(c, "network");
        remove_ns(c, "ipc");
    });
    let r = b.run_report();
    assert_eq!(
        r["ns"]["net"],
        host_ns("net"),
        "no network namespace in config: host's"
    );
    assert_eq!(
        r["ns"]["ipc"],
        host_ns("ipc"),
        "no ipc namespace in config: host's"
    );
    assert_ne!(r["ns"]["pid"], host_ns("pid"));
    assert_ne!(r["ns"]["mnt"], host_ns("mnt"));
}

#[test]
fn namespace_joined_by_path() {
    let mut first = Bundle::new("nsjoinA");
    first.set_args(&[PROBE, "sleep", "30"]);
    let a = first.id();
    first.create_start(&a);
    let a_pid = first.pid(&a);

    let mut second = Bundle::new("nsjoinB");
    let net = format!("/proc/{a_pid}/ns/net");
    let ipc = format!("/proc/{a_pid}/ns/ipc");
    let uts = format!("/proc/{a_pid}/ns/uts");
    second.config_mut(|c| {
        add_ns(c, "network", Some(&net));
        add_ns(c, "ipc", Some(&ipc));
        add_ns(c, "uts", Some(&uts));
        // Joining a uts namespace: the hostname is the other container's, not ours to set.
        c.as_object_mut().expect("config").remove("hostname");
    });
    let r = second.run_report();
    assert_eq!(
        r["ns"]["net"],
        ns_of(a_pid, "net"),
        "joined network namespace"
    );
    assert_eq!(r["ns"]["ipc"], ns_of(a_pid, "ipc"), "joined ipc namespace");
    assert_eq!(r["ns"]["uts"], ns_of(a_pid, "uts"), "joined uts namespace");
    assert_ne!(r["ns"]["net"], host_ns("net"));
    // Namespaces given without a path are still new, and not the other container's.
    assert_ne!(r["ns"]["pid"], ns_of(a_pid, "pid"));
    assert_ne!(r["ns"]["mnt"], ns_of(a_pid, "mnt"));

    first.delete_force(&a);
    first.assert_clean(&a);
}

/// A new user namespace, container ids 0-65535 on host ids 100000-165535.
fn mapped_user_ns(c: &mut Value) {
    add_ns(c, "user", None);
    let map = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    c["linux"]["uidMappings"] = map.clone();
    c["linux"]["gidMappings"] = map;
}

#[test]
fn user_namespace_with_mappings() {
    let mut b = Bundle::new("nsuser");
    b.config_mut(mapped_user_ns);
    b.set_sh("/bin/probe report; exec /bin/probe wait-signal");
    let id = b.id();
    let created = b.create_start(&id);
    wait_until("ready", WAIT_TIMEOUT, || {
        created.reread_stdout().contains("ready")
    });
    let pid = b.pid(&id);

    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    let ids_of = |key: &str| -> Vec<String> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        ids_of("Uid:"),
        ["100000"; 4],
        "host view of the container's uids: {status}"
    );
    assert_eq!(
        ids_of("Gid:"),
        ["100000"; 4],
        "host view of the container's gids: {status}"
    );
    assert_ne!(ns_of(pid, "user"), host_ns("user"));

    let r = last_json(&created.reread_stdout());
    assert_eq!(r["uid"], 0, "root inside the user namespace");
    assert_eq!(r["euid"], 0);
    assert_eq!(r["gid"], 0);
    assert_eq!(r["ns"]["user"], ns_of(pid, "user"));

    b.kill(&id, "TERM");
    b.wait_status(&id, "stopped");
    b.delete(&id);
    b.assert_clean(&id);
}

#[test]
fn time_namespace_offsets() {
    if skip_if_runc("runc 1.1 has no time namespace support") {
        return;
    }
    const OFFSET: f64 = 1_000_000.0;
    let mut b = Bundle::new("nstime");
    b.config_mut(|c| {
        add_ns(c, "time", None);
        c["linux"]["timeOffsets"] = json!({
            "boottime": { "secs": OFFSET as i64, "nanosecs": 0 },
            "monotonic": { "secs": OFFSET as i64, "nanosecs": 0 },
        });
    });
    let uptime = |text: &str| -> f64 {
        text.split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad /proc/uptime: {text:?}"))
    };
    let before = uptime(&fs::read_to_string("/proc/uptime").expect("host uptime"));
    b.set_sh("/bin/probe cat /proc/uptime && exec /bin/probe report");
    let out = b.run_ok();
    let after = uptime(&fs::read_to_string("/proc/uptime").expect("host uptime"));
    let inside = uptime(out.lines().next().unwrap_or_default());
    assert!(
        inside >= before + OFFSET - 1.0 && inside <= after + OFFSET + 1.0,
        "uptime inside {inside} should be host uptime ({before}..{after}) + {OFFSET}"
    );
    let r = last_json(&out);
    assert_ne!(
        r["ns"]["time"],
        host_ns("time"),
        "time namespace should be new"
    );
}

/// A mount namespace given by path is joined (runtime-tools'
/// linux_ns_path); the runtime's own, the host's, is refused: the rootfs
/// setup would pivot the host's root.
#[test]
fn mount_namespace_by_path_is_joined_but_never_the_hosts() {
    let (mut holder, pid) = mount_ns_holder(&[]);
    let set_mnt = |b: &mut Bundle, path: String| {
        b.config_mut(|c| {
            let list = c["linux"]["namespaces"].as_array_mut().unwrap();
            list.retain(|n| n["type"] != "mount");
            list.push(json!({"type": "mount", "path": path}));
        })
    };
    let mut b = Bundle::new("nsjoinmnt");
    set_mnt(&mut b, format!("/proc/{pid}/ns/mnt"));
    let holder_ns = ns_of(pid, "mnt");
    b.set_args(&[PROBE, "report"]);
    let id = b.id();
    let out = b.run(&id);
    out.ok();
    // Sharing the namespace, the holder now has the rootfs as its root too.
    let _ = holder.kill();
    let _ = holder.wait();
    let r = last_json(&out.stdout);
    assert_eq!(
        r["ns"]["mnt"], holder_ns,
        "joined the given mount namespace"
    );
    b.assert_clean(&id);

    if is_runc() {
        return;
    }
    let mut host = Bundle::new("nsjoinhost");
    set_mnt(&mut host, "/proc/self/ns/mnt".to_string());
    let id = host.id();
    host.corten(&["create", "--bundle", &host.dir_str(), &id])
        .fails_with(1, "never changes the host's mounts");
    host.assert_clean(&id);
}

/// Regression (review): in a joined mount namespace whose /proc belongs to
/// another pid namespace, the second stage (for a new pid namespace)
/// failed its single-thread check, which read /proc/self/stat, with a
/// misleading error. corten mounts through /proc/self/fd, which such a
/// namespace cannot show: the error now says so.
#[test]
fn joined_mount_namespace_with_another_proc_and_a_new_pid_namespace() {
    let (mut holder, pid) = mount_ns_holder(&["--pid", "--fork", "--mount-proc"]);
    let mut b = Bundle::new("mntjoinproc");
    let path = format!("/proc/{pid}/ns/mnt");
    b.config_mut(|c| {
        let list = c["linux"]["namespaces"].as_array_mut().unwrap();
        list.retain(|n| n["type"] != "mount");
        list.push(json!({"type": "mount", "path": path}));
    });
    b.set_args(&["true"]);
    let id = b.id();
    let out = b.run(&id);
    // The holder (unshare, our child) shares the namespace: end it first.
    let _ = holder.kill();
    let _ = holder.wait();
    if is_runc() {
        return;
    }
    out.fails_with(1, "does not show the container init");
    b.assert_clean(&id);
}

/// A `sleep` in a mount namespace of its own (util-linux unshare, our
/// child, to be killed by its handle), once it is there.
fn mount_ns_holder(extra: &[&str]) -> (std::process::Child, i32) {
    let child = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private"])
        .args(extra)
        .args(["sleep", "30"])
        .spawn()
        .expect("unshare(1) from util-linux");
    let pid = child.id() as i32;
    let deadline = std::time::Instant::now() + WAIT_TIMEOUT;
    while ns_of(pid, "mnt") == host_ns("mnt") {
        assert!(
            std::time::Instant::now() < deadline,
            "unshare did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    (child, pid)
}

/// runtime-tools linux_ns_itype: a config with no namespaces at all shares
/// every one of the runtime's, the mount namespace included. The mounts it
/// makes are then the host's, under the rootfs: the host's own / is left as
/// it was (even with a read-only root), and delete takes them all away
/// (runc leaves them behind).
#[test]
fn no_namespaces_share_the_hosts_and_delete_removes_their_mounts() {
    let mut b = Bundle::new("nsnone");
    b.config_mut(|c| {
        c["linux"]["namespaces"] = json!([]);
        c.as_object_mut().expect("config").remove("hostname");
        c["root"]["readonly"] = json!(true);
        grant_cap(c, "CAP_SYS_ADMIN");
    });
    b.set_args(&[PROBE, "sleep", "30"]);
    let id = b.id();
    b.create_start(&id);
    let pid = b.pid(&id);
    for ns in ["mnt", "pid", "net", "ipc", "uts", "cgroup", "user"] {
        assert_eq!(ns_of(pid, ns), host_ns(ns), "{ns}");
    }
    let mounts = mounts_under(&b.rootfs);
    assert!(
        mounts.iter().any(|m| m.ends_with("/rootfs/proc")),
        "{mounts:?}"
    );
    // The read-only root is the rootfs bind, not the host's filesystem.
    let probe = b.tmp.join("host-still-writable");
    fs::write(&probe, "yes").expect("the host's filesystem stays writable");
    let out = b.corten(&[
        "exec",
        &id,
        "sh",
        "-c",
        "touch /x 2>&1; cat /proc/1/cmdline >/dev/null; echo done",
    ]);
    out.ok();
    assert!(out.stdout.contains("Read-only"), "{}", out.stdout);
    // Regression (review): an exec from another mount namespace landed on
    // the host's /, which setns(CLONE_NEWNS) gives, not the init's chroot.
    let elsewhere = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private"])
        .arg(bin())
        .args(["--root", &b.root_str(), "exec", &id, "sh", "-c"])
        .arg("test -e /bin/probe && echo inside || echo outside")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&elsewhere.stdout).trim(), "inside");
    // Regression (review): a mount stacked on the root made delete skip
    // every mount; now each detach takes the top until the rootfs bind.
    b.corten(&["exec", &id, "mount", "-t", "tmpfs", "stacked", "/"])
        .ok();
    b.delete_force(&id);
    assert_eq!(mounts_under(&b.rootfs), Vec::<String>::new());
    b.assert_clean(&id);
}

/// Without a mount namespace, a rootfs that is the host's / would have the
/// container's mounts cover the host's: refused before anything is made.
#[test]
fn no_mount_namespace_with_the_hosts_root_is_refused() {
    let mut b = Bundle::new("nsnoneroot");
    b.config_mut(|c| {
        c["linux"]["namespaces"] = json!([]);
        // Without a UTS namespace a hostname is refused first.
        c.as_object_mut().unwrap().remove("hostname");
        c["root"]["path"] = json!("/");
    });
    let id = b.id();
    b.corten(&["create", "--bundle", &b.dir_str(), &id])
        .fails_with(1, "root.path is the host's /");
    b.assert_clean(&id);
}

/// A host link set up by this test and removed on drop: one end of a veth
/// pair (a virtual device: it goes with the container's namespace).
struct Veth {
    host: String,
    peer: String,
}

impl Veth {
    fn new(tag: &str) -> Veth {
        let n = std::process::id() % 100_000;
        let v = Veth {
            host: format!("c{tag}{n}a"),
            peer: format!("c{tag}{n}b"),
        };
        let ok = std::process::Command::new("ip")
            .args([
                "link", "add", &v.host, "type", "veth", "peer", "name", &v.peer,
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip link add {} type veth", v.host);
        v
    }

    fn exists(name: &str) -> bool {
        Path::new("/sys/class/net").join(name).exists()
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        for name in [&self.host, &self.peer] {
            if Veth::exists(name) {
                let _ = std::process::Command::new("ip")
                    .args(["link", "del", name])
                    .status();
            }
        }
    }
}

/// linux.netDevices: a host link moves into the container's network
/// namespace under its new name, keeps its permanent global addresses (v6
/// too: they are read before the link goes down) and comes up, before the
/// container's sysctls (which may name it) even without hooks; it leaves
/// with the container (a veth end is destroyed with the namespace).
#[test]
fn net_devices_move_into_the_container_renamed_with_their_addresses() {
    let mut b = Bundle::new("netdev");
    let veth = Veth::new("n");
    let v4 = format!("10.213.{}.1/24", std::process::id() % 200 + 20);
    let v6 = format!("fd00:213:{:x}::1/64", std::process::id() % 60000);
    ip(&["addr", "add", &v4, "dev", &veth.host]);
    ip(&["addr", "add", &v6, "dev", &veth.host, "nodad"]);
    b.config_mut(|c| {
        c["linux"]["netDevices"] = json!({ veth.host.clone(): {"name": "eth7"} });
        c["linux"]["sysctl"] = json!({"net.ipv4.conf.eth7.forwarding": "1"});
    });
    b.set_sh("ip -o addr show dev eth7; ip -o link show dev eth7; cat /proc/sys/net/ipv4/conf/eth7/forwarding");
    let out = b.run_ok();
    assert!(out.contains(&format!("inet {v4}")), "{out}");
    assert!(out.contains(&format!("inet6 {v6}")), "{out}");
    assert!(out.contains("eth7") && out.contains(",UP"), "{out}");
    assert_eq!(out.lines().last(), Some("1"), "{out}");
    assert!(
        !Veth::exists(&veth.host),
        "the device came back as {}",
        veth.host
    );

    // A create that fails after the move gives the device back to the
    // host, under its own name, with its address.
    let back = Veth::new("k");
    ip(&["addr", "add", &v4, "dev", &back.host]);
    b.config_mut(|c| {
        c["linux"]["netDevices"] = json!({ back.host.clone(): {"name": "eth8"} });
        c["linux"].as_object_mut().unwrap().remove("sysctl");
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]});
    });
    let id = b.id();
    b.corten(&["run", "--bundle", &b.dir_str(), &id])
        .fails_with(1, "createRuntime");
    b.assert_clean(&id);
    assert!(Veth::exists(&back.host), "{} was not given back", back.host);
    let shown = std::process::Command::new("ip")
        .args(["-o", "addr", "show", "dev", &back.host])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains(&format!("inet {v4}")),
        "its address was not given back"
    );
    b.config_mut(|c| {
        c.as_object_mut().unwrap().remove("hooks");
    });

    // A device the host lacks, bad names, two devices with one name: refused,
    // and nothing is left.
    for (devices, needle) in [
        (json!({"nosuchdev0": {}}), "moving nosuchdev0"),
        (json!({"a/b": {}}), "is not a network interface name"),
        (json!({ back.host.clone(): {"name": "lo"} }), "own loopback"),
        (
            json!({ veth.peer.clone(): {"name": "x0"}, back.host.clone(): {"name": "x0"} }),
            "two devices are named",
        ),
    ] {
        b.config_mut(|c| c["linux"]["netDevices"] = devices.clone());
        let id = b.id();
        b.corten(&["run", "--bundle", &b.dir_str(), &id])
            .fails_with(1, needle);
        b.assert_clean(&id);
    }
    assert!(Veth::exists(&back.host), "a refused config moved a device");
}

fn ip(args: &[&str]) {
    let ok = std::process::Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ip {args:?}");
}

/// /dev/mqueue belongs to the container's root in a new user namespace, as
/// with runc (issue 17, differential ns_user_with_mappings). The mqueue
/// filesystem is made with its IPC namespace, its root owned by the
/// creator: created by the clone, under the runtime's unmapped ids, it read
/// 65534:65534; the init now creates the IPC namespace as the mapped root.
#[test]
fn mqueue_belongs_to_the_containers_root_in_a_user_namespace() {
    let mut b = Bundle::new("nsmqueue");
    b.config_mut(mapped_user_ns);
    let r = b.run_report();
    let mq = dev_entry(&r, "mqueue").expect("/dev/mqueue");
    assert_eq!(mq["uid"], 0, "{mq}");
    // runc's nsexec makes the IPC namespace after setresuid(0) but before
    // any setresgid: the runtime's gid, unmapped.
    if !skip_if_runc("runc 1.1.5 leaves /dev/mqueue's group 65534 (nogroup)") {
        assert_eq!(mq["gid"], 0, "{mq}");
    }
}
