//! mounts, /dev, linux.devices, root.readonly, rootfsPropagation, masked/readonly paths,
//! --no-pivot.

mod common;

use std::fs;
use std::path::Path;
use std::path::PathBuf;

use common::*;
use serde_json::{json, Value};

/// Flags that show up in mountinfo's per-mount options when given in config.
const FLAGS: &[&str] = &["nosuid", "noexec", "nodev", "ro"];

/// "0620" → "620": how the kernel prints numeric mount data back.
fn strip_octal(v: &str) -> String {
    let t = v.trim_start_matches('0');
    if t.is_empty() {
        "0".into()
    } else {
        t.into()
    }
}

#[test]
fn default_mounts() {
    let mut b = Bundle::new("defmounts");
    let config = b.config().clone();
    let mounts = config["mounts"]
        .as_array()
        .expect("spec has mounts")
        .clone();
    let dests: Vec<&str> = mounts
        .iter()
        .filter_map(|m| m["destination"].as_str())
        .collect();
    for d in [
        "/proc",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
        "/sys",
        "/sys/fs/cgroup",
    ] {
        assert!(
            dests.contains(&d),
            "spec's default mounts lack {d}: {dests:?}"
        );
    }
    let r = b.run_report();

    for m in &mounts {
        let dest = m["destination"].as_str().unwrap_or_default();
        let ty = m["type"].as_str().unwrap_or_default();
        let options: Vec<&str> = m["options"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if ty == "cgroup" || ty == "cgroup2" {
            continue; // checked below: its shape depends on the host's cgroup layout
        }
        let got = mount_at(&r, dest).unwrap_or_else(|| panic!("no mount at {dest}"));
        assert_eq!(got["fstype"], ty, "fstype of {dest}: {got}");
        let mopts = opts(got, "mount_options");
        let sopts = opts(got, "super_options");
        for o in &options {
            if FLAGS.contains(o) {
                assert!(mopts.iter().any(|x| x == o), "{dest} lacks {o}: {got}");
            }
            if let Some((k, v)) = o.split_once('=') {
                // tmpfs does not print its default mode 1777; gid is devpts's own.
                let expect = match k {
                    "size" => Some(format!("size={v}")),
                    "mode" if !(ty == "tmpfs" && strip_octal(v) == "1777") => {
                        Some(format!("mode={}", strip_octal(v)))
                    }
                    "ptmxmode" | "gid" => Some(format!("{k}={}", strip_octal(v))),
                    _ => None,
                };
                if let Some(e) = expect {
                    assert!(sopts.contains(&e), "{dest}: expected {e} in {got}");
                }
            }
        }
    }

    // /sys/fs/cgroup: a cgroup2 mount, or (hybrid/v1 host) a tmpfs with the hierarchies
    // below it. Either way every cgroup mount there is read-only as the spec asks.
    let cg = mount_at(&r, "/sys/fs/cgroup").expect("mount at /sys/fs/cgroup");
    let cg_mounts: Vec<&Value> = r["mounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .filter(|m| {
            m["mount_point"]
                .as_str()
                .is_some_and(|p| p.starts_with("/sys/fs/cgroup"))
                && (m["fstype"] == "cgroup" || m["fstype"] == "cgroup2")
        })
        .collect();
    assert!(
        !cg_mounts.is_empty(),
        "no cgroup filesystem under /sys/fs/cgroup: {cg}"
    );
    for m in cg_mounts {
        assert!(
            opts(m, "mount_options").contains(&"ro".to_string()),
            "cgroup mount not ro: {m}"
        );
    }
}

