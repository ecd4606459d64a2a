//! One file per subcommand; this one picks the file and the state root.

mod console;
mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod later;
mod list;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod update;
mod wait;

use std::path::PathBuf;

use lifecycle::state::Store;
use lifecycle::Error;

use crate::cli::{Cli, Command};
use crate::log::Logger;

/// Runs the chosen subcommand; returns the process's exit status.
pub fn dispatch(cli: &Cli, log: &Logger) -> Result<i32, Error> {
    if cli.version {
        print!("{}", version());
        return Ok(0);
    }
    let Some(command) = &cli.command else {
        use clap::CommandFactory;
        let _ = Cli::command().print_help();
        return Ok(0);
    };
    check_cgroup_manager(cli)?;
    check_rootless(cli)?;
    let store = || Store::open(&root_dir(cli)?);
    match command {
        Command::Create(args) => create::run(&store()?, args, log, cgroup_policy(cli)),
        Command::Start(a) => start::run(&store()?, &a.id, log),
        Command::State(a) => state::run(&store()?, &a.id),
        Command::Kill(a) => kill::run(&store()?, &a.id, a.signal.as_deref(), a.all),
        Command::Delete(a) => delete::run(&store()?, &a.id, a.force, log),
        Command::Run(args) => run::run(&store()?, args, log, cgroup_policy(cli)),
        Command::List(a) => list::run(&store()?, &a.format, a.quiet),
        Command::Spec(a) => spec::run(a.bundle.as_deref(), cli.rootless.as_deref() == Some("true")),
        Command::Features => features::run(),
        Command::Exec(args) => exec::run(&store()?, args, log),
        Command::Ps(a) => ps::run(&store()?, &a.id, &a.format, &a.ps_args),
        Command::Pause(a) => lifecycle::container::pause(&store()?, &a.id).map(|()| 0),
        Command::Resume(a) => lifecycle::container::resume(&store()?, &a.id).map(|()| 0),
        Command::Events(a) => events::run(&store()?, &a.id, &a.interval, a.stats),
        Command::Update(args) => update::run(&store()?, args, log),
        Command::Checkpoint(_) => later::run("checkpoint"),
        Command::Restore(_) => later::run("restore"),
    }
}

/// `--version`, in runc's shape: go-runc parses the first line as
/// "<name> version X"; bug reports read the commit, the runtime-spec
/// version and the seccomp compiler (corten's own, where runc names its
/// libseccomp).
fn version() -> String {
    format!(
        "corten version {}\ncommit: {}\nspec: {}\nseccomp: corten-seccomp {} (no libseccomp)\n",
        env!("CARGO_PKG_VERSION"),
        env!("CORTEN_COMMIT"),
        crate::SPEC_VERSION,
        env!("CARGO_PKG_VERSION"),
    )
}

/// `--cgroup-manager` (crun's) names a manager we have.
fn check_cgroup_manager(cli: &Cli) -> Result<(), Error> {
    match cli.cgroup_manager.as_deref() {
        None | Some("cgroupfs" | "disabled" | "systemd") => Ok(()),
        Some(other) => Err(Error::Config(format!("unknown cgroup manager {other:?}"))),
    }
}

/// runc's `--rootless true|false|auto`: auto (the default) means rootless
/// for an unprivileged caller, and for root of a user namespace (rootless
/// podman runs the runtime so), as runc decides.
fn rootless(cli: &Cli) -> bool {
    match cli.rootless.as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => sys::process::unprivileged(),
    }
}

fn check_rootless(cli: &Cli) -> Result<(), Error> {
    match cli.rootless.as_deref() {
        None | Some("true" | "false" | "auto") => Ok(()),
        Some(other) => Err(Error::Config(format!(
            "--rootless {other:?}: true, false or auto"
        ))),
    }
}

/// `--cgroup-manager=disabled` runs without cgroups; `--systemd-cgroup`
/// (or crun's `--cgroup-manager=systemd`) asks systemd for them.
fn cgroup_policy(cli: &Cli) -> lifecycle::cgroup::Policy {
    match cli.cgroup_manager.as_deref() {
        Some("disabled") => lifecycle::cgroup::Policy::Disabled,
        Some("systemd") => lifecycle::cgroup::Policy::Systemd {
            user: rootless(cli),
        },
        None if cli.systemd_cgroup => lifecycle::cgroup::Policy::Systemd {
            user: rootless(cli),
        },
        _ if rootless(cli) => lifecycle::cgroup::Policy::Rootless,
        _ => lifecycle::cgroup::Policy::Cgroupfs,
    }
}

/// `--root`, or /run/corten for root and $XDG_RUNTIME_DIR/corten (else
/// /run/user/UID/corten) otherwise. An unprivileged user cannot make
/// /run/user/UID: without it and without XDG_RUNTIME_DIR, say so.
fn root_dir(cli: &Cli) -> Result<PathBuf, Error> {
    if let Some(r) = &cli.root {
        return Ok(r.clone());
    }
    let euid = sys::process::effective_ids().0;
    let xdg = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty());
    // Root of a user namespace (rootless podman) cannot write /run: its
    // XDG_RUNTIME_DIR is the user's, as runc decides.
    // runc's shouldHonorXDGRuntimeDir: not for USER=root, whose
    // XDG_RUNTIME_DIR (/run/user/0 in a system container) services lack.
    let userns_root = euid == 0
        && sys::process::in_user_namespace()
        && std::env::var("USER").map_or(true, |u| u != "root");
    if euid == 0 && !(userns_root && xdg.is_some()) {
        return Ok(PathBuf::from("/run/corten"));
    }
    if let Some(d) = xdg {
        return Ok(PathBuf::from(d).join("corten"));
    }
    let run_user = PathBuf::from(format!("/run/user/{euid}"));
    if run_user.is_dir() {
        return Ok(run_user.join("corten"));
    }
    Err(Error::Config(format!(
        "no directory for this user's container state: XDG_RUNTIME_DIR is not set and {} does not exist (give --root DIR)",
        run_user.display()
    )))
}
