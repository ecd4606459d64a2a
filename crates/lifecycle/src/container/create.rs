//! `create`: record the container and leave its init parked until `start`.

use std::path::{Path, PathBuf};

use crate::error::{Context, Error};
use crate::fault::step;
use crate::spawn::{self, Request};
use crate::state::{self, State, Store, EXEC_FIFO};

/// What `create` takes from the command line.
pub struct CreateOptions<'a> {
    pub id: &'a str,
    pub bundle: &'a Path,
    pub pid_file: Option<&'a Path>,
    pub preserve_fds: u32,
    /// Socket activation (LISTEN_FDS): this many descriptors from 3 up go
    /// to the init first, and its environment gets LISTEN_FDS=N and
    /// LISTEN_PID=1, as runc passes them.
    pub listen_fds: u32,
    pub no_pivot: bool,
    /// Give the container its own session keyring (runc's default;
    /// `--no-new-keyring` turns it off).
    pub new_keyring: bool,
    /// cgroupfs, none with `--cgroup-manager=disabled`, or rootless.
    pub cgroups: crate::cgroup::Policy,
    /// Where the pty master goes (process.terminal).
    pub console_socket: Option<&'a Path>,
    /// Without a console socket, keep the master for the caller (a
    /// foreground `run`) instead of refusing a terminal.
    pub console_to_caller: bool,
}

/// A created container.
#[derive(Debug)]
pub struct Created {
    pub pid: i32,
    /// The pty master, when the caller keeps it (`console_to_caller`).
    pub console: Option<std::os::fd::OwnedFd>,
    /// Things in the config that were skipped, for the log.
    pub warnings: Vec<String>,
    /// What the runtime chose where the user has nothing to act on, for
    /// the debug log only.
    pub notes: Vec<String>,
}

/// Creates a container: the bundle is checked before anything exists, and
/// on any failure the state directory and the init are removed again.
pub fn create(store: &Store, opts: &CreateOptions<'_>) -> Result<Created, Error> {
    // Before the runtime opens anything: which of 3 .. 3+N the caller passed.
    let passed = opts.listen_fds + opts.preserve_fds;
    let inherited = passed_fds(passed);
    state::validate_id(opts.id)?;
    let mut bundle = crate::spec::load(opts.bundle)?;
    if opts.listen_fds > 0 {
        if let Some(p) = bundle.spec.process_mut() {
            let mut env = p.env().clone().unwrap_or_default();
            env.push(format!("LISTEN_FDS={}", opts.listen_fds));
            env.push("LISTEN_PID=1".into());
            p.set_env(Some(env));
        }
    }
    let console = console_target(
        crate::process::terminal::wanted(&bundle.spec),
        opts.console_socket,
        opts.console_to_caller,
    )?;

    let host_mounts = crate::spec::shares_host_mounts(&bundle.spec);
    let locked = store.create(opts.id)?;
    step("state directory made");
    // Without a mount namespace the container's mounts are the host's:
    // which mount at the rootfs was there before, to tell ours after.
    // Read once the id is ours: claiming it may have detached a killed
    // create's mounts, and the kernel hands a freed mount id out again.
    let mount_before = if host_mounts {
        match crate::rootfs::host::top_mount_id(&bundle.rootfs) {
            Ok(id) => id,
            Err(e) => {
                let _ = locked.remove();
                return Err(e);
            }
        }
    } else {
        None
    };
    // After the id is ours (a duplicate must not reach another container's
    // cgroup), and made before the rest, so that the cleanup below never
    // touches a cgroup this create did not make (an existing one with
    // processes is refused here, and must be left as it is). Recorded
    // before it is made: a create killed before it saves the state leaves
    // `delete` a way to find it.
    // A rootless container that asks for no limits runs without a cgroup
    // it cannot make, as runc does, saying so only in the debug log.
    let mut notes = Vec::new();
    let made =
        crate::cgroup::plan(&bundle.spec, opts.id, opts.cgroups, &mut notes).and_then(|cg| {
            if let Some(cg) = &cg {
                locked.record_cgroup_plan(&crate::cgroup::plan_of(cg.as_ref()))?;
                step("cgroup plan recorded");
                cg.create().map_err(Error::Cgroup)?;
                step("cgroup made");
            }
            Ok(cg)
        });
    let cgroup = match made {
        Ok(cg) => cg,
        Err(e) => {
            let _ = locked.remove();
            return Err(e);
        }
    };
    let dir = locked.dir().to_path_buf();
    let result = (|| {
        if host_mounts {
            locked.record_host_mounts(&bundle.rootfs, mount_before)?;
        }
        // What `exec` starts from: the config as read, without the init's
        // socket activation.
        crate::spec::save(&bundle, &dir)?;
        let fifo_path = dir.join(EXEC_FIFO);
        sys::fs::mkfifo(&fifo_path, 0o622).context("creating exec fifo")?;
        step("exec fifo made");
        let fifo =
            sys::fs::openat(None, &fifo_path, libc::O_RDWR, 0).context("opening exec fifo")?;
        let mut init = spawn::spawn(Request {
            id: opts.id,
            bundle: &bundle,
            fifo,
            preserve_fds: passed,
            inherited_fds: &inherited,
            no_pivot: opts.no_pivot,
            keyring: opts.new_keyring.then(|| keyring_name(opts.id)),
            cgroup: cgroup.as_deref(),
            console,
        })?;
        let pid = init.pid();
        // Limits apply before the container's code runs: the init is parked.
        if let Some(cg) = &cgroup {
            crate::cgroup::apply(cg.as_ref(), &bundle.spec, opts.cgroups)?;
            step("cgroup limits applied");
        }
        let host_rootfs_mount = if host_mounts {
            crate::rootfs::host::top_mount_id(&bundle.rootfs)?
                .filter(|id| Some(*id) != mount_before)
        } else {
            None
        };
        let start_time = state::process_start_time(pid)
            .ok_or_else(|| Error::InitDied(Some("it exited during setup".into())))?;
        locked.save(&State {
            oci_version: bundle.spec.version().clone(),
            id: opts.id.to_string(),
            init_pid: pid,
            init_start_time: start_time,
            bundle: bundle.dir.clone(),
            rootfs: bundle.rootfs.clone(),
            created: state::time::now_rfc3339(),
            annotations: bundle
                .spec
                .annotations()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            owner: sys_uid(),
            hooks: bundle.spec.hooks().clone(),
            has_process: bundle.spec.process().is_some(),
            cgroup: cgroup.as_ref().map(|cg| cg.placement()),
            host_rootfs_mount,
            resources: cgroup
                .as_ref()
                .and_then(|_| super::update::saved_resources(&bundle.spec)),
        })?;
        step("state saved");
        if let Some(p) = opts.pid_file {
            write_pid_file(p, pid)?;
            step("pid file written");
        }
        let console = init.take_console();
        init.commit()?;
        step("init parked");
        Ok((pid, console))
    })();
    match result {
        Ok((pid, console)) => Ok(Created {
            pid,
            console,
            warnings: bundle.warnings,
            notes,
        }),
        Err(e) => {
            // The init (if any) is already killed by its guard. The spec's
            // lifecycle continues with poststop (a failed hook stops the
            // container); the create error is what is reported, so their
            // own failures are not.
            if let Some(hooks) = bundle.spec.hooks() {
                let state = crate::hooks::bundle_state(opts.id, 0, "stopped", &bundle);
                let poststop = hooks.poststop().as_deref().unwrap_or_default();
                let _ = crate::hooks::run_all_warn("poststop", poststop, &state);
            }
            if let Some(cg) = &cgroup {
                let _ = crate::cgroup::destroy(&cg.placement());
            }
            if host_mounts {
                // The init is dead: a mount on top that was not there
                // before is its rootfs bind.
                if let Ok(Some(id)) = crate::rootfs::host::top_mount_id(&bundle.rootfs) {
                    if Some(id) != mount_before {
                        let _ = crate::rootfs::host::release(&bundle.rootfs, id);
                    }
                }
            }
            let _ = locked.remove();
            Err(e)
        }
    }
}

