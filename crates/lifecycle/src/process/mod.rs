//! The container process: user, cwd, environment, command, fds, signals.

pub mod caps;
pub mod fds;
pub mod limits;
pub mod lsm;
pub mod sched;
pub mod signals;
pub mod sysctl;
pub mod terminal;
pub mod user;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::error::{Context, Error};

/// PATH when the config's environment has none (Go's and runc's default).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The command to exec, before and after its lookup in PATH.
pub struct Exec {
    args: Vec<CString>,
    env: Vec<CString>,
    path_var: String,
    program: Option<CString>,
    umask: libc::mode_t,
}

impl Exec {
    /// Collects args and env from the config; HOME comes from the
    /// container's /etc/passwd when the config does not set it, as runc.
    pub fn prepare(spec: &Spec) -> Result<Exec, Error> {
        let p = spec
            .process()
            .as_ref()
            .ok_or_else(|| Error::Config("process is missing".into()))?;
        let cstr = |s: &str, what: &str| {
            CString::new(s).map_err(|_| Error::Config(format!("{what} contains a NUL byte: {s:?}")))
        };
        let args = p
            .args()
            .iter()
            .flatten()
            .map(|a| cstr(a, "process.args"))
            .collect::<Result<Vec<_>, _>>()?;
        let mut env_list = unique_env(p.env().as_deref().unwrap_or_default());
        if !env_list.iter().any(|e| e.starts_with("HOME=")) {
            env_list.push(format!("HOME={}", user::home_of(p.user().uid())));
        }
        let path_var = env_list
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH)
            .to_string();
        let env = env_list
            .iter()
            .map(|e| cstr(e, "process.env"))
            .collect::<Result<Vec<_>, _>>()?;
        let umask = p.user().umask().unwrap_or(0o022) & 0o777;
        Ok(Exec {
            args,
            env,
            path_var,
            program: None,
            umask,
        })
    }

    /// Finds the program as execvp would, with the container's PATH, as
    /// the container user: a missing command is reported before `start`.
    /// The program must be reached without a magic link (`/proc/PID/fd/N`,
    /// `root`, `cwd`, `exe`), which could lead out of the container's root
    /// (CVE-2024-21626's class), except a descriptor the caller passed
    /// (`inherited`, named as `/proc/self/fd/N` or `/dev/fd/N`).
    pub fn resolve(mut self, inherited: &[std::os::fd::RawFd]) -> Result<Exec, Error> {
        let arg0 = self.args[0].to_str().unwrap_or_default().to_string();
        let found = lookup(&arg0, &self.path_var, inherited)?;
        self.program = Some(CString::new(found.as_os_str().as_bytes()).expect("from a CString"));
        Ok(self)
    }

    /// Replaces the init with the container's command. Returns only on failure.
    pub fn exec(self) -> Error {
        sys::fs::umask(self.umask);
        let program = self.program.as_ref().unwrap_or(&self.args[0]);
        let e = sys::process::execve(program, &self.args, &self.env);
        Error::Sys {
            context: format!("exec {:?}", self.args[0]),
            source: e,
        }
    }
}

/// The environment as runc's init sets it, one os.Setenv per entry: a name
/// given again (`exec --env` over the config's) keeps its first place and
/// takes the last value, so getenv() and a shell read the same one.
/// One map lookup per entry: engines pass thousands (a pod's service
/// links), and this runs on every create.
fn unique_env(env: &[String]) -> Vec<String> {
    fn name(e: &str) -> &str {
        e.split_once('=').map_or(e, |(n, _)| n)
    }
    let mut at: std::collections::HashMap<&str, usize> =
        std::collections::HashMap::with_capacity(env.len());
    let mut out: Vec<String> = Vec::with_capacity(env.len());
    for e in env {
        match at.get(name(e)) {
            Some(&i) => out[i].clone_from(e),
            None => {
                at.insert(name(e), out.len());
                out.push(e.clone());
            }
        }
    }
    out
}

/// Looks `cmd` up like Go's exec.LookPath, which runc's error texts follow.
fn lookup(cmd: &str, path_var: &str, inherited: &[std::os::fd::RawFd]) -> Result<PathBuf, Error> {
    let not_found = |detail: String| Error::CommandNotFound(format!("exec: {cmd:?}: {detail}"));
    if cmd.contains('/') {
        let checked = if passed_fd(cmd).is_some_and(|fd| inherited.contains(&fd)) {
            check_passed_fd(Path::new(cmd))
        } else {
            check_executable(Path::new(cmd))
        };
        return match checked {
            Ok(()) => Ok(PathBuf::from(cmd)),
            Err(e) if e.errno() == libc::ENOENT => {
                Err(not_found(format!("stat {cmd}: no such file or directory")))
            }
            Err(e) if e.errno() == libc::ELOOP => Err(Error::Config(format!(
                "exec: {cmd:?}: the path goes through a magic link (/proc/PID/fd, root, cwd or exe), \
                 which could lead outside the container's root"
            ))),
            Err(e) => Err(Error::Io {
                context: format!("exec: {cmd:?}"),
                source: e.into(),
            }),
        };
    }
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(cmd);
        // A PATH entry through a magic link is skipped as a missing one.
        if check_executable(&candidate).is_ok() {
            return Ok(candidate);
        }
    }
    Err(not_found("executable file not found in $PATH".into()))
}

