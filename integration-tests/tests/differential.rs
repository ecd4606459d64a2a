//! Differential tests: each scenario of `differential/scenarios.rs` runs under
//! Debian's runc (`/usr/sbin/runc`, or `$RUNC_BIN`) and under corten, with the
//! same config and flags, each runtime with its own bundle, rootfs copy,
//! `--root` and temp dir, and what a caller sees is compared: exit status,
//! stdout (JSON parsed, with what legitimately differs masked), stderr (one
//! clear error line), what the container sees (the probe's report) and the
//! container's cgroup files.
//!
//! Where corten differs on purpose (SPEC-COVERAGE.md, "Differences from
//! runc"), or runc 1.1.5 has a bug newer runc fixed, or a difference is known
//! and not yet fixed (`// DIFF:`), the scenario lists it with its reason and
//! the test checks that it is still there: a difference that goes away must
//! be taken off the list, one that appears fails the test.
//!
//! Without runc every scenario passes with a note. Run alone:
//! `cargo test -p corten-integration-tests --test differential`
//! (`-- NAME` for one scenario; `DIFF_VERBOSE=1` prints every observation).

mod common;
#[path = "differential/scenarios.rs"]
mod scenarios;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// The reference runtime, when it is installed.
fn runc() -> Option<PathBuf> {
    let p = std::env::var_os("RUNC_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/runc"));
    p.is_file().then_some(p)
}

/// How exit statuses are compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Exit {
    /// The same code (or signal).
    Exact,
    /// Both fail, with any codes.
    BothFail,
    Ignore,
}

/// How stdout is compared (after each side's temp dir, cgroup path and the
/// versions are masked).
#[derive(Clone, Copy)]
pub enum Out {
    Ignore,
    /// Byte for byte.
    Text,
    /// One JSON value; the pointers listed (`*` matches every array element
    /// or key) are compared only by kind: zero or not, empty or not. The
    /// top-level key order counts (scripts grep `state` and `events`).
    Json(&'static [&'static str]),
    /// One JSON object a line, each compared as [`Out::Json`].
    JsonLines(&'static [&'static str]),
    /// The probe's report (the last JSON line), field by field.
    Report,
    /// Through a function first, then byte for byte.
    Norm(fn(&str) -> String),
    /// Parsed as JSON, then through a function.
    JsonNorm(fn(&Value) -> String),
}

/// How stderr is compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Err {
    /// Failing: exactly one non-empty line on each side (the messages may
    /// differ). Succeeding: both empty or both not.
    Auto,
    /// The messages matter not at all.
    Ignore,
}

/// One runtime invocation. Arguments are split on spaces and may hold
/// `{id}`, `{bundle}`, `{root}`, `{tmp}`, `{rootfs}`, `{cg}` (a cgroups path
/// of this side's own) and `{console}` (a console socket this side listens on).
#[derive(Clone)]
pub struct Cmd {
    pub label: String,
    pub args: Vec<String>,
    pub exit: Exit,
    pub out: Out,
    pub err: Err,
    pub stdin: Option<String>,
    pub no_root: bool,
    pub env: Vec<(String, String)>,
}

impl Cmd {
    pub fn exit(mut self, e: Exit) -> Self {
        self.exit = e;
        self
    }
    pub fn out(mut self, o: Out) -> Self {
        self.out = o;
        self
    }
    pub fn err(mut self, e: Err) -> Self {
        self.err = e;
        self
    }
    /// Fails on both sides: any code, one error line each.
    pub fn fails(self) -> Self {
        self.exit(Exit::BothFail)
    }
    pub fn label(mut self, l: &str) -> Self {
        self.label = l.to_string();
        self
    }
    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_string());
        self
    }
    /// Appends arguments as they are (with spaces).
    pub fn then(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }
    /// Sets an environment variable of the runtime.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
    /// Without the automatic `--root` (the args give their own, or none).
    pub fn no_root(mut self) -> Self {
        self.no_root = true;
        self
    }
}

