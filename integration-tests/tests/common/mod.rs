//! Harness for the black-box tests: builds a bundle per test, drives the runtime
//! binary under test and checks that nothing is left behind.
//!
//! The binary under test is `$CORTEN_BIN` (default `<workspace>/target/<triple>/debug/corten`,
//! where .cargo/config.toml puts it, or `<workspace>/target/debug/corten`).
//! The rootfs is copied from `$CORTEN_ROOTFS` (default `<workspace>/bundles/busybox/rootfs`)
//! and the static probe from `$CORTEN_PROBE` (default `<workspace>/target/{release,debug}/probe`);
//! `hack/test.sh` builds both. Set `CORTEN_IT_KEEP=1` to keep every test's temp dir.
//!
//! Each test gets its own temp dir `/tmp/corten-it-<name>-<pid>-<n>` holding the bundle
//! (`bundle/config.json`, `bundle/rootfs` as a private copy), the runtime's `--root`
//! (`state/`) and the runtime's captured stdio (`io/`). Dropping the [`Bundle`] force-deletes
//! every container in that root and removes the temp dir, and nothing else.

// Every test file includes this module and uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A runtime invocation that takes longer than this is killed and the test fails.
pub const RUNTIME_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for a container to reach a state or print something.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The probe's path inside every rootfs.
pub const PROBE: &str = "/bin/probe";

/// The cargo workspace root (the parent of this crate).
pub fn workspace() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Where cargo puts the debug build of corten (see .cargo/config.toml).
fn default_bin() -> PathBuf {
    let candidates = [
        "target/x86_64-unknown-linux-gnu/debug/corten",
        "target/debug/corten",
    ];
    candidates
        .iter()
        .map(|c| workspace().join(c))
        .find(|p| p.is_file())
        .unwrap_or_else(|| workspace().join(candidates[0]))
}

/// The runtime binary under test.
pub fn bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let p = env_path("CORTEN_BIN").unwrap_or_else(default_bin);
        assert!(
            p.is_file(),
            "runtime binary {} not found: build it (cargo build -p corten, or run hack/test.sh) \
             or point CORTEN_BIN at a runtime",
            p.display()
        );
        p
    })
    .clone()
}

/// The `--version` output of the binary under test.
pub fn version_output() -> String {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let out = Command::new(bin())
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .expect("run --version");
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .clone()
}

/// True when the binary under test is runc (used to validate this suite).
pub fn is_runc() -> bool {
    version_output().trim_start().starts_with("runc")
}

/// Whether the suite runs the runtime with systemd's cgroup driver
/// (`CORTEN_IT_CGROUP_DRIVER=systemd`, in the systemd VM): every call gets
/// `--systemd-cgroup`, and a config's cgroupsPath that is a path becomes
/// the scope [`systemd_scope_of`] names.
pub fn systemd_cgroups() -> bool {
    std::env::var("CORTEN_IT_CGROUP_DRIVER").as_deref() == Ok("systemd")
}

/// The scope a cgroupfs cgroupsPath becomes under [`systemd_cgroups`]:
/// `system.slice:cortenit:<the path's levels joined by "_">`, whose
/// directory is `/system.slice/cortenit-<...>.scope`. Returns (the
/// cgroupsPath to write, the directory in the hierarchy).
pub fn systemd_scope_of(path: &str) -> (String, String) {
    let name: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let name = name.join("_");
    (
        format!("system.slice:cortenit:{name}"),
        format!("/system.slice/cortenit-{name}.scope"),
    )
}

/// Returns true (and says so) when the suite runs under systemd's driver
/// and the check is about what only the cgroupfs driver does (a cgroupsPath
/// made or limited beforehand, its parent levels).
pub fn skip_under_systemd(why: &str) -> bool {
    if systemd_cgroups() {
        eprintln!("NOTE: skipped under --systemd-cgroup: {why}");
        true
    } else {
        false
    }
}

/// Returns true (and says so) when testing runc and the check is one where runc knowingly
/// differs from what corten must do. The caller then skips that check.
pub fn skip_if_runc(why: &str) -> bool {
    if is_runc() {
        eprintln!("NOTE: skipped against runc (runc differs on purpose): {why}");
        true
    } else {
        false
    }
}

fn rootfs_source() -> PathBuf {
    let p = env_path("CORTEN_ROOTFS").unwrap_or_else(|| workspace().join("bundles/busybox/rootfs"));
    assert!(
        p.join("bin/busybox").exists() || p.join("bin/sh").exists(),
        "busybox rootfs {} is missing: run hack/test.sh (it runs hack/mkrootfs.sh) \
         or set CORTEN_ROOTFS",
        p.display()
    );
    p
}

