//! Against the kernel: load, attach to a fresh cgroup2 directory, and let a
//! child process in it try devices. The child is this test binary run
//! again on `probe_child` (a test harness has threads, so no fork): it
//! moves itself into the cgroup and reports what each access returned.
//! Skipped, with the reason, when not root or without a cgroup2 mount.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::rule::Rule;
use super::*;
use crate::mountinfo;

const PROBE_DIR: &str = "CORTEN_BPF_DEVICES_PROBE_DIR";
const PROBE_OPS: &str = "CORTEN_BPF_DEVICES_PROBE_OPS";

fn rules(list: &[(bool, &str)]) -> Vec<(bool, String)> {
    list.iter().map(|(a, t)| (*a, t.to_string())).collect()
}

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"));
    // Real, effective, ...: the effective one decides.
    uid.and_then(|u| u.split_whitespace().nth(1)) == Some("0")
}

/// A new cgroup2 directory, removed on drop.
struct TestCgroup {
    path: PathBuf,
    dir: File,
}

impl TestCgroup {
    fn new(tag: &str) -> Option<TestCgroup> {
        if !is_root() {
            eprintln!("skipped: attaching a device program needs root");
            return None;
        }
        let hierarchies = mountinfo::host_hierarchies().unwrap_or_default();
        let Some(root) = hierarchies.iter().find(|h| h.fstype == "cgroup2") else {
            eprintln!("skipped: no cgroup2 hierarchy is mounted");
            return None;
        };
        let name = format!("corten-bpf-test-{}-{tag}", std::process::id());
        let path = root.mount_point.join(name);
        std::fs::create_dir(&path).unwrap();
        let dir = File::open(&path).unwrap();
        Some(TestCgroup { path, dir })
    }

    fn ids(&self) -> Vec<u32> {
        sys::bpf::prog_query(self.dir.as_fd(), sys::bpf::CGROUP_DEVICE).unwrap()
    }

    /// Runs the probe child in this cgroup; each op's result by op.
    fn probe(&self, ops: &[&str]) -> BTreeMap<String, String> {
        let test = module_path!().split_once("::").unwrap().1;
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &format!("{test}::probe_child")])
            .args(["--nocapture", "--test-threads=1", "-q"])
            .env(PROBE_DIR, &self.path)
            .env(PROBE_OPS, ops.join(","))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "probe: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let results: BTreeMap<_, _> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("probe "))
            .filter_map(|l| l.split_once(' '))
            .map(|(op, r)| (op.to_string(), r.to_string()))
            .collect();
        assert_eq!(results.len(), ops.len(), "{stdout}");
        results
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // The probe has exited (and was reaped), so the directory is empty;
        // its programs go with it.
        if let Err(e) = std::fs::remove_dir(&self.path) {
            eprintln!("removing {}: {e}", self.path.display());
        }
    }
}

fn expect(results: &BTreeMap<String, String>, want: &[(&str, &str)]) {
    let want: BTreeMap<_, _> = want
        .iter()
        .map(|(o, r)| (o.to_string(), r.to_string()))
        .collect();
    assert_eq!(results, &want);
}

/// The child's side: not a test of its own (it passes at once when the
/// variables are unset).
#[test]
fn probe_child() {
    let (Ok(dir), Ok(ops)) = (std::env::var(PROBE_DIR), std::env::var(PROBE_OPS)) else {
        return;
    };
    // "0" is the writer: the whole process moves, all its threads.
    std::fs::write(Path::new(&dir).join("cgroup.procs"), "0").unwrap();
    for op in ops.split(',') {
        let result = match op.split_once(':').unwrap() {
            ("mknod", numbers) => mknod(numbers),
            (mode, path) => {
                let mut o = std::fs::OpenOptions::new();
                o.read(mode.contains('r')).write(mode.contains('w'));
                o.open(path).map(drop)
            }
        };
        let result = match result {
            Ok(()) => "ok".to_string(),
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => "EPERM".to_string(),
            Err(e) => e.to_string(),
        };
        println!("probe {op} {result}");
    }
}