/// `cmd("state {id}")`: exit code exact, stdout ignored, stderr [`Err::Auto`].
/// The label (used in the differences' keys) is the subcommand.
pub fn cmd(line: &str) -> Cmd {
    let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let label = args
        .iter()
        .find(|a| !a.starts_with('-') && !a.contains('{'))
        .cloned()
        .unwrap_or_else(|| "cmd".into());
    Cmd {
        label,
        args,
        exit: Exit::Exact,
        out: Out::Ignore,
        err: Err::Auto,
        stdin: None,
        no_root: false,
        env: Vec::new(),
    }
}

/// What one side observes, in order.
pub enum Step {
    Run(Cmd),
    /// Starts a command in the background (its label names it).
    Spawn(Cmd),
    /// Waits for the background command to exit and compares it.
    Wait(String),
    /// Kills the background command (ours, by pid), then compares it.
    Stop(String),
    /// Waits (up to 10 s) until `state` says this status.
    Status(&'static str),
    Sleep(u64),
    /// A file of the container's cgroup: (controller, file).
    Cgroup(&'static str, &'static str),
    /// What the terminal sent to `{console}` printed, until it closed.
    Console,
    /// The stdout file of an earlier command again (what its container printed).
    Reread(String, Out),
    /// Something the test reads itself: (key, function of the side).
    Look(&'static str, fn(&Side) -> String),
}

/// Why a difference is expected.
#[derive(Clone, Copy, Debug)]
pub enum Why {
    /// In SPEC-COVERAGE.md's "Differences from runc".
    Documented,
    /// A runc 1.1.5 bug that newer runc fixed.
    Runc115,
    /// Listed in issue 17, not fixed yet.
    Issue17,
    /// Found by this harness, not yet fixed or documented (`// DIFF:`).
    Undocumented,
}

pub struct Expected {
    /// Prefix of the difference keys it covers, e.g. "exec.exit".
    pub key: &'static str,
    pub why: Why,
    pub reason: &'static str,
}

type ConfigFn = Box<dyn Fn(&mut Value, &Side) + Send + Sync>;
type PrepareFn = Box<dyn Fn(&Side) + Send + Sync>;

pub struct Scenario {
    pub configs: Vec<ConfigFn>,
    pub prepares: Vec<PrepareFn>,
    pub steps: Vec<Step>,
    pub expected: Vec<Expected>,
    /// Compares what [`report_view`] otherwise leaves out.
    pub strict: bool,
}

impl Scenario {
    pub fn new() -> Self {
        Scenario {
            configs: Vec::new(),
            prepares: Vec::new(),
            steps: Vec::new(),
            expected: Vec::new(),
            strict: false,
        }
    }
    /// Reports are compared in full (see [`report_view`]).
    pub fn strict(mut self) -> Self {
        self.strict = true;
        self
    }
    /// Edits config.json (both sides; the side gives its paths).
    pub fn config(mut self, f: impl Fn(&mut Value, &Side) + Send + Sync + 'static) -> Self {
        self.configs.push(Box::new(f));
        self
    }
    /// Changes the bundle before the first command (both sides).
    pub fn prepare(mut self, f: impl Fn(&Side) + Send + Sync + 'static) -> Self {
        self.prepares.push(Box::new(f));
        self
    }
    pub fn step(mut self, s: Step) -> Self {
        self.steps.push(s);
        self
    }
    pub fn run(self, c: Cmd) -> Self {
        self.step(Step::Run(c))
    }
    pub fn spawn(self, c: Cmd) -> Self {
        self.step(Step::Spawn(c))
    }
    pub fn wait(self, label: &str) -> Self {
        self.step(Step::Wait(label.into()))
    }
    pub fn stop(self, label: &str) -> Self {
        self.step(Step::Stop(label.into()))
    }
    pub fn status(self, s: &'static str) -> Self {
        self.step(Step::Status(s))
    }
    pub fn cgroup(self, controller: &'static str, file: &'static str) -> Self {
        self.step(Step::Cgroup(controller, file))
    }
    pub fn look(self, key: &'static str, f: fn(&Side) -> String) -> Self {
        self.step(Step::Look(key, f))
    }
    /// A difference this scenario is known to show (keys starting with `key`).
    pub fn differs(mut self, key: &'static str, why: Why, reason: &'static str) -> Self {
        self.expected.push(Expected { key, why, reason });
        self
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Self::new()
    }
}

/// One runtime's run of a scenario.
pub struct Side {
    pub name: &'static str,
    pub b: Bundle,
    pub id: String,
    /// This side's own cgroups path, for `{cg}`.
    pub cg: String,
    strict: bool,
    console: Option<mpsc::Receiver<String>>,
    spawned: BTreeMap<String, (Cmd, Spawned)>,
    outputs: BTreeMap<String, Output>,
    /// Cgroup directories the container had, checked for removal at the end.
    cgroup_dirs: Vec<PathBuf>,
}

impl Side {
    fn subst(&mut self, arg: &str) -> String {
        let mut a = arg
            .replace("{id}", &self.id)
            .replace("{bundle}", &self.b.dir_str())
            .replace("{root}", &self.b.root_str())
            .replace("{tmp}", &self.b.tmp.to_string_lossy())
            .replace("{rootfs}", &self.b.rootfs.to_string_lossy())
            .replace("{cg}", &self.cg);
        if a.contains("{console}") {
            let sock = self.b.tmp.join("console.sock");
            if self.console.is_none() {
                self.console = Some(console_receiver(&sock));
            }
            a = a.replace("{console}", &sock.to_string_lossy());
        }
        a
    }

    /// Masks what legitimately differs between the sides in any output.
    fn mask(&self, text: &str) -> String {
        let tmp = self.b.tmp.to_string_lossy();
        let mut t = text.replace(&*tmp, "$TMP");
        if !self.cg.is_empty() {
            t = t.replace(&self.cg, "$CG");
        }
        t
    }

    fn call(&mut self, c: &Cmd) -> Spawned {
        let args: Vec<String> = c.args.iter().map(|a| self.subst(a)).collect();
        let mut call = self.b.call(&args);
        if c.no_root {
            call = call.no_root();
        }
        for (k, v) in &c.env {
            call = call.env(k, v);
        }
        if let Some(text) = &c.stdin {
            let p = self.b.tmp.join(format!("io/stdin-{}", c.label));
            fs::write(&p, text).expect("write stdin file");
            call = call.stdin_from(fs::File::open(&p).expect("open stdin file"));
        }
        call.spawn()
    }

    /// The container's init pid, from `state` (0 when there is none).
    fn pid(&self) -> i32 {
        let out = self.b.corten(&["state", &self.id]);
        serde_json::from_str::<Value>(&out.stdout)
            .ok()
            .and_then(|v| v["pid"].as_i64())
            .unwrap_or(0) as i32
    }

    /// The host directory of the container's `controller` cgroup (v1).
    fn cgroup_dir(&mut self, controller: &str) -> Option<PathBuf> {
        let pid = self.pid();
        if pid <= 0 {
            return None;
        }
        let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let rel = text.lines().find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
            ctrls.split(',').any(|c| c == controller).then_some(path)
        })?;
        let dir = Path::new("/sys/fs/cgroup")
            .join(controller)
            .join(rel.trim_start_matches('/'));
        if !self.cgroup_dirs.contains(&dir) {
            self.cgroup_dirs.push(dir.clone());
        }
        Some(dir)
    }
}

