//! Lifecycle hooks: run with the container's state on stdin, their args,
//! env and timeout, where and when the runtime spec says.
//!
//! | hook            | run by                  | when                                   | status   | pid        |
//! |-----------------|-------------------------|----------------------------------------|----------|------------|
//! | prestart        | the runtime (create)    | mounts done, before pivot_root         | creating | the init's |
//! | createRuntime   | the runtime (create)    | after prestart                         | creating | the init's |
//! | createContainer | the init, container ns  | after createRuntime, before pivot_root | creating | its getpid |
//! | startContainer  | the init, container ns  | after `start`, before the execve       | created  | its getpid |
//! | poststart       | the runtime (start)     | after the process started              | running  | the init's |
//! | poststop        | the runtime (delete)    | after the container stopped            | stopped  | none       |
//!
//! The statuses and pids are runc's (measured with runc 1.1.5, and so in
//! runc's current source): prestart says "creating" (runtime-tools'
//! hooks_stdin wants "created", which runc never gave), the hooks the init
//! runs get the init's own pid (1 in a pid namespace), poststop none.
//! poststart says "running" as runc since it runs poststart in `start`
//! (runc 1.1.5 ran it at the end of `create` and said "created").

use std::io::{Read, Seek, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::error::{Context, Error};

/// How much of a failed hook's output goes into the error.
const OUTPUT_MAX: u64 = 4096;

/// Runs `hooks` in order, each with `state` (the OCI state JSON) on stdin;
/// the first failure stops the others (prestart, createRuntime,
/// createContainer, startContainer).
/// From the container init (startContainer): a hook without `env` gets an
/// empty environment, as from runc's init.
pub fn run_all(kind: &str, hooks: &[Hook], state: &[u8]) -> Result<(), Error> {
    run_all_from(kind, hooks, state, &From::Init(None))
}

/// Where a hook runs from, which decides what it inherits, as runc: the
/// runtime passes its environment on to a hook without `env`, runc's init
/// has none to pass; and the working directory runc gives create-time
/// hooks (the bundle for prestart and createRuntime, the rootfs for
/// createContainer).
pub enum From<'a> {
    Runtime(Option<&'a Path>),
    Init(Option<&'a Path>),
}

/// [`run_all`] from `from`.
pub fn run_all_from(
    kind: &str,
    hooks: &[Hook],
    state: &[u8],
    from: &From<'_>,
) -> Result<(), Error> {
    for (i, hook) in hooks.iter().enumerate() {
        run_one(hook, state, from)
            .with_context(|| format!("{kind} hook #{i} ({})", hook.path().display()))?;
    }
    Ok(())
}

/// Runs every hook even when one fails, returning the failures as warnings
/// (poststart, poststop: "the remaining hooks and lifecycle continue").
pub fn run_all_warn(kind: &str, hooks: &[Hook], state: &[u8]) -> Vec<String> {
    let mut warnings = Vec::new();
    for (i, hook) in hooks.iter().enumerate() {
        let r = run_one(hook, state, &From::Runtime(None))
            .with_context(|| format!("{kind} hook #{i} ({})", hook.path().display()));
        if let Err(e) = r {
            warnings.push(crate::error::chain(&e));
        }
    }
    warnings
}

fn run_one(hook: &Hook, state: &[u8], from: &From<'_>) -> Result<(), Error> {
    let output = sys::fs::memfd(c"hook-output").context("memfd for the hook's output")?;
    let mut output = std::fs::File::from(output);
    let mut cmd = Command::new(hook.path());
    let args = hook.args().clone().unwrap_or_default();
    if let Some((arg0, rest)) = args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    // Without `env` a hook run by the runtime gets the runtime's
    // environment, as Go's os/exec (and so runc and crun) pass it on; with
    // one, exactly that.
    let (dir, inherit) = match *from {
        From::Runtime(dir) => (dir, true),
        From::Init(dir) => (dir, false),
    };
    if hook.env().is_some() || !inherit {
        cmd.env_clear();
    }
    for kv in hook.env().iter().flatten() {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        cmd.env(k, v);
    }
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let out2 = output.try_clone().context("duplicating the output file")?;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::from(output.try_clone().context("dup")?))
        .stderr(Stdio::from(out2));
    let mut child = cmd.spawn().context("starting the hook")?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook may exit without reading its stdin: the write then fails
        // with EPIPE, which is no failure of the hook (Go's os/exec, and so
        // runc, ignore it too). SIGPIPE is ignored meanwhile: the parked
        // init running startContainer hooks exits on it (prepare_for_park),
        // which took the container down after a successful `start`.
        let _pipe = sys::signal::ignore(libc::SIGPIPE).context("ignoring SIGPIPE")?;
        match stdin.write_all(state) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e).context("writing the state to the hook's stdin");
            }
            _ => {}
        }
    }
    let timeout = match hook.timeout() {
        Some(t) if t <= 0 => {
            return Err(Error::Config(format!("hook timeout {t} must be positive")))
        }
        Some(t) => Some(Duration::from_secs(t as u64)),
        None => None,
    };
    let started = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().context("waiting for the hook")? {
            break st;
        }
        if timeout.is_some_and(|t| started.elapsed() >= t) {
            // Our own child: kill and reap it by its handle.
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Failed(format!(
                "timed out after {}s",
                timeout.map_or(0, |t| t.as_secs())
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    if status.success() {
        return Ok(());
    }
    let mut text = String::new();
    let _ = output.rewind();
    let _ = (&mut output).take(OUTPUT_MAX).read_to_string(&mut text);
    let text = text.trim();
    let detail = if text.is_empty() {
        String::new()
    } else {
        format!(": {}", text.replace('\n', " "))
    };
    Err(Error::Failed(format!("{status}{detail}")))
}

/// The state document of a container still being created, from its bundle.
pub fn bundle_state(id: &str, pid: i32, status: &str, bundle: &crate::spec::Bundle) -> Vec<u8> {
    let annotations = bundle
        .spec
        .annotations()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    state_json(id, pid, status, &bundle.dir, &annotations)
}

/// Runs the poststart or poststop hooks saved in a container's state,
/// every one even when one fails; returns the failures as warnings.
pub fn run_saved(
    kind: &str,
    pick: fn(&oci_spec::runtime::Hooks) -> &Option<Vec<Hook>>,
    state: &crate::state::State,
    status: &str,
) -> Vec<String> {
    let Some(hooks) = state.hooks.as_ref().and_then(|h| pick(h).as_deref()) else {
        return Vec::new();
    };
    // A stopped container has no pid: runc leaves it out of poststop's state.
    let pid = if status == "stopped" {
        0
    } else {
        state.init_pid
    };
    let json = state_json(&state.id, pid, status, &state.bundle, &state.annotations);
    run_all_warn(kind, hooks, &json)
}

/// The OCI state document hooks read, as runc marshals the runtime spec's
/// `State`: its field order, `pid` left out when zero (Go's `omitempty`: a
/// stopped container has none) and `annotations` when empty, their keys
/// sorted (as a Go map's).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct HookState<'a> {
    oci_version: &'a str,
    id: &'a str,
    status: &'a str,
    #[serde(skip_serializing_if = "is_zero")]
    pid: i32,
    bundle: &'a std::path::Path,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    annotations: &'a std::collections::BTreeMap<String, String>,
}

fn is_zero(pid: &i32) -> bool {
    *pid == 0
}

/// The OCI state document hooks read.
pub fn state_json(
    id: &str,
    pid: i32,
    status: &str,
    bundle: &std::path::Path,
    annotations: &std::collections::BTreeMap<String, String>,
) -> Vec<u8> {
    let state = HookState {
        oci_version: crate::spec::SPEC_VERSION,
        id,
        status,
        pid,
        bundle,
        annotations,
    };
    serde_json::to_vec(&state).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(v: serde_json::Value) -> Hook {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn state_reaches_stdin_and_env_and_args_are_exact() {
        let dir = std::env::temp_dir().join(format!("corten-hook-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let h = hook(serde_json::json!({
            "path": "/bin/sh",
            "args": ["sh", "-c", format!("cat > {}; echo \"$FOO $0\" >> {}", out.display(), out.display())],
            "env": ["FOO=bar"]
        }));
        run_all("test", &[h], b"{\"id\":\"x\"}").unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "{\"id\":\"x\"}bar sh\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failure_and_timeout_are_errors_with_the_output() {
        let h = hook(
            serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "echo broken >&2; exit 3"]}),
        );
        let e = crate::error::chain(&run_all("prestart", &[h], b"{}").unwrap_err());
        assert!(
            e.contains("prestart hook #0 (/bin/sh)")
                && e.contains("exit status: 3")
                && e.contains("broken"),
            "{e}"
        );
        let h =
            hook(serde_json::json!({"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}));
        let start = Instant::now();
        let e = crate::error::chain(&run_all("poststart", &[h], b"{}").unwrap_err());
        assert!(e.contains("timed out after 1s"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(3));
    }
}