#[test]
fn bind_and_tmpfs_mounts() {
    let mut b = Bundle::new("binds");
    let rw = b.tmp.join("host-rw");
    let ro = b.tmp.join("host-ro");
    let file = b.tmp.join("host-file");
    fs::create_dir(&rw).expect("mkdir");
    fs::create_dir(&ro).expect("mkdir");
    fs::write(rw.join("a"), "in-rw").expect("write");
    fs::write(ro.join("b"), "in-ro").expect("write");
    fs::write(&file, "file-bind").expect("write");
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let (rw_s, ro_s, file_s) = (s(&rw), s(&ro), s(&file));
    b.config_mut(|c| {
        let m = c["mounts"].as_array_mut().expect("mounts");
        m.push(
            json!({"destination": "/mnt/rw", "type": "bind", "source": rw_s,
                      "options": ["rbind", "rw"]}),
        );
        m.push(
            json!({"destination": "/mnt/ro", "type": "bind", "source": ro_s,
                      "options": ["rbind", "ro"]}),
        );
        m.push(
            json!({"destination": "/etc/it-file", "type": "bind", "source": file_s,
                      "options": ["bind"]}),
        );
        m.push(
            json!({"destination": "/mnt/tmp", "type": "tmpfs", "source": "tmpfs",
                      "options": ["nosuid", "size=1m", "mode=0700"]}),
        );
    });
    b.set_sh(
        "/bin/probe cat /mnt/rw/a && echo && /bin/probe cat /mnt/ro/b && echo && \
         /bin/probe cat /etc/it-file && echo && \
         /bin/probe write /mnt/rw/new from-container && \
         if /bin/probe write /mnt/ro/new x 2>/dev/null; then echo RO-WRITABLE; fi; \
         exec /bin/probe report",
    );
    let out = b.run_ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..3], ["in-rw", "in-ro", "file-bind"], "{out}");
    assert!(
        !out.contains("RO-WRITABLE"),
        "read-only bind mount was writable: {out}"
    );
    assert_eq!(
        fs::read_to_string(rw.join("new")).unwrap_or_default(),
        "from-container"
    );
    assert!(!ro.join("new").exists());

    let r = last_json(&out);
    let m = mount_at(&r, "/mnt/rw").expect("/mnt/rw mounted");
    assert!(opts(m, "mount_options").contains(&"rw".into()), "{m}");
    let m = mount_at(&r, "/mnt/ro").expect("/mnt/ro mounted");
    assert!(opts(m, "mount_options").contains(&"ro".into()), "{m}");
    assert!(
        mount_at(&r, "/etc/it-file").is_some(),
        "file bind mount missing"
    );
    let m = mount_at(&r, "/mnt/tmp").expect("/mnt/tmp mounted");
    assert_eq!(m["fstype"], "tmpfs");
    assert!(
        opts(m, "super_options").contains(&"size=1024k".into()),
        "{m}"
    );
    assert!(opts(m, "super_options").contains(&"mode=700".into()), "{m}");
    assert!(opts(m, "mount_options").contains(&"nosuid".into()), "{m}");
    // The host's dirs are untouched apart from the write through the rw mount.
    assert_eq!(fs::read_to_string(&file).unwrap_or_default(), "file-bind");
}

/// A mount destination that is a symlink pointing outside the rootfs must be resolved inside
/// the rootfs (CVE-2021-30465 family): the host path stays untouched.
#[test]
fn symlink_mount_target_stays_in_rootfs() {
    let mut b = Bundle::new("symlinkmnt");
    let host_dir = b.tmp.join("host-dir");
    let src = b.tmp.join("src");
    fs::create_dir(&host_dir).expect("mkdir");
    fs::create_dir(&src).expect("mkdir");
    fs::write(host_dir.join("host-marker"), "host").expect("write");
    fs::write(src.join("marker"), "from-src").expect("write");
    std::os::unix::fs::symlink(&host_dir, b.rootfs.join("evil")).expect("symlink");
    let src_s = src.to_string_lossy().into_owned();
    b.config_mut(|c| {
        c["mounts"].as_array_mut().expect("mounts").push(json!({
            "destination": "/evil", "type": "bind", "source": src_s, "options": ["rbind", "rw"]
        }));
    });
    b.set_sh("/bin/probe cat /evil/marker && echo && /bin/probe write /evil/new from-container");
    let id = b.id();
    let out = b.run(&id);
    let entries: Vec<String> = fs::read_dir(&host_dir)
        .expect("host dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        entries,
        ["host-marker"],
        "the host dir behind the symlink was written to"
    );
    out.ok();
    assert_eq!(
        out.stdout.lines().next(),
        Some("from-src"),
        "mount did not land in the rootfs"
    );
    assert_eq!(
        fs::read_to_string(src.join("new")).unwrap_or_default(),
        "from-container"
    );
    b.assert_clean(&id);
}

/// A file bind onto a dangling symlink gets the link's target made inside
/// the rootfs, with its parents, as runc does (runc's mounts.bats); a
/// target on the host is never made.
#[test]
fn file_bind_onto_a_dangling_symlink_creates_its_target_in_the_rootfs() {
    let mut b = Bundle::new("danglingbind");
    let src = b.tmp.join("single");
    fs::write(&src, "hello").unwrap();
    let host_target = b.tmp.join("host/not/here");
    std::os::unix::fs::symlink("/foo/bar/not/here", b.rootfs.join("etc/not-existing")).unwrap();
    std::os::unix::fs::symlink(&host_target, b.rootfs.join("etc/to-host")).unwrap();
    let src_s = src.to_string_lossy().into_owned();
    b.config_mut(|c| {
        for dest in ["/etc/not-existing", "/etc/to-host"] {
            c["mounts"].as_array_mut().unwrap().push(
                json!({"destination": dest, "type": "bind", "source": src_s, "options": ["bind"]}),
            );
        }
    });
    let inside = host_target
        .strip_prefix("/")
        .unwrap()
        .to_string_lossy()
        .into_owned();
    b.set_sh(&format!("cat /foo/bar/not/here; echo; cat /{inside}"));
    let id = b.id();
    let out = b.run(&id);
    out.ok();
    assert_eq!(
        out.stdout, "hello\nhello",
        "both binds reached through their links"
    );
    assert!(!host_target.exists(), "nothing made on the host");
    b.assert_clean(&id);
}