fn probe_source() -> PathBuf {
    if let Some(p) = env_path("CORTEN_PROBE") {
        assert!(p.is_file(), "CORTEN_PROBE={} does not exist", p.display());
        return p;
    }
    let ws = workspace();
    [
        "target/x86_64-unknown-linux-gnu/release/probe",
        "target/release/probe",
        "target/debug/probe",
    ]
    .iter()
    .map(|rel| ws.join(rel))
    .find(|p| p.is_file())
    .unwrap_or_else(|| {
        panic!(
            "probe binary not found under {}/target: run hack/test.sh (it builds it with \
                 `cargo build --release -p corten-probe`, static through .cargo/config.toml) \
                 or set CORTEN_PROBE",
            ws.display()
        )
    })
}

/// What one runtime invocation did.
#[derive(Debug)]
pub struct Output {
    /// The command line, for messages.
    pub cmdline: String,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The file the runtime's stdout went to: a container created by this call inherits it, so
    /// [`Output::reread_stdout`] shows what the container printed later.
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
}

impl Output {
    fn describe(&self) -> String {
        format!(
            "`{}` exited with code {:?} signal {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmdline, self.code, self.signal, self.stdout, self.stderr
        )
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "expected success: {}", self.describe());
        self
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code_is(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}: {}",
            self.describe()
        );
        self
    }

    /// Asserts an expected failure: exit `code`, exactly one non-empty line on stderr, and
    /// that line contains `needle` (ASCII case-insensitively; "" accepts any message).
    #[track_caller]
    pub fn fails_with(&self, code: i32, needle: &str) -> &Self {
        self.fails_with_any(code, &[needle])
    }

    /// Like [`Output::fails_with`], with several acceptable substrings.
    #[track_caller]
    pub fn fails_with_any(&self, code: i32, needles: &[&str]) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}: {}",
            self.describe()
        );
        let lines = self.stderr_lines();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one error line on stderr: {}",
            self.describe()
        );
        let line = lines[0].to_ascii_lowercase();
        assert!(
            needles
                .iter()
                .any(|n| line.contains(&n.to_ascii_lowercase())),
            "error line should contain one of {needles:?}: {}",
            self.describe()
        );
        self
    }

    /// Non-empty stderr lines.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }

    /// stdout parsed as one JSON value.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.describe()))
    }

    /// The stdout file read again (it also holds what a container created by this call printed).
    pub fn reread_stdout(&self) -> String {
        fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    pub fn reread_stderr(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

/// A runtime process started with [`Call::spawn`].
pub struct Spawned {
    child: Child,
    cmdline: String,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
}

impl Spawned {
    /// The runtime's pid (a process this test started).
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// What the runtime (and any container it started) has printed so far.
    pub fn stdout_so_far(&self) -> String {
        fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// Waits for stdout to contain `needle`; fails the test after [`WAIT_TIMEOUT`].
    #[track_caller]
    pub fn wait_stdout(&mut self, needle: &str) {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            if self.stdout_so_far().contains(needle) {
                return;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                // One last look: the output may have landed right before the exit.
                if self.stdout_so_far().contains(needle) {
                    return;
                }
                panic!(
                    "`{}` exited ({st:?}) before printing {needle:?}; stdout: {:?}, stderr: {:?}",
                    self.cmdline,
                    self.stdout_so_far(),
                    fs::read_to_string(&self.stderr_path).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "`{}` did not print {needle:?} in {WAIT_TIMEOUT:?}; stdout: {:?}",
                self.cmdline,
                self.stdout_so_far()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the runtime (a process this test started, by its pid) and
    /// returns what it printed until then.
    pub fn stop(mut self) -> Output {
        let _ = self.child.kill();
        self.wait()
    }

    /// Waits for the runtime to exit; kills it and fails the test after [`RUNTIME_TIMEOUT`].
    #[track_caller]
    pub fn wait(mut self) -> Output {
        let deadline = Instant::now() + RUNTIME_TIMEOUT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(st)) => break st,
                Ok(None) => {}
                Err(e) => panic!("waiting for `{}`: {e}", self.cmdline),
            }
            if Instant::now() >= deadline {
                // The runtime is our child: killing it by its pid is safe.
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "`{}` did not finish in {RUNTIME_TIMEOUT:?} and was killed; stdout: {:?}, \
                     stderr: {:?}",
                    self.cmdline,
                    fs::read_to_string(&self.stdout_path).unwrap_or_default(),
                    fs::read_to_string(&self.stderr_path).unwrap_or_default()
                );
            }
            thread::sleep(Duration::from_millis(5));
        };
        Output {
            cmdline: self.cmdline,
            code: status.code(),
            signal: status.signal(),
            stdout: fs::read_to_string(&self.stdout_path).unwrap_or_default(),
            stderr: fs::read_to_string(&self.stderr_path).unwrap_or_default(),
            stdout_path: self.stdout_path,
            stderr_path: self.stderr_path,
        }
    }
}

/// Adds a cgroup namespace, which `spec` gives only on a cgroup-v2-only
/// host (as runc's spec), for tests that look at paths inside it.
pub fn with_cgroup_ns(config: &mut serde_json::Value) {
    let ns = config["linux"]["namespaces"]
        .as_array_mut()
        .expect("the config lists namespaces");
    if !ns.iter().any(|n| n["type"] == "cgroup") {
        ns.push(json!({"type": "cgroup"}));
    }
}

/// Adds capability `cap` to the bounding, effective and permitted sets of
/// a config's process.
pub fn grant_cap(config: &mut serde_json::Value, cap: &str) {
    for set in ["bounding", "effective", "permitted"] {
        config["process"]["capabilities"][set]
            .as_array_mut()
            .expect("a capability set")
            .push(serde_json::json!(cap));
    }
}

/// One runtime invocation being prepared: `$CORTEN_BIN --root <root> ARGS`.
pub struct Call<'a> {
    bundle: &'a Bundle,
    args: Vec<OsString>,
    with_root: bool,
    cwd: PathBuf,
    fds: Vec<(RawFd, RawFd)>,
    env: Vec<(String, String)>,
    user: Option<(u32, u32)>,
    cgroup: Option<PathBuf>,
    no_dac_override: bool,
    address_space: Option<u64>,
    stdin: Option<fs::File>,
}

impl Call<'_> {
    /// Runs the runtime as root without CAP_DAC_OVERRIDE: file modes hold
    /// for it as for any user (a cgroup file it may not write, say).
    pub fn without_dac_override(mut self) -> Self {
        self.no_dac_override = true;
        self
    }

    /// Runs the runtime as an unprivileged user (uid, gid), no supplementary groups.
    pub fn run_as(mut self, uid: u32, gid: u32) -> Self {
        self.user = Some((uid, gid));
        self
    }

    /// With [`Call::run_as`]: starts the runtime in the cgroup v2 directory
    /// `dir` (moved there while still root), as a login manager starts a
    /// user's session in the subtree delegated to it.
    pub fn in_cgroup(mut self, dir: &Path) -> Self {
        self.cgroup = Some(dir.to_path_buf());
        self
    }

    /// Leaves out the automatic `--root <root>` (the test passes its own form of it).
    pub fn no_root(mut self) -> Self {
        self.with_root = false;
        self
    }

    /// Caps the runtime's address space (RLIMIT_AS) at `bytes`: a runtime
    /// that would read without end fails fast instead of taking the
    /// machine's memory.
    pub fn limit_address_space(mut self, bytes: u64) -> Self {
        self.address_space = Some(bytes);
        self
    }

    /// Gives the runtime `file` as its stdin instead of /dev/null.
    pub fn stdin_from(mut self, file: fs::File) -> Self {
        self.stdin = Some(file);
        self
    }

    /// Sets an environment variable for the runtime.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs the runtime in `dir` (default: the test's temp dir, which is not the bundle).
    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = dir.to_path_buf();
        self
    }

    /// Makes `src` open as fd `target` (without close-on-exec) in the runtime process.
    /// `src` must stay open until the call is spawned.
    pub fn pass_fd(mut self, src: &impl AsRawFd, target: RawFd) -> Self {
        assert!(target > 2 && self.fds.len() < 8);
        self.fds.push((src.as_raw_fd(), target));
        self
    }

    /// Starts the runtime; stdin is /dev/null (unless [`Call::stdin_from`]), stdout and stderr go to fresh files in the
    /// test's io dir (files, not pipes: a container inherits them and may outlive the call).
    pub fn spawn(self) -> Spawned {
        let n = self.bundle.io_seq.fetch_add(1, Ordering::Relaxed);
        let stdout_path = self.bundle.tmp.join(format!("io/{n:03}.out"));
        let stderr_path = self.bundle.tmp.join(format!("io/{n:03}.err"));
        let stdout = fs::File::create(&stdout_path).expect("create stdout file");
        let stderr = fs::File::create(&stderr_path).expect("create stderr file");
        let mut full: Vec<OsString> = Vec::new();
        if self.with_root {
            full.push("--root".into());
            full.push(self.bundle.root.clone().into());
            if systemd_cgroups() {
                full.push("--systemd-cgroup".into());
            }
        }
        full.extend(self.args.iter().cloned());
        let cmdline = format!(
            "{} {}",
            self.bundle.runtime.display(),
            full.iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut cmd = match (self.user, &self.cgroup) {
            // std drops the supplementary groups when root sets a uid.
            (Some((uid, gid)), None) => {
                let mut cmd = Command::new(self.bundle.runtime_for_users());
                cmd.uid(uid).gid(gid);
                cmd
            }
            (Some((uid, gid)), Some(dir)) => {
                let mut cmd = Command::new(self.bundle.runtime_for_users());
                let procs = std::ffi::CString::new(
                    dir.join("cgroup.procs")
                        .into_os_string()
                        .into_encoded_bytes(),
                )
                .expect("cgroup path");
                // SAFETY: the closure runs in the forked child before exec and only makes
                // async-signal-safe calls (open, write, close, setgroups, setgid, setuid) on
                // a string allocated before the fork. std applies its own uid after this
                // closure would run, too late to move the process as root: it is done here.
                unsafe {
                    cmd.pre_exec(move || {
                        let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                        if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                            return Err(io::Error::last_os_error());
                        }
                        libc::close(fd);
                        if libc::setgroups(0, std::ptr::null()) != 0
                            || libc::setgid(gid) != 0
                            || libc::setuid(uid) != 0
                        {
                            return Err(io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
                cmd
            }
            (None, _) if self.no_dac_override => {
                let mut cmd = Command::new("setpriv");
                cmd.args(["--bounding-set=-dac_override", "--"])
                    .arg(&self.bundle.runtime);
                cmd
            }
            (None, _) => Command::new(&self.bundle.runtime),
        };
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.args(&full)
            .current_dir(&self.cwd)
            .stdin(self.stdin.map_or_else(Stdio::null, Stdio::from))
            .stdout(stdout)
            .stderr(stderr);
        if let Some(bytes) = self.address_space {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            // SAFETY: the closure runs in the forked child before exec and
            // only calls the async-signal-safe setrlimit on a copied value.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        if !self.fds.is_empty() {
            let fds = self.fds.clone();
            // SAFETY: the closure runs in the forked child before exec and only makes
            // async-signal-safe calls (fcntl, dup2, close) on a Vec allocated before the fork;
            // it does not allocate, lock or touch any other state of the parent.
            unsafe {
                cmd.pre_exec(move || {
                    // First move every source above any target, so that a source that happens
                    // to sit on another pair's target number is not clobbered by dup2.
                    let mut high = [-1 as RawFd; 8];
                    for (i, &(src, _)) in fds.iter().enumerate() {
                        let fd = libc::fcntl(src, libc::F_DUPFD_CLOEXEC, 100);
                        if fd < 0 {
                            return Err(io::Error::last_os_error());
                        }
                        high[i] = fd;
                    }
                    for (i, &(_, target)) in fds.iter().enumerate() {
                        // dup2 leaves the new fd without FD_CLOEXEC.
                        if libc::dup2(high[i], target) < 0 {
                            return Err(io::Error::last_os_error());
                        }
                        libc::close(high[i]);
                    }
                    Ok(())
                });
            }
        }
        // A runtime copied for users (runtime_for_users) may still be open
        // for writing in a child another test thread forked meanwhile (until
        // that child's exec closes it): execve says ETXTBSY for a moment.
        let mut tries = 0;
        let child = loop {
            match cmd.spawn() {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 => {
                    tries += 1;
                    thread::sleep(Duration::from_millis(10));
                }
                other => break other.unwrap_or_else(|e| panic!("cannot run `{cmdline}`: {e}")),
            }
        };
        Spawned {
            child,
            cmdline,
            stdout_path,
            stderr_path,
        }
    }

    /// Runs the runtime to completion (with [`RUNTIME_TIMEOUT`]).
    #[track_caller]
    pub fn output(self) -> Output {
        self.spawn().wait()
    }
}

/// A test's bundle, runtime root and rootfs copy. Cleans up after itself on drop.
pub struct Bundle {
    pub name: String,
    /// The test's temp dir: holds everything below.
    pub tmp: PathBuf,
    /// The bundle dir (config.json and rootfs).
    pub dir: PathBuf,
    /// The runtime's `--root`.
    pub root: PathBuf,
    /// This test's private copy of the rootfs.
    pub rootfs: PathBuf,
    /// The runtime binary this bundle's calls run: [`bin`], or another
    /// runtime for the differential tests ([`Bundle::for_runtime`]).
    pub runtime: PathBuf,
    config: Value,
    io_seq: AtomicU32,
    id_seq: AtomicU32,
}

impl Bundle {
    /// A copy of the runtime in the test's temp dir, which any user may run
    /// (the checkout itself may sit in a directory only root can enter).
    pub fn runtime_for_users(&self) -> PathBuf {
        let copy = self.tmp.join("corten-for-users");
        if !copy.exists() {
            fs::copy(&self.runtime, &copy).expect("copy the runtime for users");
            set_mode(&copy, 0o755);
        }
        copy
    }

    /// Makes a fresh bundle: temp dir, private rootfs copy with the probe in `/bin/probe`, and a
    /// config made by `$CORTEN_BIN spec` in the bundle dir, then edited: absolute `root.path`,
    /// `process.terminal` false, `process.args` `["/bin/probe", "report"]`.
    pub fn new(name: &str) -> Bundle {
        Bundle::for_runtime(name, bin())
    }

    /// Like [`Bundle::new`], with `runtime` instead of [`bin`] for every call
    /// (`spec` and the cleanup too).
    pub fn for_runtime(name: &str, runtime: PathBuf) -> Bundle {
        let rootfs_src = rootfs_source();
        let probe = probe_source();
        let tmp = make_unique_dir(name);
        let dir = tmp.join("bundle");
        let root = tmp.join("state");
        let rootfs = dir.join("rootfs");
        for d in [&dir, &root, &tmp.join("io")] {
            fs::create_dir_all(d).expect("create test dirs");
        }
        let mut b = Bundle {
            name: name.to_string(),
            tmp,
            dir,
            root,
            rootfs,
            runtime,
            config: Value::Null,
            io_seq: AtomicU32::new(0),
            id_seq: AtomicU32::new(0),
        };
        let st = Command::new("cp")
            .arg("-a")
            .arg(&rootfs_src)
            .arg(&b.rootfs)
            .status()
            .expect("run cp");
        assert!(
            st.success(),
            "cp -a {} {} failed",
            rootfs_src.display(),
            b.rootfs.display()
        );
        let dest = b.rootfs.join("bin/probe");
        let _ = fs::remove_file(&dest);
        fs::copy(&probe, &dest).expect("copy probe into rootfs");
        set_mode(&dest, 0o755);

        // `spec` in the bundle dir, as in runc's tutorial.
        b.call(&["spec"])
            .no_root()
            .cwd(&b.dir.clone())
            .output()
            .ok();
        let text = fs::read_to_string(b.config_path()).expect("spec wrote no config.json");
        b.config = serde_json::from_str(&text).expect("spec wrote invalid JSON");
        let rootfs = b.rootfs.to_string_lossy().into_owned();
        b.config_mut(|c| {
            c["root"]["path"] = json!(rootfs);
            c["process"]["terminal"] = json!(false);
            c["process"]["args"] = json!([PROBE, "report"]);
        });
        b
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    pub fn dir_str(&self) -> String {
        self.dir.to_string_lossy().into_owned()
    }

    pub fn root_str(&self) -> String {
        self.root.to_string_lossy().into_owned()
    }

    /// The config as it was last written.
    pub fn config(&self) -> &Value {
        &self.config
    }

    /// Edits the config and writes it to config.json.
    pub fn config_mut(&mut self, f: impl FnOnce(&mut Value)) {
        f(&mut self.config);
        self.write_config();
    }

    /// Writes the config to config.json.
    pub fn write_config(&self) {
        let mut config = self.config.clone();
        if systemd_cgroups() {
            if let Some(p) = config["linux"]["cgroupsPath"]
                .as_str()
                .filter(|p| !p.contains(':'))
            {
                config["linux"]["cgroupsPath"] = json!(systemd_scope_of(p).0);
            }
        }
        let text = serde_json::to_string_pretty(&config).expect("serialize config");
        fs::write(self.config_path(), text).expect("write config.json");
    }

    /// Sets `process.args`.
    pub fn set_args(&mut self, args: &[&str]) {
        self.config_mut(|c| c["process"]["args"] = json!(args));
    }

    /// Sets `process.args` to `sh -c SCRIPT`.
    pub fn set_sh(&mut self, script: &str) {
        self.set_args(&["/bin/sh", "-c", script]);
    }

    /// A container id unique to this test run.
    pub fn id(&self) -> String {
        let n = self.id_seq.fetch_add(1, Ordering::Relaxed);
        format!("{}-{}-{}", self.name, std::process::id(), n)
    }

    /// Prepares `$CORTEN_BIN --root <root> ARGS`.
    pub fn call<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Call<'_> {
        Call {
            bundle: self,
            args: args.iter().map(|a| a.as_ref().to_os_string()).collect(),
            with_root: true,
            cwd: self.tmp.clone(),
            fds: Vec::new(),
            env: Vec::new(),
            user: None,
            cgroup: None,
            no_dac_override: false,
            address_space: None,
            stdin: None,
        }
    }

    /// Runs `$CORTEN_BIN --root <root> ARGS` to completion.
    #[track_caller]
    pub fn corten<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        self.call(args).output()
    }

    /// `create --bundle <dir> ID` (must succeed). Its stdout file is the container's stdout.
    #[track_caller]
    pub fn create(&self, id: &str) -> Output {
        let out = self.corten(&["create", "--bundle", &self.dir_str(), id]);
        out.ok();
        out
    }

    #[track_caller]
    pub fn start(&self, id: &str) {
        self.corten(&["start", id]).ok();
    }

    /// `create` + `start`; returns the create's output (its stdout file is the container's).
    #[track_caller]
    pub fn create_start(&self, id: &str) -> Output {
        let out = self.create(id);
        self.start(id);
        out
    }

    /// `state ID` parsed (must succeed).
    #[track_caller]
    pub fn state(&self, id: &str) -> Value {
        let out = self.corten(&["state", id]);
        out.ok();
        out.json()
    }

    /// The container's host pid from `state` (must be > 0).
    #[track_caller]
    pub fn pid(&self, id: &str) -> i32 {
        let st = self.state(id);
        let pid = st["pid"].as_i64().unwrap_or(0);
        assert!(pid > 0, "state of {id} has no pid: {st}");
        pid as i32
    }

    #[track_caller]
    pub fn kill(&self, id: &str, sig: &str) {
        self.corten(&["kill", id, sig]).ok();
    }

    #[track_caller]
    pub fn delete(&self, id: &str) {
        self.corten(&["delete", id]).ok();
    }

    #[track_caller]
    pub fn delete_force(&self, id: &str) {
        self.corten(&["delete", "--force", id]).ok();
    }

    /// `run --bundle <dir> ID` in the foreground; the exit code is not checked.
    #[track_caller]
    pub fn run(&self, id: &str) -> Output {
        self.corten(&["run", "--bundle", &self.dir_str(), id])
    }

    /// Starts `run --bundle <dir> ID` in the foreground without waiting for it.
    pub fn spawn_run(&self, id: &str) -> Spawned {
        self.call(&["run", "--bundle", &self.dir_str(), id]).spawn()
    }

    /// Runs the container with the current config; asserts exit 0; returns its stdout.
    #[track_caller]
    pub fn run_ok(&self) -> String {
        let id = self.id();
        let out = self.run(&id);
        out.ok();
        self.assert_clean(&id);
        out.stdout
    }

    /// Runs `probe report` (plus what the config says) and returns the report.
    #[track_caller]
    pub fn run_report(&mut self) -> Value {
        self.set_args(&[PROBE, "report"]);
        let stdout = self.run_ok();
        last_json(&stdout)
    }

    /// Waits until `state` reports `status`.
    #[track_caller]
    pub fn wait_status(&self, id: &str, status: &str) -> Value {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            let st = self.state(id);
            if st["status"] == status {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "container {id} did not reach {status:?} in {WAIT_TIMEOUT:?}: {st}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// `list -q` ids (must succeed).
    #[track_caller]
    pub fn list_ids(&self) -> Vec<String> {
        let out = self.corten(&["list", "-q"]);
        out.ok();
        out.stdout
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// Asserts `state ID` fails with "does not exist".
    #[track_caller]
    pub fn assert_gone(&self, id: &str) {
        self.corten(&["state", id]).fails_with(1, "does not exist");
        assert!(
            !self.list_ids().iter().any(|i| i == id),
            "{id} still listed"
        );
    }

    /// Asserts no state dir for `id` under the root.
    #[track_caller]
    pub fn assert_no_state_dir(&self, id: &str) {
        let p = self.root.join(id);
        assert!(!p.exists(), "state dir {} left behind", p.display());
    }

    /// Asserts no mount point under the test's temp dir (bundle, rootfs, root).
    #[track_caller]
    pub fn assert_no_mounts(&self) {
        let left = mounts_under(&self.tmp);
        assert!(
            left.is_empty(),
            "mounts left under {}: {left:?}",
            self.tmp.display()
        );
    }

    /// Asserts that no process has this test's rootfs as its root (polls briefly: a killed
    /// process may take a moment to be reaped).
    #[track_caller]
    pub fn assert_no_processes(&self) {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let left = self.processes_in_rootfs();
            if left.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "processes still running in {}: {:?}",
                self.rootfs.display(),
                left.iter().map(|&p| (p, cmdline_of(p))).collect::<Vec<_>>()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every leftover check for `id`: no state dir, no mount under the temp dir, no process.
    #[track_caller]
    pub fn assert_clean(&self, id: &str) {
        self.assert_no_state_dir(id);
        self.assert_no_mounts();
        self.assert_no_processes();
    }

    /// Pids whose root dir is this test's rootfs. After pivot_root, readlink(/proc/PID/root)
    /// reads "/" from outside, so the root is compared by device and inode as well.
    pub fn processes_in_rootfs(&self) -> Vec<i32> {
        let Ok(md) = fs::metadata(&self.rootfs) else {
            return Vec::new();
        };
        let me = std::process::id() as i32;
        let mut pids = Vec::new();
        let Ok(rd) = fs::read_dir("/proc") else {
            return pids;
        };
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if pid == me {
                continue;
            }
            let root = e.path().join("root");
            let same_path = fs::read_link(&root)
                .map(|l| l == self.rootfs)
                .unwrap_or(false);
            let same_inode = fs::metadata(&root)
                .map(|m| m.dev() == md.dev() && m.ino() == md.ino())
                .unwrap_or(false);
            if same_path || same_inode {
                pids.push(pid);
            }
        }
        pids
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        // Only this test's root: force-delete every container the runtime lists there, and
        // every state dir, in case `list` itself is broken.
        let mut ids: BTreeSet<String> = BTreeSet::new();
        if let Some(out) = self.cleanup_call(&["list", "-q"]) {
            ids.extend(
                out.lines()
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty()),
            );
        }
        if let Ok(rd) = fs::read_dir(&self.root) {
            ids.extend(
                rd.flatten()
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().to_str().map(str::to_string)),
            );
        }
        for id in &ids {
            self.cleanup_call(&["delete", "--force", id.as_str()]);
        }
        // Processes rooted in this test's private rootfs copy can only be this test's.
        let left = self.processes_in_rootfs();
        if !left.is_empty() {
            eprintln!(
                "cleanup: killing leftover processes in {}: {left:?}",
                self.rootfs.display()
            );
            for pid in left {
                // SAFETY: kill(2) has no memory-safety preconditions; the pid was found as a
                // process whose root is this test's own rootfs copy.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            thread::sleep(Duration::from_millis(100));
        }
        // Mounts under our own temp dir, deepest first, so removal cannot reach through them.
        let mut mounts = mounts_under(&self.tmp);
        if !mounts.is_empty() {
            eprintln!("cleanup: unmounting leftover mounts {mounts:?}");
            mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
            for m in &mounts {
                if let Ok(c) = std::ffi::CString::new(m.as_str()) {
                    // SAFETY: c is a valid NUL-terminated path that outlives the call.
                    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
                }
            }
        }
        if std::env::var_os("CORTEN_IT_KEEP").is_some() {
            eprintln!("CORTEN_IT_KEEP: leaving {}", self.tmp.display());
            return;
        }
        let still = mounts_under(&self.tmp);
        if still.is_empty() {
            let _ = fs::remove_dir_all(&self.tmp);
        } else {
            eprintln!(
                "cleanup: NOT removing {}: still mounted {still:?}",
                self.tmp.display()
            );
        }
    }
}

impl Bundle {
    /// Runs the runtime for cleanup, never panicking: returns its stdout, or None when it could
    /// not run or failed. Gives up (and kills it) after [`RUNTIME_TIMEOUT`].
    fn cleanup_call(&self, args: &[&str]) -> Option<String> {
        let out_path = self.tmp.join("io/cleanup.out");
        let out = fs::File::create(&out_path).ok()?;
        let mut child = Command::new(&self.runtime)
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + RUNTIME_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(st)) if st.success() => return fs::read_to_string(&out_path).ok(),
                Ok(Some(_)) | Err(_) => return None,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    eprintln!("cleanup: `{args:?}` timed out");
                    return None;
                }
                Ok(None) => thread::sleep(Duration::from_millis(5)),
            }
        }
    }
}

fn make_unique_dir(name: &str) -> PathBuf {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    loop {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let p = PathBuf::from(format!("/tmp/corten-it-{name}-{}-{n}", std::process::id()));
        match fs::create_dir(&p) {
            Ok(()) => {
                set_mode(&p, 0o755);
                return p;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create {}: {e}", p.display()),
        }
    }
}

pub fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Mount points (as in /proc/self/mountinfo) at or below `dir`.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = dir.to_string_lossy().into_owned();
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|mp| mp == &prefix || mp.starts_with(&format!("{prefix}/")))
        .collect()
}