/// Listens on `sock` for one pty master and reads it until the terminal
/// closes; the text arrives on the channel (nothing if no runtime connects).
fn console_receiver(sock: &Path) -> mpsc::Receiver<String> {
    let listener = UnixListener::bind(sock).expect("bind the console socket");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (conn, _) = match listener.accept() {
            Ok(c) => c,
            Err(_) => return,
        };
        let mut buf = [0u8; 256];
        let Ok((_, Some(fd))) = sys::socket::recv_with_fd(conn.as_fd(), &mut buf) else {
            return;
        };
        let _ = tx.send(read_pty(fd));
    });
    rx
}

fn read_pty(master: OwnedFd) -> String {
    let mut f = fs::File::from(master);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // EIO (or EOF) once the other end is closed.
    while let Ok(n) = f.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).replace("\r\n", "\n")
}

/// The observations of one side: (key, normalized value), in order.
type Obs = Vec<(String, String)>;

fn push(obs: &mut Obs, key: impl Into<String>, value: impl Into<String>) {
    obs.push((key.into(), value.into()));
}

fn observe_output(side: &Side, c: &Cmd, out: &Output, obs: &mut Obs) {
    let key = &c.label;
    let failed = out.code != Some(0);
    match c.exit {
        Exit::Exact => push(obs, format!("{key}.exit"), exit_text(out)),
        Exit::BothFail => push(
            obs,
            format!("{key}.exit"),
            if failed {
                "fails".into()
            } else {
                exit_text(out)
            },
        ),
        Exit::Ignore => {}
    }
    if c.err == Err::Auto {
        let lines = out.stderr_lines().len();
        let v = match (failed, lines) {
            (true, 1) => "one error line".to_string(),
            (false, 0) => "empty".to_string(),
            (false, _) => "not empty".to_string(),
            (true, n) => format!("{n} lines: {}", side.mask(out.stderr.trim())),
        };
        push(obs, format!("{key}.stderr"), v);
    }
    observe_stdout(side, key, c.out, &out.stdout, obs);
}