/// Which of the descriptors 3 .. 3+`count` the caller really passed: read
/// before the runtime opens anything of its own.
pub(crate) fn passed_fds(count: u32) -> Vec<std::os::fd::RawFd> {
    (3..3 + count as i32)
        .filter(|&fd| sys::fs::is_open(fd))
        .collect()
}

/// A detached terminal needs somewhere to send its master, and a console
/// socket needs a terminal and a detached runtime (runc's rules and words:
/// a foreground `run`/`exec` with a terminal joins the caller's own).
/// `to_caller` is a foreground `run` or `exec`.
pub(crate) fn console_target<'a>(
    terminal: bool,
    socket: Option<&'a Path>,
    to_caller: bool,
) -> Result<Option<crate::process::terminal::ConsoleTo<'a>>, Error> {
    use crate::process::terminal::ConsoleTo;
    match (terminal, socket) {
        (true, Some(s)) if !to_caller => Ok(Some(ConsoleTo::Socket(s))),
        (true, None) if to_caller => Ok(Some(ConsoleTo::Caller)),
        (true, None) => Err(Error::Config(
            "cannot allocate tty if runc will detach without setting console socket".into(),
        )),
        (_, Some(_)) => Err(Error::Config(
            "cannot use console socket if runc will not detach or allocate tty".into(),
        )),
        (false, None) => Ok(None),
    }
}

/// runc's name for a container's session keyring.
fn keyring_name(id: &str) -> std::ffi::CString {
    // Ids are validated: no NUL can be in one.
    std::ffi::CString::new(format!("_ses.{id}")).unwrap_or_default()
}

/// Writes the pid file atomically, as runc: engines poll for it.
fn write_pid_file(path: &Path, pid: i32) -> Result<(), Error> {
    let path: PathBuf =
        std::path::absolute(path).with_context(|| format!("pid file {}", path.display()))?;
    state::write_atomic(&path, pid.to_string().as_bytes())
}

fn sys_uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0)
}