/// N of `/proc/self/fd/N` or `/dev/fd/N`.
fn passed_fd(cmd: &str) -> Option<std::os::fd::RawFd> {
    ["/proc/self/fd/", "/dev/fd/"]
        .iter()
        .find_map(|p| cmd.strip_prefix(p))
        .and_then(|n| n.parse().ok())
}

/// An executable file reached from the container's root and cwd without a
/// magic link.
fn check_executable(path: &Path) -> sys::Result<()> {
    let fd = sys::fs::openat2(None, path, libc::O_PATH, 0, libc::RESOLVE_NO_MAGICLINKS)?;
    check_mode(&sys::fs::fstat(std::os::fd::AsFd::as_fd(&fd))?)
}

/// A descriptor the caller passed, executed by its /proc/self/fd name.
fn check_passed_fd(path: &Path) -> sys::Result<()> {
    let fd = sys::fs::openat(None, path, libc::O_PATH, 0)?;
    check_mode(&sys::fs::fstat(std::os::fd::AsFd::as_fd(&fd))?)
}

fn check_mode(st: &libc::stat) -> sys::Result<()> {
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR || st.st_mode & 0o111 == 0 {
        return Err(sys::Error::new("exec", libc::EACCES));
    }
    Ok(())
}

/// Enters process.cwd with the runtime's permissions, before the user
/// switch, as runc does: a directory the container's user may not search
/// (`/root`, 0700) is still its cwd. Returns whether it must be tried again
/// as the user (EACCES now); [`enter_cwd`] then does, and verifies it.
pub fn enter_cwd_privileged(spec: &Spec) -> Result<bool, Error> {
    let Some(p) = spec.process() else {
        return Ok(false);
    };
    match sys::fs::chdir(p.cwd()) {
        Ok(()) => Ok(false),
        Err(e) if e.errno() == libc::EACCES || e.errno() == libc::EPERM => Ok(true),
        Err(e) => Err(e).with_context(|| format!("entering cwd {}", p.cwd().display())),
    }
}

/// Enters process.cwd if [`enter_cwd_privileged`] left it `pending`, and
/// proves it is inside the container's root: a directory reached through a
/// leaked host descriptor reads back from the kernel as "(unreachable)/..."
/// (CVE-2024-21626).
pub fn enter_cwd(spec: &Spec, pending: bool) -> Result<(), Error> {
    let Some(p) = spec.process() else {
        return Ok(());
    };
    if pending {
        sys::fs::chdir(p.cwd()).with_context(|| format!("entering cwd {}", p.cwd().display()))?;
    }
    let actual = sys::fs::getcwd().context("checking cwd")?;
    if !actual.is_absolute() || actual.starts_with("(unreachable)") {
        return Err(Error::Config(format!(
            "cwd {} resolves outside the container's root",
            p.cwd().display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_follows_path_and_words_errors_as_runc() {
        assert_eq!(
            lookup("sh", "/nonexistent:/bin", &[]).unwrap(),
            PathBuf::from("/bin/sh")
        );
        let e = lookup("no-such-cmd-xyz", "/bin", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "exec: \"no-such-cmd-xyz\": executable file not found in $PATH"
        );
        assert_eq!(e.exit_status(), 127);
        let e = lookup("/no/such", "/bin", &[]).unwrap_err();
        assert!(e.to_string().contains("no such file or directory"));
        assert!(
            lookup("/etc", "/bin", &[]).is_err(),
            "a directory is not a command"
        );
    }

    #[test]
    fn a_name_given_again_keeps_its_place_and_takes_the_last_value() {
        let env: Vec<String> = ["A=1", "MY_VAR=from_spec", "B=2", "MY_VAR=from_cli"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(unique_env(&env), ["A=1", "MY_VAR=from_cli", "B=2"]);
    }

    #[test]
    fn a_program_reached_through_a_magic_link_is_refused() {
        // The test's own cwd, reached through /proc/self/cwd: a magic link.
        let e = lookup("/proc/self/cwd/../../../../../../bin/sh", "/bin", &[]).unwrap_err();
        assert!(e.to_string().contains("magic link"), "{e}");
        assert_eq!(
            lookup("sh", "/proc/self/root/bin:/nonexistent", &[])
                .unwrap_err()
                .exit_status(),
            127,
            "a PATH entry through a magic link is skipped"
        );
    }
}
