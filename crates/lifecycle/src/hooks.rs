//! Lifecycle hooks: run with the container's state on stdin, their args,
//! env and timeout, where and when the runtime spec says.
//!
//! | hook            | run by                  | when                                   | state status |
//! |-----------------|-------------------------|----------------------------------------|--------------|
//! | prestart        | the runtime (create)    | mounts done, before pivot_root         | created      |
//! | createRuntime   | the runtime (create)    | after prestart                         | creating     |
//! | createContainer | the init, container ns  | after createRuntime, before pivot_root | creating     |
//! | startContainer  | the init, container ns  | after `start`, before the execve       | created      |
//! | poststart       | the runtime (start)     | after the process started              | running      |
//! | poststop        | the runtime (delete)    | after the container stopped            | stopped      |
//!
//! (runtime-tools checks "created" for prestart, which the spec keeps for
//! compatibility with the time it ran after `start`.)

use std::io::{Read, Seek, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::error::{Context, Error};

/// How much of a failed hook's output goes into the error.
const OUTPUT_MAX: u64 = 4096;

/// Runs `hooks` in order, each with `state` (the OCI state JSON) on stdin;
/// the first failure stops the others (prestart, createRuntime,
/// createContainer, startContainer).
pub fn run_all(kind: &str, hooks: &[Hook], state: &[u8]) -> Result<(), Error> {
    for (i, hook) in hooks.iter().enumerate() {
        run_one(hook, state)
            .with_context(|| format!("{kind} hook #{i} ({})", hook.path().display()))?;
    }
    Ok(())
}

/// Runs every hook even when one fails, returning the failures as warnings
/// (poststart, poststop: "the remaining hooks and lifecycle continue").
pub fn run_all_warn(kind: &str, hooks: &[Hook], state: &[u8]) -> Vec<String> {
    let mut warnings = Vec::new();
    for (i, hook) in hooks.iter().enumerate() {
        let r = run_one(hook, state)
            .with_context(|| format!("{kind} hook #{i} ({})", hook.path().display()));
        if let Err(e) = r {
            warnings.push(crate::error::chain(&e));
        }
    }
    warnings
}

fn run_one(hook: &Hook, state: &[u8]) -> Result<(), Error> {
    let output = sys::fs::memfd(c"hook-output").context("memfd for the hook's output")?;
    let mut output = std::fs::File::from(output);
    let mut cmd = Command::new(hook.path());
    let args = hook.args().clone().unwrap_or_default();
    if let Some((arg0, rest)) = args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        cmd.env(k, v);
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
    let json = state_json(
        &state.id,
        state.init_pid,
        status,
        &state.bundle,
        &state.annotations,
    );
    run_all_warn(kind, hooks, &json)
}

/// The OCI state document hooks read.
pub fn state_json(
    id: &str,
    pid: i32,
    status: &str,
    bundle: &std::path::Path,
    annotations: &std::collections::BTreeMap<String, String>,
) -> Vec<u8> {
    let mut v = serde_json::json!({
        "ociVersion": crate::spec::SPEC_VERSION,
        "id": id,
        "status": status,
        "pid": pid,
        "bundle": bundle,
    });
    if !annotations.is_empty() {
        v["annotations"] = serde_json::json!(annotations);
    }
    serde_json::to_vec(&v).unwrap_or_default()
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