fn exit_text(out: &Output) -> String {
    match (out.code, out.signal) {
        (Some(c), _) => format!("code {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "unknown".into(),
    }
}

fn observe_stdout(side: &Side, key: &str, how: Out, stdout: &str, obs: &mut Obs) {
    let text = side.mask(stdout);
    let key = format!("{key}.stdout");
    match how {
        Out::Ignore => {}
        Out::Text => push(obs, key, text),
        Out::Norm(f) => push(obs, key, f(&text)),
        Out::JsonNorm(f) => match serde_json::from_str::<Value>(&text) {
            Ok(v) => push(obs, key, f(&v)),
            Err(_) => push(obs, key, format!("not JSON: {text}")),
        },
        Out::Json(masks) => push(obs, key, json_view(&text, masks)),
        Out::JsonLines(masks) => {
            let lines: Vec<String> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| json_view(l, masks))
                .collect();
            push(obs, key, lines.join("\n"))
        }
        Out::Report => report_view(&text, &key, side.strict, obs),
    }
}

/// A JSON text as: top-level key order, then the value with `masks` applied.
fn json_view(text: &str, masks: &[&str]) -> String {
    let Ok(mut v) = serde_json::from_str::<Value>(text) else {
        return format!("not JSON: {text}");
    };
    for m in masks {
        let parts: Vec<&str> = m.trim_start_matches('/').split('/').collect();
        mask_at(&mut v, &parts);
    }
    let order = top_keys(text);
    if order.is_empty() {
        v.to_string()
    } else {
        format!("keys {order:?} {v}")
    }
}

/// Replaces the value at `path` by its kind.
fn mask_at(v: &mut Value, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else {
        *v = Value::String(kind_of(v));
        return;
    };
    match (v, *first) {
        (Value::Array(a), "*") => a.iter_mut().for_each(|e| mask_at(e, rest)),
        (Value::Object(o), "*") => o.values_mut().for_each(|e| mask_at(e, rest)),
        (Value::Array(a), i) => {
            if let Some(e) = i.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                mask_at(e, rest)
            }
        }
        (Value::Object(o), k) => {
            if let Some(e) = o.get_mut(k) {
                mask_at(e, rest)
            }
        }
        _ => {}
    }
}

fn kind_of(v: &Value) -> String {
    match v {
        Value::Number(n) if n.as_f64() == Some(0.0) => "<zero>".into(),
        Value::Number(_) => "<number>".into(),
        Value::String(s) if s.is_empty() => "<empty>".into(),
        Value::String(_) => "<string>".into(),
        Value::Null => "<null>".into(),
        Value::Bool(b) => format!("<{b}>"),
        Value::Array(a) if a.is_empty() => "<empty list>".into(),
        Value::Array(_) => "<list>".into(),
        Value::Object(_) => "<object>".into(),
    }
}