#[test]
fn readonly_root() {
    let mut b = Bundle::new("rootro");
    b.config_mut(|c| c["root"]["readonly"] = json!(true));
    assert_eq!(b.run_report()["root_readonly"], true);
    b.config_mut(|c| c["root"]["readonly"] = json!(false));
    assert_eq!(b.run_report()["root_readonly"], false);
}

#[test]
fn dev_has_standard_devices() {
    let mut b = Bundle::new("devstd");
    let r = b.run_report();
    for (name, major, minor) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ] {
        let d = dev_entry(&r, name).unwrap_or_else(|| panic!("/dev/{name} missing"));
        assert_eq!(d["kind"], "char", "/dev/{name}: {d}");
        assert_eq!(
            (d["major"].as_u64(), d["minor"].as_u64()),
            (Some(major), Some(minor)),
            "{d}"
        );
        assert_eq!(
            d["mode"].as_u64().map(|m| m & 0o777),
            Some(0o666),
            "/dev/{name}: {d}"
        );
    }
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ] {
        let d = dev_entry(&r, name).unwrap_or_else(|| panic!("/dev/{name} missing"));
        assert_eq!(d["kind"], "symlink", "/dev/{name}: {d}");
        assert_eq!(d["link"], target, "/dev/{name}: {d}");
    }
    for name in ["pts", "shm"] {
        let d = dev_entry(&r, name).unwrap_or_else(|| panic!("/dev/{name} missing"));
        assert_eq!(d["kind"], "dir", "/dev/{name}: {d}");
    }
}

#[test]
fn linux_devices_are_created() {
    let mut b = Bundle::new("devices");
    b.config_mut(|c| {
        c["linux"]["devices"] = json!([{
            "path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
            "fileMode": 0o666, "uid": 1000, "gid": 1001
        }]);
    });
    b.set_args(&[PROBE, "stat", "/dev/mynull"]);
    let st = last_json(&b.run_ok());
    assert_eq!(st["exists"], true, "{st}");
    assert_eq!(st["kind"], "char", "{st}");
    assert_eq!(
        (st["major"].as_u64(), st["minor"].as_u64()),
        (Some(1), Some(3)),
        "{st}"
    );
    assert_eq!(st["mode"].as_u64().map(|m| m & 0o7777), Some(0o666), "{st}");
    assert_eq!(
        (st["uid"].as_u64(), st["gid"].as_u64()),
        (Some(1000), Some(1001)),
        "{st}"
    );
}

fn root_mount_optional_fields(r: &Value) -> String {
    mount_at(r, "/").expect("root mount")["optional_fields"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A shared bind mount of a test directory, unmounted (with what the
/// container propagated into it) when dropped.
struct SharedHostDir(PathBuf);

impl SharedHostDir {
    fn new(dir: PathBuf) -> Self {
        fs::create_dir_all(dir.join("sub")).unwrap();
        let d = dir.to_str().unwrap();
        for args in [vec!["--bind", d, d], vec!["--make-shared", d]] {
            let st = std::process::Command::new("mount")
                .args(&args)
                .status()
                .unwrap();
            assert!(st.success(), "mount {args:?}");
        }
        SharedHostDir(dir)
    }
}

impl Drop for SharedHostDir {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .args(["-R", "-l"])
            .arg(&self.0)
            .status();
    }
}

/// Kubernetes' Bidirectional volume: rootfsPropagation rshared and a bind
/// `rbind,rshared` of a shared host directory. A mount the container makes
/// in the volume appears on the host, as with runc (corten made / a
/// recursive slave first, so the volume only received).
#[test]
fn rshared_volume_propagates_a_containers_mount_to_the_host() {
    let mut b = Bundle::new("bidirectional");
    let host = SharedHostDir::new(b.tmp.join("vol"));
    let src = host.0.to_string_lossy().into_owned();
    b.config_mut(|c| {
        c["linux"]["rootfsPropagation"] = json!("rshared");
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/vol", "type": "bind", "source": src, "options": ["rbind", "rshared"]
        }));
        grant_cap(c, "CAP_SYS_ADMIN");
    });
    b.set_sh("mount -t tmpfs bidirectional /vol/sub && echo mounted");
    let id = b.id();
    let out = b.run(&id);
    out.ok();
    assert_eq!(out.stdout.trim(), "mounted");
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let sub = host.0.join("sub");
    let on_host = mountinfo.lines().any(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        f.get(4) == Some(&sub.to_str().unwrap()) && l.contains(" - tmpfs bidirectional ")
    });
    assert!(on_host, "the container's mount reached {}", sub.display());
    // The old root was a peer of the host's mounts: its detach must not
    // have propagated (it is made a slave first).
    let vol = host.0.to_str().unwrap();
    assert!(
        mountinfo.lines().any(|l| l.split(' ').nth(4) == Some(vol)),
        "the host's own mount at {vol} is still there"
    );
    drop(host);
    b.assert_clean(&id);
}

