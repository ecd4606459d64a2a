//! `corten exec`: a new process in a container, in the foreground (its exit
//! status is ours, signals pass through) or detached.

use oci_spec::runtime::{Capability, LinuxCapabilities, Process, User};

use lifecycle::container::{self, ExecOptions};
use lifecycle::state::Store;
use lifecycle::Error;

use crate::cli::ExecArgs;
use crate::log::Logger;

pub fn run(store: &Store, args: &ExecArgs, log: &Logger) -> Result<i32, Error> {
    let (process, scheduler) = match &args.process {
        Some(path) => {
            let text = lifecycle::spec::read_file(path).map_err(|source| Error::Io {
                context: format!("reading {}", path.display()),
                source,
            })?;
            let (process, warnings, scheduler) = lifecycle::spec::parse_process(&text, path)?;
            warnings.iter().for_each(|w| log.warn(w));
            (process, scheduler)
        }
        None => {
            let (base, scheduler) = container::default_process(store, &args.id)?;
            (with_flags(base, args)?, scheduler)
        }
    };
    let old_mask = if args.detach {
        None
    } else {
        Some(super::wait::block_all().map_err(|source| Error::Sys {
            context: "blocking signals".into(),
            source,
        })?)
    };
    let executed = container::exec(
        store,
        &ExecOptions {
            id: &args.id,
            process,
            scheduler,
            preserve_fds: args.preserve_fds,
            ignore_paused: args.ignore_paused,
            pid_file: args.pid_file.as_deref(),
            console_socket: args.console_socket.as_deref(),
            console_to_caller: !args.detach,
            sub_cgroups: sub_cgroups(&args.cgroup),
        },
    )?;
    let pid = executed.pid;
    if let Some(socket) = &args.pidfd_socket {
        lifecycle::spawn::handoff::send_pidfd(socket, pid)?;
    }
    log.debug(&format!("exec in {}: pid {pid}", args.id));
    let Some(mask) = old_mask else {
        return Ok(0);
    };
    let status = match executed.console {
        Some(master) => super::console::attach_and_wait(pid, master),
        None => super::wait::forwarding_signals(pid),
    }
    .map_err(|source| Error::Sys {
        context: "waiting for the process".into(),
        source,
    })?;
    let _ = sys::signal::set_mask(&mask);
    Ok(status)
}

/// The config's process with the command line's changes, as runc makes them.
fn with_flags(mut p: Process, args: &ExecArgs) -> Result<Process, Error> {
    if args.command.is_empty() {
        return Err(Error::Config(
            "exec: a command is required (or --process FILE)".into(),
        ));
    }
    p.set_args(Some(args.command.clone()));
    p.set_terminal(Some(args.tty));
    if let Some(cwd) = &args.cwd {
        p.set_cwd(cwd.clone());
    }
    if !args.env.is_empty() {
        let mut env = p.env().clone().unwrap_or_default();
        env.extend(args.env.iter().cloned());
        p.set_env(Some(env));
    }
    if let Some(u) = &args.user {
        p.set_user(user(u, p.user())?);
    }
    if !args.additional_gids.is_empty() {
        let mut gids = Vec::new();
        for g in args.additional_gids.iter().flat_map(|g| g.split(',')) {
            gids.push(g.trim().parse::<u32>().map_err(|_| {
                Error::Config(format!("exec: --additional-gids: {g:?} is not a number"))
            })?);
        }
        let mut u = p.user().clone();
        u.set_additional_gids(Some(gids));
        p.set_user(u);
    }
    if args.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(profile) = &args.apparmor {
        p.set_apparmor_profile(Some(profile.clone()));
    }
    if let Some(label) = &args.process_label {
        p.set_selinux_label(Some(label.clone()));
    }
    if !args.cap.is_empty() {
        p.set_capabilities(Some(add_caps(
            p.capabilities().clone().unwrap_or_default(),
            &args.cap,
        )?));
    }
    Ok(p)
}

/// `-u UID[:GID]`: numbers, as runc takes them.
fn user(spec: &str, base: &User) -> Result<User, Error> {
    let bad = || Error::Config(format!("exec: --user {spec:?}: expected UID[:GID]"));
    let (uid, gid) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let mut u = base.clone();
    u.set_uid(uid.parse().map_err(|_| bad())?);
    if let Some(g) = gid {
        u.set_gid(g.parse().map_err(|_| bad())?);
    }
    Ok(u)
}

/// `--cap NAME`: added to the bounding, effective and permitted sets, and
/// to ambient where the config has inheritable ones (runc's rule).
fn add_caps(mut caps: LinuxCapabilities, names: &[String]) -> Result<LinuxCapabilities, Error> {
    for name in names {
        let full = if name.starts_with("CAP_") {
            name.clone()
        } else {
            format!("CAP_{}", name.to_uppercase())
        };
        let cap: Capability = serde_json::from_value(serde_json::Value::String(full.clone()))
            .map_err(|_| Error::Config(format!("exec: --cap: unknown capability {name:?}")))?;
        let add = |set: &Option<std::collections::HashSet<Capability>>| {
            let mut s = set.clone().unwrap_or_default();
            s.insert(cap);
            Some(s)
        };
        caps.set_bounding(add(caps.bounding()));
        caps.set_effective(add(caps.effective()));
        caps.set_permitted(add(caps.permitted()));
        if caps.inheritable().as_ref().is_some_and(|i| !i.is_empty()) {
            caps.set_ambient(add(caps.ambient()));
        }
    }
    Ok(caps)
}

/// `--cgroup [CONTROLLER[,CONTROLLER]:]PATH`, as runc takes it.
fn sub_cgroups(flags: &[String]) -> Vec<(Option<String>, std::path::PathBuf)> {
    let mut out = Vec::new();
    for f in flags {
        match f.split_once(':') {
            Some((controllers, path)) => {
                for c in controllers.split(',') {
                    out.push((Some(c.to_string()), path.trim_start_matches('/').into()));
                }
            }
            None => out.push((None, f.trim_start_matches('/').into())),
        }
    }
    out
}