/// mknod of a char device `major:minor` in the temporary directory.
fn mknod(numbers: &str) -> std::io::Result<()> {
    let (major, minor) = numbers.split_once(':').unwrap();
    let (major, minor) = (major.parse().unwrap(), minor.parse().unwrap());
    let tmp = File::open(std::env::temp_dir())?;
    let name = PathBuf::from(format!(
        "corten-bpf-probe-{}-{major}-{minor}",
        std::process::id()
    ));
    sys::fs::mknodat(tmp.as_fd(), &name, libc::S_IFCHR | 0o600, major, minor)?;
    std::fs::remove_file(std::env::temp_dir().join(name))
}

const NULL_RW_ZERO_R: &[(bool, &str)] = &[(false, "a"), (true, "c 1:3 rwm"), (true, "c 1:5 r")];

#[test]
fn only_the_allowed_devices_open() {
    let Some(cg) = TestCgroup::new("allow") else {
        return;
    };
    attach(cg.dir.as_fd(), &rules(NULL_RW_ZERO_R)).unwrap();
    assert_eq!(cg.ids().len(), 1);
    let r = cg.probe(&[
        "rw:/dev/null",
        "w:/dev/zero",
        "r:/dev/zero",
        "r:/dev/full",
        "mknod:1:3",
        "mknod:1:7",
    ]);
    expect(
        &r,
        &[
            ("rw:/dev/null", "ok"),
            ("w:/dev/zero", "EPERM"),
            ("r:/dev/zero", "ok"),
            ("r:/dev/full", "EPERM"),
            ("mknod:1:3", "ok"),
            ("mknod:1:7", "EPERM"),
        ],
    );
}

#[test]
fn a_second_attach_replaces_the_first() {
    let Some(cg) = TestCgroup::new("replace") else {
        return;
    };
    attach(cg.dir.as_fd(), &rules(NULL_RW_ZERO_R)).unwrap();
    let first = cg.ids();
    // A deny list now: everything but writing /dev/zero.
    attach(cg.dir.as_fd(), &rules(&[(true, "a"), (false, "c 1:5 w")])).unwrap();
    let second = cg.ids();
    assert_eq!(
        second.len(),
        1,
        "the first program is still attached: {second:?}"
    );
    assert_ne!(first, second);
    let r = cg.probe(&["r:/dev/zero", "rw:/dev/zero", "w:/dev/full", "rw:/dev/null"]);
    expect(
        &r,
        &[
            ("r:/dev/zero", "ok"),
            // Read-write asks for the denied write too (v1's partial match).
            ("rw:/dev/zero", "EPERM"),
            ("w:/dev/full", "ok"),
            ("rw:/dev/null", "ok"),
        ],
    );
}

#[test]
fn a_refused_rule_list_leaves_the_program_in_place() {
    let Some(cg) = TestCgroup::new("refused") else {
        return;
    };
    attach(cg.dir.as_fd(), &rules(NULL_RW_ZERO_R)).unwrap();
    let before = cg.ids();
    let hole = rules(&[(true, "c 1:* rwm"), (false, "c 1:5 w")]);
    let e = attach(cg.dir.as_fd(), &hole).unwrap_err();
    assert!(e.to_string().contains("punch a hole"), "{e}");
    assert_eq!(cg.ids(), before);
}

#[test]
fn errors_name_the_directory() {
    // Not a cgroup: the query fails (EBADF as root, EPERM otherwise).
    let dir = File::open(std::env::temp_dir()).unwrap();
    let e = attach(dir.as_fd(), &rules(NULL_RW_ZERO_R)).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("bpf(BPF_PROG_QUERY)"), "{msg}");
    assert!(
        msg.contains(&*std::env::temp_dir().to_string_lossy()),
        "{msg}"
    );
}

#[test]
fn the_verifier_takes_the_runtime_default_program() {
    if !is_root() {
        eprintln!("skipped: loading a device program needs root");
        return;
    }
    // What a create sets for a config with one block device node, and a
    // number past i32::MAX, which takes the register compare.
    let mut list = crate::devices::runtime_defaults();
    list.push((true, "c 4294967295:* r".to_string()));
    let list: Vec<Rule> = rule::from_v1(&list).unwrap();
    let insns = program(&Emulator::from_rules(&list).unwrap());
    sys::bpf::prog_load(sys::bpf::PROG_TYPE_CGROUP_DEVICE, &insns, LICENSE, NAME)
        .unwrap_or_else(|e| panic!("{e}"));
}