#[test]
fn rootfs_propagation() {
    let mut b = Bundle::new("rootprop");
    b.config_mut(|c| c["linux"]["rootfsPropagation"] = json!("private"));
    let f = root_mount_optional_fields(&b.run_report());
    assert!(
        !f.contains("shared:") && !f.contains("master:"),
        "private root: {f:?}"
    );

    b.config_mut(|c| c["linux"]["rootfsPropagation"] = json!("shared"));
    let f = root_mount_optional_fields(&b.run_report());
    if !skip_if_runc("runc 1.1 does not make the root mount shared (runtime-tools fails it)") {
        assert!(f.contains("shared:"), "shared root: {f:?}");
    }
}

#[test]
fn no_pivot() {
    let mut b = Bundle::new("nopivot");
    b.set_sh("/bin/probe stat /bin/probe && exec /bin/probe report");
    let id = b.id();
    let out = b.corten(&["run", "--no-pivot", "--bundle", &b.dir_str(), &id]);
    out.ok();
    let st: Value =
        serde_json::from_str(out.stdout.lines().next().unwrap_or_default()).expect("stat output");
    assert_eq!(st["exists"], true, "the rootfs is the container's root");
    let r = last_json(&out.stdout);
    assert_eq!(r["cwd"], "/");
    assert!(mount_at(&r, "/proc").is_some());
    assert!(
        !r["mounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .any(|m| m["mount_point"]
                .as_str()
                .is_some_and(|p| p.starts_with(&b.tmp.to_string_lossy().into_owned()))),
        "host paths visible inside: {}",
        r["mounts"]
    );
    b.assert_clean(&id);
}

#[test]
fn masked_and_readonly_paths() {
    let mut b = Bundle::new("masked");
    let config = b.config().clone();
    let list = |k: &str| -> Vec<String> {
        config["linux"][k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (masked, readonly) = (list("maskedPaths"), list("readonlyPaths"));
    assert!(
        masked.iter().any(|p| p == "/proc/keys"),
        "spec masks /proc/keys: {masked:?}"
    );
    assert!(
        readonly.iter().any(|p| p == "/proc/sys"),
        "spec makes /proc/sys ro: {readonly:?}"
    );
    let r = b.run_report();
    // Same kernel inside and out: a path the host has exists in the container's /proc and /sys.
    for p in masked.iter().filter(|p| Path::new(p).exists()) {
        assert!(
            mount_at(&r, p).is_some(),
            "masked path {p} has no mount over it"
        );
    }
    for p in readonly.iter().filter(|p| Path::new(p).exists()) {
        let m = mount_at(&r, p).unwrap_or_else(|| panic!("readonly path {p} not mounted"));
        assert!(
            opts(m, "mount_options").contains(&"ro".into()),
            "{p} not ro: {m}"
        );
    }
    // A masked file reads as empty.
    if let Some(file) = masked.iter().find(|p| Path::new(p).is_file()) {
        b.set_args(&[PROBE, "cat", file]);
        assert_eq!(b.run_ok(), "", "{file} is masked");
    }
}

#[test]
fn tmpcopyup_fills_the_tmpfs_with_what_it_hides() {
    use std::os::unix::fs::PermissionsExt;
    let mut b = Bundle::new("copyup");
    let data = b.rootfs.join("data");
    fs::create_dir_all(data.join("sub")).unwrap();
    fs::write(data.join("sub/file"), "image content").unwrap();
    // chown first: it clears the setuid bit.
    std::os::unix::fs::chown(data.join("sub/file"), Some(1234), Some(5678)).unwrap();
    fs::set_permissions(data.join("sub/file"), fs::Permissions::from_mode(0o4755)).unwrap();
    // A link that would read a host file if it were followed.
    std::os::unix::fs::symlink("/etc/shadow", data.join("link")).unwrap();
    let fifo = std::ffi::CString::new(data.join("fifo").to_str().unwrap()).unwrap();
    // SAFETY: a valid path string; mkfifo has no other effects.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o640) }, 0);
    b.config_mut(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/data", "type": "tmpfs", "source": "tmpfs",
            "options": ["tmpcopyup", "nosuid", "mode=755"]
        }));
    });
    b.set_sh(
        "grep ' /data ' /proc/self/mountinfo | grep -c tmpfs; cat /data/sub/file; echo; \
         stat -c '%a %u %g' /data/sub/file; readlink /data/link; stat -c %F /data/fifo; \
         echo written > /data/new",
    );
    let out = b.run_ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "1",
            "image content",
            "4755 1234 5678",
            "/etc/shadow",
            "fifo"
        ],
        "{out}"
    );
    assert!(
        !data.join("new").exists(),
        "writes go to the tmpfs, not the image"
    );

    // Read-only: filled, then remounted read-only.
    b.config_mut(|c| {
        let m = c["mounts"].as_array_mut().unwrap().last_mut().unwrap();
        m["options"] = json!(["tmpcopyup", "ro"]);
    });
    b.set_sh(
        "cat /data/sub/file; echo; touch /data/x 2>/dev/null && echo writable || echo read-only",
    );
    assert_eq!(
        b.run_ok().lines().collect::<Vec<_>>(),
        ["image content", "read-only"]
    );
}