fn unescape_mountinfo(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// A process's command line, for messages.
pub fn cmdline_of(pid: i32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('\0', " ")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the ")" that closes the command name.
        Ok(s) => s
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Sends `sig` to a pid this test learned.
pub fn send_signal(pid: i32, sig: i32) {
    assert!(pid > 0);
    // SAFETY: kill(2) has no memory-safety preconditions; pid is positive (never a group).
    let r = unsafe { libc::kill(pid, sig) };
    assert_eq!(r, 0, "kill({pid}, {sig}): {}", io::Error::last_os_error());
}

/// The host's namespace of kind `ns` ("pid", "net", ...), e.g. "net:[4026531833]".
pub fn host_ns(ns: &str) -> String {
    fs::read_link(format!("/proc/self/ns/{ns}"))
        .unwrap_or_else(|e| panic!("readlink /proc/self/ns/{ns}: {e}"))
        .to_string_lossy()
        .into_owned()
}

/// The namespace of kind `ns` of process `pid`.
pub fn ns_of(pid: i32, ns: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .unwrap_or_else(|e| panic!("readlink /proc/{pid}/ns/{ns}: {e}"))
        .to_string_lossy()
        .into_owned()
}

/// The last line of `text` that parses as a JSON object (the probe prints one per line).
#[track_caller]
pub fn last_json(text: &str) -> Value {
    text.lines()
        .rev()
        .filter(|l| l.trim_start().starts_with('{'))
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .unwrap_or_else(|| panic!("no JSON object in output: {text:?}"))
}

/// Polls `f` until it returns true; fails the test after `timeout`.
#[track_caller]
pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// The probe's mount entry whose mount point is `mp` (the last one: the top of a stack).
pub fn mount_at<'a>(report: &'a Value, mp: &str) -> Option<&'a Value> {
    report["mounts"]
        .as_array()
        .expect("report has mounts")
        .iter()
        .rev()
        .find(|m| m["mount_point"] == mp)
}