/// The keys of a JSON object's top level, in the order the text has them.
fn top_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let (mut depth, mut in_str, mut esc) = (0, false, false);
    let mut cur = String::new();
    let mut expect_key = false;
    for ch in text.chars() {
        if in_str {
            if esc {
                esc = false;
            } else if ch == '\\' {
                esc = true;
            } else if ch == '"' {
                in_str = false;
                if expect_key {
                    keys.push(std::mem::take(&mut cur));
                    expect_key = false;
                }
                continue;
            }
            if expect_key {
                cur.push(ch);
            }
            continue;
        }
        match ch {
            '"' => {
                in_str = true;
                expect_key = depth == 1 && (keys.is_empty() || cur == ",");
                cur.clear();
            }
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            ',' if depth == 1 => cur = ",".into(),
            _ => {}
        }
    }
    keys
}

/// The probe report, one observation a field, with what names a host
/// object (namespace inodes, mount ids, pipe numbers, host pids) reduced to
/// what a container can rely on.
///
/// Unless `strict`, two differences every container shows are left out
/// (`run_default_report` keeps them): the kind of stdio (runc's foreground
/// `run` and `exec` hand the process pipes it copies, corten the caller's
/// own descriptors) and the options of the /sys/fs/cgroup tmpfs (rw with
/// runc, ro as the config asks with corten on a v1 or hybrid host).
fn report_view(text: &str, key: &str, strict: bool, obs: &mut Obs) {
    let Some(line) = text.lines().rev().find(|l| l.trim_start().starts_with('{')) else {
        push(obs, key, format!("no report: {text}"));
        return;
    };
    let Ok(Value::Object(r)) = serde_json::from_str::<Value>(line) else {
        push(obs, key, format!("no report: {text}"));
        return;
    };
    for (field, v) in &r {
        let k = format!("{key}.{field}");
        let shown = match field.as_str() {
            "ns" => ns_view(v),
            "mounts" => mounts_view(v, strict),
            "fds" if !strict => {
                let fds: Vec<&String> = v
                    .as_object()
                    .map(|m| m.keys().collect())
                    .unwrap_or_default();
                format!("{fds:?}")
            }
            "fds" => fds_view(v),
            // An exec'd process's pid depends on how many processes the runtime
            // made in the container's pid namespace before it.
            "pid" | "ppid" if v.as_i64().is_some_and(|p| p > 1) => "<pid>".to_string(),
            "status" => {
                let mut v = v.clone();
                v["NSpid"] = Value::String(kind_of(&v["NSpid"]));
                v.to_string()
            }
            "cgroup" => cgroup_view(v),
            _ => v.to_string(),
        };
        push(obs, k, shown);
    }
}