/// A host directory for an idmapped bind: a file of root's and one of 5:5.
fn idmap_source(b: &Bundle) -> PathBuf {
    let host = b.tmp.join("idmap-src");
    fs::create_dir_all(&host).unwrap();
    fs::write(host.join("by-root"), "r").unwrap();
    fs::write(host.join("by-5"), "5").unwrap();
    std::os::unix::fs::chown(host.join("by-5"), Some(5), Some(5)).unwrap();
    host
}

#[test]
fn idmapped_bind_mount_maps_file_owners() {
    if is_runc() {
        return;
    }
    let mut b = Bundle::new("idmap");
    let host = idmap_source(&b);
    let host_s = host.display().to_string();
    b.config_mut(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/idmapped", "type": "bind", "source": host_s,
            "options": ["bind", "ro"],
            "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
            "gidMappings": [{"containerID": 0, "hostID": 2000, "size": 1}]
        }));
    });
    b.set_sh("stat -c '%u %g' /idmapped/by-root /idmapped/by-5; touch /idmapped/x 2>/dev/null || echo ro");
    let out = b.run_ok();
    // Owned by 0 on disk: shown through the map as 1000:2000. An owner the
    // map does not cover is the overflow id.
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["1000 2000", "65534 65534", "ro"],
        "{out}"
    );
    // The host's files are untouched.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(host.join("by-root")).unwrap().uid(), 0);
}

/// podman's `--read-only` /tmp: a tmpfs without `mode=` keeps the mode of
/// the directory it covers (runc's behaviour), not tmpfs's 1777.
#[test]
fn tmpfs_without_mode_keeps_the_mount_points_mode() {
    let mut b = Bundle::new("tmpfsmode");
    std::fs::create_dir_all(b.rootfs.join("mnt/strict")).unwrap();
    std::fs::set_permissions(
        b.rootfs.join("mnt/strict"),
        std::os::unix::fs::PermissionsExt::from_mode(0o750),
    )
    .unwrap();
    b.config_mut(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.push(
            json!({"destination": "/mnt/strict", "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev"]}),
        );
        mounts.push(json!({"destination": "/mnt/fresh", "type": "tmpfs", "source": "tmpfs"}));
        mounts.push(
            json!({"destination": "/mnt/given", "type": "tmpfs", "source": "tmpfs",
                           "options": ["mode=1777"]}),
        );
    });
    b.set_sh("stat -c %a /mnt/strict /mnt/fresh /mnt/given");
    assert_eq!(b.run_ok(), "750\n755\n1777\n");
}

/// `rnorelatime` leaves the atime mode as runc leaves it (relatime): runc
/// clears MOUNT_ATTR_RELATIME, which is 0 (issue 17).
#[test]
fn rnorelatime_gives_runcs_atime_mode() {
    let mut b = Bundle::new("rnorelatime");
    b.config_mut(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["rnorelatime"]
        }));
    });
    b.set_sh("grep ' /t ' /proc/self/mountinfo | cut -d' ' -f6");
    assert_eq!(b.run_ok().trim(), "rw,relatime");
}