/// The comma-separated options of a mount entry field as a list.
pub fn opts(m: &Value, field: &str) -> Vec<String> {
    m[field]
        .as_str()
        .unwrap_or("")
        .split(',')
        .map(str::to_string)
        .collect()
}

/// The probe's /dev entry called `name` ("null", "pts", ...).
pub fn dev_entry<'a>(report: &'a Value, name: &str) -> Option<&'a Value> {
    report["devices"]
        .as_array()
        .expect("report has devices")
        .iter()
        .find(|d| d["name"].as_str().map(|n| n.trim_start_matches("/dev/")) == Some(name))
}

/// The open fds in a report, without any the probe could not read (null: already closed).
pub fn open_fds(report: &Value) -> BTreeSet<i32> {
    report["fds"]
        .as_object()
        .expect("report has fds")
        .iter()
        .filter(|(_, target)| !target.is_null())
        .filter_map(|(fd, _)| fd.parse().ok())
        .collect()
}

/// Checks an RFC 3339 timestamp with a fractional second part, e.g.
/// "2024-01-02T03:04:05.123456789Z" (Go's RFC3339Nano drops trailing zeros: 1-9 digits).
pub fn is_rfc3339_nanos(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || b[10] != b'T'
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
        || b[19] != b'.'
    {
        return false;
    }
    let frac = b[20..].iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=9).contains(&frac) {
        return false;
    }
    let zone = &s[20 + frac..];
    zone == "Z"
        || (zone.len() == 6
            && (zone.starts_with('+') || zone.starts_with('-'))
            && zone.as_bytes()[3] == b':')
}