/// Each namespace as "host" (the test's own) or "new".
fn ns_view(v: &Value) -> String {
    let Some(m) = v.as_object() else {
        return v.to_string();
    };
    m.iter()
        .map(|(kind, target)| {
            let host = fs::read_link(format!("/proc/self/ns/{kind}"))
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            let what = if target.as_str() == Some(host.as_str()) {
                "host"
            } else {
                "new"
            };
            format!("{kind}={what}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One line a mount: point, type, source, options, propagation kinds.
fn mounts_view(v: &Value, strict: bool) -> String {
    let Some(list) = v.as_array() else {
        return v.to_string();
    };
    let s = |m: &Value, k: &str| m[k].as_str().unwrap_or("?").to_string();
    let mut lines: Vec<String> = list
        .iter()
        .map(|m| {
            let (mp, fstype) = (s(m, "mount_point"), s(m, "fstype"));
            // Where each runtime puts a container's cgroup by default differs
            // (cgroups_path_default); the mounts show it.
            let root = if fstype.starts_with("cgroup") && s(m, "root") != "/" {
                "<cgroup path>".to_string()
            } else {
                s(m, "root")
            };
            if !strict && mp == "/sys/fs/cgroup" {
                return format!("{mp} {fstype} (options not compared)");
            }
            let prop: Vec<&str> = m["optional_fields"]
                .as_str()
                .unwrap_or("")
                .split_whitespace()
                .map(|f| f.split(':').next().unwrap_or(f))
                .collect();
            format!(
                "{mp} {fstype} {} {root} {} [{}] {}",
                s(m, "source"),
                s(m, "mount_options"),
                prop.join(" "),
                s(m, "super_options"),
            )
        })
        .collect::<Vec<_>>();
    // The order shows which of two mounts on one path is on top; it matters
    // only there, which the scenarios that stack mounts check in strict mode.
    if !strict {
        lines.sort();
    }
    lines.join("\n")
}

/// Open fds and the kind of what they point to.
fn fds_view(v: &Value) -> String {
    let Some(m) = v.as_object() else {
        return v.to_string();
    };
    let mut fds: Vec<(i64, String)> = m
        .iter()
        .map(|(fd, t)| {
            let t = t.as_str().unwrap_or("?");
            let kind = match t.split_once(":[") {
                Some((k, _)) => k.to_string(),
                None if t.starts_with("$TMP/io/") => "$TMP/io/<file>".into(),
                None => t.to_string(),
            };
            (fd.parse().unwrap_or(-1), kind)
        })
        .collect();
    fds.sort();
    format!("{fds:?}")
}

/// /proc/self/cgroup with each path reduced to "/" or "<path>".
fn cgroup_view(v: &Value) -> String {
    v.as_str()
        .unwrap_or("")
        .lines()
        .map(|l| match l.rsplit_once(':') {
            Some((head, "/")) => format!("{head}:/"),
            Some((head, _)) => format!("{head}:<path>"),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn run_step(side: &mut Side, step: &Step, obs: &mut Obs) {
    match step {
        Step::Run(c) => {
            let out = side.call(c).wait();
            observe_output(side, c, &out, obs);
            side.outputs.insert(c.label.clone(), out);
        }
        Step::Spawn(c) => {
            let s = side.call(c);
            side.spawned.insert(c.label.clone(), (c.clone(), s));
        }
        Step::Wait(label) | Step::Stop(label) => {
            let (c, s) = side
                .spawned
                .remove(label)
                .unwrap_or_else(|| panic!("no background command {label}"));
            let out = if matches!(step, Step::Stop(_)) {
                s.stop()
            } else {
                s.wait()
            };
            observe_output(side, &c, &out, obs);
            side.outputs.insert(c.label.clone(), out);
        }
        Step::Status(want) => {
            let deadline = Instant::now() + WAIT_TIMEOUT;
            let seen = loop {
                let out = side.b.corten(&["state", &side.id]);
                let st = serde_json::from_str::<Value>(&out.stdout)
                    .map(|v| v["status"].as_str().unwrap_or("?").to_string())
                    .unwrap_or_else(|_| "no state".into());
                if st == *want || Instant::now() >= deadline {
                    break st;
                }
                thread::sleep(Duration::from_millis(20));
            };
            push(obs, format!("status {want}"), seen);
        }
        Step::Sleep(ms) => thread::sleep(Duration::from_millis(*ms)),
        Step::Cgroup(controller, file) => {
            let v = match side.cgroup_dir(controller) {
                Some(dir) => fs::read_to_string(dir.join(file))
                    .map(|t| t.trim().to_string())
                    .unwrap_or_else(|e| format!("unreadable: {e}")),
                None => "no cgroup".into(),
            };
            push(obs, format!("cgroup {controller}/{file}"), v);
        }
        Step::Console => {
            let text = side
                .console
                .as_ref()
                .and_then(|rx| rx.recv_timeout(WAIT_TIMEOUT).ok())
                .unwrap_or_else(|| "no terminal".into());
            push(obs, "console", side.mask(&text));
        }
        Step::Reread(label, how) => {
            let text = side
                .outputs
                .get(label)
                .map(Output::reread_stdout)
                .unwrap_or_default();
            observe_stdout(side, &format!("{label}.container"), *how, &text, obs);
        }
        Step::Look(key, f) => {
            let v = f(side);
            push(obs, *key, side.mask(&v));
        }
    }
}

/// Runs the scenario on one runtime; returns the observations and what was
/// left behind (processes, mounts, cgroups, state) after a final `delete -f`.
fn run_side(
    name: &'static str,
    runtime: PathBuf,
    s: &Scenario,
    config: &Value,
    id: &str,
) -> (Obs, Vec<String>) {
    let short: String = id.chars().take(24).collect();
    let b = Bundle::for_runtime(&format!("diff-{name}-{short}"), runtime);
    let cg = format!("/corten-diff-{name}-{id}");
    let mut side = Side {
        name,
        b,
        id: id.to_string(),
        cg,
        strict: s.strict,
        console: None,
        spawned: BTreeMap::new(),
        outputs: BTreeMap::new(),
        cgroup_dirs: Vec::new(),
    };
    let rootfs = side.b.rootfs.to_string_lossy().into_owned();
    let mut cfg = config.clone();
    cfg["root"]["path"] = Value::String(rootfs);
    for f in &s.configs {
        f(&mut cfg, &side);
    }
    side.b.config_mut(|c| *c = cfg);
    for f in &s.prepares {
        f(&side);
    }
    let mut obs = Obs::new();
    for step in &s.steps {
        run_step(&mut side, step, &mut obs);
    }
    // Background commands still running are ours: stop them.
    for (_, (_, sp)) in std::mem::take(&mut side.spawned) {
        let _ = sp.stop();
    }
    let _ = side.b.corten(&["delete", "--force", &side.id]);
    let mut left = Vec::new();
    if side.b.root.join(&side.id).exists() {
        left.push(format!(
            "state dir {}",
            side.b.root.join(&side.id).display()
        ));
    }
    let procs = side.b.processes_in_rootfs();
    if !procs.is_empty() {
        // Give a killed process a moment to be reaped before calling it left.
        thread::sleep(Duration::from_millis(300));
        let procs = side.b.processes_in_rootfs();
        if !procs.is_empty() {
            left.push(format!("processes {procs:?}"));
        }
    }
    let mounts = mounts_under(&side.b.tmp);
    if !mounts.is_empty() {
        left.push(format!("mounts {mounts:?}"));
    }
    for dir in &side.cgroup_dirs {
        if dir.exists() {
            left.push(format!("cgroup {}", dir.display()));
        }
    }
    drop(side.spawned);
    // Bundle's drop deletes what its runtime lists, kills what is left in the
    // rootfs and unmounts; the cgroups the container had are removed here.
    drop(side.b);
    for dir in side.cgroup_dirs.iter().rev() {
        let _ = fs::remove_dir(dir);
    }
    let cgp = Path::new("/sys/fs/cgroup");
    for ctrl in [
        "memory", "pids", "cpu", "cpuset", "blkio", "devices", "freezer", "unified",
    ] {
        let d = cgp.join(ctrl).join(side.cg.trim_start_matches('/'));
        if d.exists() {
            left.push(format!("cgroup {}", d.display()));
            let _ = fs::remove_dir(&d);
        }
    }
    (obs, left)
}

/// The base config both sides start from: corten's `spec`, as the harness edits it.
fn base_config() -> Value {
    static BASE: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let b = Bundle::new("diff-base");
        b.config().clone()
    })
    .clone()
}

/// Runs a scenario on both runtimes and fails on any difference it does not expect.
pub fn check(name: &str, s: Scenario) {
    let Some(runc) = runc() else {
        eprintln!(
            "NOTE: no runc (/usr/sbin/runc or $RUNC_BIN): differential scenario {name} skipped"
        );
        return;
    };
    let started = Instant::now();
    let id = format!("{}-{}", name.replace('_', "-"), std::process::id());
    let config = base_config();
    let (r_obs, r_left) = run_side("runc", runc, &s, &config, &id);
    let (c_obs, c_left) = run_side("corten", bin(), &s, &config, &id);
    let verbose = std::env::var_os("DIFF_VERBOSE").is_some();
    if !r_left.is_empty() {
        eprintln!("NOTE: {name}: runc left behind (cleaned up): {r_left:?}");
    }
    let mut diffs: Vec<(String, String)> = Vec::new();
    let n = r_obs.len().max(c_obs.len());
    for i in 0..n {
        let r = r_obs.get(i);
        let c = c_obs.get(i);
        if verbose {
            eprintln!("{name}: {r:?}\n{name}: {c:?}");
        }
        match (r, c) {
            (Some((rk, rv)), Some((ck, cv))) if rk == ck => {
                if rv != cv {
                    diffs.push((rk.clone(), describe(rv, cv)));
                }
            }
            _ => diffs.push((
                format!("observation {i}"),
                format!("runc: {r:?}\ncorten: {c:?}"),
            )),
        }
    }
    let mut unexpected = Vec::new();
    for (key, what) in &diffs {
        match s.expected.iter().find(|e| key.starts_with(e.key)) {
            Some(e) => eprintln!(
                "NOTE: {name}: expected difference in {key} ({:?}: {})",
                e.why, e.reason
            ),
            None => unexpected.push(format!("{key}:\n{what}")),
        }
    }
    let gone: Vec<&Expected> = s
        .expected
        .iter()
        .filter(|e| !diffs.iter().any(|(k, _)| k.starts_with(e.key)))
        .collect();
    eprintln!("{name}: {} observations in {:?}", n, started.elapsed());
    assert!(c_left.is_empty(), "{name}: corten left behind {c_left:?}");
    assert!(
        unexpected.is_empty(),
        "{name}: runc and corten differ:\n{}",
        unexpected.join("\n")
    );
    assert!(
        gone.is_empty(),
        "{name}: an expected difference is gone (take it off the scenario, and off \
         SPEC-COVERAGE.md if it is listed there): {:?}",
        gone.iter().map(|e| e.key).collect::<Vec<_>>()
    );
}

/// Both values, with the first differing line pointed out for long ones.
fn describe(r: &str, c: &str) -> String {
    if r.lines().count() <= 1 && c.lines().count() <= 1 {
        return format!("  runc:   {r}\n  corten: {c}");
    }
    let rl: Vec<&str> = r.lines().collect();
    let cl: Vec<&str> = c.lines().collect();
    let mut out = String::new();
    for l in &rl {
        if !cl.contains(l) {
            out += &format!("  only runc:   {l}\n");
        }
    }
    for l in &cl {
        if !rl.contains(l) {
            out += &format!("  only corten: {l}\n");
        }
    }
    if out.is_empty() {
        out = "  same lines, another order".into();
    }
    out
}

/// One `#[test]` a scenario, and the list of their names.
macro_rules! table {
    ($($name:ident => $body:expr,)*) => {
        $(
            #[test]
            fn $name() {
                $crate::check(stringify!($name), $body);
            }
        )*
        pub const NAMES: &[&str] = &[$(stringify!($name)),*];
        /// Every scenario, built (not run), for the coverage check.
        pub fn all() -> Vec<(&'static str, Scenario)> {
            vec![$((stringify!($name), $body)),*]
        }
    };
}
pub(crate) use table;

/// The table covers every subcommand of runc's and has at least 60 rows.
#[test]
fn the_table_covers_every_subcommand() {
    let all = scenarios::all();
    assert!(all.len() >= 60, "only {} scenarios", all.len());
    let mut seen = std::collections::BTreeSet::new();
    for (_, s) in &all {
        for step in &s.steps {
            if let Step::Run(c) | Step::Spawn(c) = step {
                seen.extend(c.args.iter().cloned());
            }
        }
    }
    for sub in [
        "create",
        "start",
        "run",
        "state",
        "kill",
        "delete",
        "exec",
        "list",
        "ps",
        "pause",
        "resume",
        "events",
        "update",
        "spec",
        "features",
        "checkpoint",
        "restore",
    ] {
        assert!(seen.contains(sub), "no scenario runs `{sub}`");
    }
    eprintln!("{} differential scenarios", scenarios::NAMES.len());
}