/// `rnostrictatime`, `iversion` and `noiversion` are mount flags, as runc
/// takes them (and `features` lists them): a strictatime tmpfs made
/// `rnostrictatime` is relatime, where corten passed all three to tmpfs as
/// its own options and the mount failed (runc 1.5's atime mode; 1.1.5
/// left strictatime). Found by the differential harness
/// (features_shape), issue 17.
#[test]
fn rnostrictatime_and_iversion_are_mount_flags() {
    let mut b = Bundle::new("rnostrict");
    b.config_mut(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/t", "type": "tmpfs", "source": "tmpfs",
            "options": ["strictatime", "rnostrictatime", "iversion", "noiversion"]
        }));
    });
    b.set_sh("grep ' /t ' /proc/self/mountinfo | cut -d' ' -f6");
    let atime = b.run_ok();
    // runc before 1.5 (opencontainers/runc 5560d55) cleared only the
    // strictatime bit of the atime field, which the kernel refuses, and
    // left the mount strictatime.
    if !skip_if_runc("runc 1.1.5 leaves rnostrictatime's mount strictatime") {
        assert_eq!(atime.trim(), "rw,relatime");
    }
}

/// A masked path that is a symlink loop fails the create, as runc's and
/// crun's mount of /dev/null onto it does, instead of being skipped
/// (issue 17); a dangling one is skipped as a missing path.
#[test]
fn masked_path_that_is_a_symlink_loop_fails_the_create() {
    let mut b = Bundle::new("maskloop");
    std::os::unix::fs::symlink("loop", b.rootfs.join("loop")).unwrap();
    std::os::unix::fs::symlink("/nowhere", b.rootfs.join("dangling")).unwrap();
    b.config_mut(|c| c["linux"]["maskedPaths"] = json!(["/dangling"]));
    b.set_args(&["true"]);
    b.run_ok();
    b.config_mut(|c| c["linux"]["maskedPaths"] = json!(["/dangling", "/loop"]));
    let id = b.id();
    b.run(&id)
        .fails_with(1, "too many levels of symbolic links");
    b.assert_clean(&id);
}

/// /proc may be a bind of a procfs, its source relative to the bundle as
/// every bind source is (it was looked up relative to the caller's cwd and
/// refused as "not of type proc").
#[test]
fn proc_bound_from_a_source_relative_to_the_bundle_is_allowed() {
    let mut b = Bundle::new("procbind");
    std::os::unix::fs::symlink("/proc", b.dir.join("hostproc")).unwrap();
    b.config_mut(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["destination"] != "/proc");
        mounts.insert(
            0,
            json!({"destination": "/proc", "type": "bind", "source": "hostproc", "options": ["rbind"]}),
        );
        c["linux"]["maskedPaths"] = json!([]);
        c["linux"]["readonlyPaths"] = json!([]);
    });
    b.set_args(&["true"]);
    b.run_ok();
}

/// The mounts of a report at `mp`, bottom first.
fn mounts_at<'a>(report: &'a Value, mp: &str) -> Vec<&'a Value> {
    report["mounts"]
        .as_array()
        .expect("report has mounts")
        .iter()
        .filter(|m| m["mount_point"] == mp)
        .collect()
}

/// runc makes the read-only paths first and the masks over them (issue 17,
/// differential masked_then_readonly_order): a path in both lists is its
/// read-only bind with the mask on top, and a mask below a read-only path
/// is one mount, on the read-only bind (masked first, the recursive bind
/// copied the mask and left the original under it).
#[test]
fn masks_go_over_readonly_paths_in_runcs_order() {
    let mut b = Bundle::new("maskorder");
    fs::create_dir_all(b.rootfs.join("both")).unwrap();
    fs::create_dir_all(b.rootfs.join("outer/inner")).unwrap();
    b.config_mut(|c| {
        c["linux"]["readonlyPaths"] = json!(["/both", "/outer"]);
        c["linux"]["maskedPaths"] = json!(["/both", "/outer/inner"]);
    });
    let r = b.run_report();
    let kinds = |mp: &str| -> Vec<String> {
        mounts_at(&r, mp)
            .iter()
            .map(|m| {
                let ro = opts(m, "mount_options").contains(&"ro".to_string());
                format!(
                    "{}{}",
                    m["fstype"].as_str().unwrap_or("?"),
                    if ro { " ro" } else { "" }
                )
            })
            .collect()
    };
    let rootfs_type = mount_at(&r, "/").expect("root mount")["fstype"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    assert_eq!(
        kinds("/both"),
        [format!("{rootfs_type} ro"), "tmpfs ro".to_string()],
        "read-only bind, then the mask over it: {}",
        r["mounts"]
    );
    assert_eq!(kinds("/outer"), [format!("{rootfs_type} ro")]);
    assert_eq!(kinds("/outer/inner"), ["tmpfs ro"], "{}", r["mounts"]);
}

/// A masked directory is hidden by a tmpfs as runc makes it (issue 17,
/// differential run_default_report): source "tmpfs", read-only as a mount
/// and as a filesystem (runc mounts it MS_RDONLY; corten's was "none",
/// with a writable superblock).
#[test]
fn masked_directory_is_a_tmpfs_read_only_to_its_superblock() {
    let mut b = Bundle::new("maskdir");
    fs::create_dir_all(b.rootfs.join("hidden")).unwrap();
    fs::write(b.rootfs.join("hidden/secret"), "x").unwrap();
    b.config_mut(|c| c["linux"]["maskedPaths"] = json!(["/hidden"]));
    let r = b.run_report();
    let m = mount_at(&r, "/hidden").expect("a mask over /hidden");
    assert_eq!(m["fstype"], "tmpfs", "{m}");
    assert_eq!(m["source"], "tmpfs", "{m}");
    assert_eq!(opts(m, "mount_options")[0], "ro", "{m}");
    assert_eq!(opts(m, "super_options")[0], "ro", "{m}");
    b.set_sh("ls -A /hidden; touch /hidden/x 2>/dev/null && echo writable || echo read-only");
    assert_eq!(b.run_ok(), "read-only\n");
}

/// Whether this host is hybrid: v1 controllers with cgroup2 at
/// /sys/fs/cgroup/unified.
fn hybrid_host() -> bool {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .any(|l| l.contains(" /sys/fs/cgroup/unified ") && l.contains(" - cgroup2 "))
}

/// On a hybrid host the container sees the v1 hierarchies only, as under
/// every runc (1.1 to 1.4 list the hierarchies to mount by fstype "cgroup"):
/// corten also mounted the cgroup2 one at /sys/fs/cgroup/unified (issue 17,
/// differential run_default_report).
#[test]
fn hybrid_hosts_cgroup2_hierarchy_is_not_mounted_in_the_container() {
    if !hybrid_host() {
        return;
    }
    for cgroupns in [false, true] {
        let mut b = Bundle::new("cghybrid");
        if cgroupns {
            b.config_mut(with_cgroup_ns);
        }
        let r = b.run_report();
        assert!(
            mount_at(&r, "/sys/fs/cgroup/pids").is_some(),
            "v1 hierarchies are mounted: {}",
            r["mounts"]
        );
        assert!(
            mount_at(&r, "/sys/fs/cgroup/unified").is_none(),
            "cgroup namespace {cgroupns}: {}",
            r["mounts"]
        );
    }
}

/// In a cgroup namespace the v1 hierarchies are mounted afresh with runc's
/// sources: "systemd" for name=systemd, "cgroup" for the others (issue 17,
/// differential ns_cgroup_namespace; corten's systemd mount said "cgroup").
#[test]
fn cgroup_namespace_mounts_name_systemd_with_source_systemd() {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    if !info.contains(" /sys/fs/cgroup/systemd ") {
        return; // no v1 name=systemd hierarchy on this host
    }
    let mut b = Bundle::new("cgsystemd");
    b.config_mut(with_cgroup_ns);
    let r = b.run_report();
    let m = mount_at(&r, "/sys/fs/cgroup/systemd").expect("name=systemd mounted");
    assert_eq!(m["fstype"], "cgroup", "{m}");
    assert_eq!(m["source"], "systemd", "{m}");
    let m = mount_at(&r, "/sys/fs/cgroup/pids").expect("pids mounted");
    assert_eq!(m["source"], "cgroup", "{m}");
}

/// `--no-pivot` leaves the host's mounts under the container's root in its
/// mount namespace. A full procfs or sysfs among them (the host's /proc and
/// /sys) would let a user namespace made there mount a new, unmasked one
/// (the kernel's mount_too_revealing asks only that one be fully visible);
/// runc's msMoveRoot detaches them (issue 17). Checked from the namespace's
/// root, where a process that got out of the chroot would stand.
#[test]
fn no_pivot_leaves_no_fully_visible_procfs_or_sysfs() {
    // The check itself needs user namespaces: on the host, where /proc is
    // fully visible, it succeeds.
    let control = std::process::Command::new("unshare")
        .args(["-Urmpf", "--mount-proc", "true"])
        .status();
    if !control.is_ok_and(|s| s.success()) {
        return;
    }
    let mut b = Bundle::new("nopivotproc");
    b.set_args(&["sleep", "30"]);
    let id = b.id();
    b.corten(&["run", "-d", "--no-pivot", "--bundle", &b.dir_str(), &id])
        .ok();
    let pid = b.pid(&id).to_string();
    let in_ns = |script: &str| {
        std::process::Command::new("nsenter")
            .args([
                "-t",
                &pid,
                "-m",
                "-p",
                "/bin/unshare",
                "-Urmnpf",
                "/bin/sh",
                "-c",
            ])
            .arg(script)
            .output()
            .expect("run nsenter")
    };
    let proc = in_ns("mount -t proc proc /proc && echo mounted");
    let sys = in_ns("mount -t sysfs -o ro sysfs /sys && echo mounted");
    b.delete_force(&id);
    b.assert_clean(&id);
    for (what, out) in [("procfs", proc), ("sysfs", sys)] {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success() && !text.contains("mounted"),
            "a new {what} could be mounted: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("denied")
                || String::from_utf8_lossy(&out.stderr).contains("not permitted"),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A user namespace mapping the container's 0..65536 to the host's 100000..
fn with_userns(c: &mut Value) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c["linux"]["uidMappings"] = map.clone();
    c["linux"]["gidMappings"] = map;
}

/// A bind source only the host's root may reach (under a 0700 directory)
/// works in a user-namespaced container, as with runc: the runtime opens
/// it with its own credentials, not the container root's (host uid 100000).
#[test]
fn bind_source_only_root_can_reach_works_in_a_user_namespace() {
    use std::os::unix::fs::PermissionsExt;
    let mut b = Bundle::new("privsrc");
    let private = b.tmp.join("private");
    fs::create_dir_all(private.join("data")).unwrap();
    fs::write(private.join("data/hello"), "hello").unwrap();
    fs::write(private.join("file"), "a file").unwrap();
    fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).unwrap();
    let (dir, file) = (private.join("data"), private.join("file"));
    // The rootfs is the host root's, which the user namespace does not map:
    // the mount points exist beforehand, as in an image made for it.
    fs::create_dir_all(b.rootfs.join("data")).unwrap();
    fs::write(b.rootfs.join("etc/file"), "").unwrap();
    b.config_mut(|c| {
        with_userns(c);
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.push(json!({"destination": "/data", "type": "bind",
            "source": dir.to_str().unwrap(), "options": ["rbind", "ro"]}));
        mounts.push(json!({"destination": "/etc/file", "type": "bind",
            "source": file.to_str().unwrap(), "options": ["bind"]}));
    });
    b.set_sh("cat /data/hello; echo; cat /etc/file; echo; touch /data/x 2>/dev/null || echo ro");
    let out = b.run_ok();
    assert_eq!(out, "hello\na file\nro\n");
}

/// An idmapped bind (`idmap`: the container's own maps) in a user-namespaced
/// container: the host's root-owned files appear as the container root's.
/// The kernel refuses MOUNT_ATTR_IDMAP from inside the container's user
/// namespace, so the runtime makes the mount outside it.
#[test]
fn idmapped_bind_mount_works_in_a_user_namespace() {
    if skip_if_runc("runc 1.1.5 has no idmapped mounts") {
        return;
    }
    let mut b = Bundle::new("idmapns");
    let host = idmap_source(&b);
    fs::create_dir_all(b.rootfs.join("idmapped")).unwrap();
    let host_s = host.display().to_string();
    b.config_mut(|c| {
        with_userns(c);
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/idmapped", "type": "bind", "source": host_s,
            "options": ["bind", "idmap"]
        }));
    });
    b.set_sh("stat -c '%u %g' /idmapped/by-root /idmapped/by-5; touch /idmapped/made");
    let out = b.run_ok();
    assert_eq!(out.lines().collect::<Vec<_>>(), ["0 0", "5 5"], "{out}");
    // Made by the container's root: the host's root on disk.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(host.join("made")).unwrap().uid(), 0);
}

/// A /dev tmpfs with `ro` is filled (nodes, pts, shm) and made read-only
/// last, as runc makes it: read-only itself, its submounts as they were.
#[test]
fn dev_mounted_read_only_is_filled_first() {
    let mut b = Bundle::new("devro");
    b.config_mut(|c| {
        for m in c["mounts"].as_array_mut().unwrap() {
            if m["destination"] == "/dev" {
                m["options"].as_array_mut().unwrap().push(json!("ro"));
            }
        }
    });
    b.set_sh(
        "[ -c /dev/null ] && [ -d /dev/pts ] && echo filled; touch /dev/x 2>/dev/null || echo ro; \
         touch /dev/shm/x && echo shm-rw; grep -c ' /dev ro,' /proc/self/mountinfo",
    );
    assert_eq!(
        b.run_ok().lines().collect::<Vec<_>>(),
        ["filled", "ro", "shm-rw", "1"]
    );
}
