//! The command-line grammar: runc's global flags and subcommands.

use std::path::PathBuf;

use clap::{Args, Parser};

use crate::log;

#[derive(Debug, Parser)]
#[command(
    name = "corten",
    about = "An OCI container runtime",
    disable_version_flag = true
)]
pub struct Cli {
    /// Root directory for container state (default /run/corten, or
    /// $XDG_RUNTIME_DIR/corten when not root)
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Log file (default: errors to stderr only)
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: log::Format,
    /// crun's log level (accepted for compatibility)
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    /// Enable debug logging
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use systemd for cgroups
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// Rootless mode: true, false or auto (`spec --rootless`: a rootless config)
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,
    /// Accepted and ignored (runc up to 1.3)
    #[arg(long, global = true)]
    pub criu: Option<String>,
    /// crun's cgroup manager: cgroupfs, systemd or disabled
    #[arg(long, global = true)]
    pub cgroup_manager: Option<String>,
    /// Print the version
    #[arg(short = 'v', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A subcommand and its arguments.
#[derive(Debug)]
pub enum Command {
    Create(CreateArgs),
    Start(IdArgs),
    State(IdArgs),
    Kill(KillArgs),
    Delete(DeleteArgs),
    Run(RunArgs),
    List(ListArgs),
    Spec(SpecArgs),
    Features,
    Exec(Box<ExecArgs>),
    Ps(PsArgs),
    Pause(IdArgs),
    Resume(IdArgs),
    Events(EventsArgs),
    Update(Box<UpdateArgs>),
    // Parsed so that runc's flags are taken; unread until these commands land.
    Checkpoint(#[allow(dead_code)] Later),
    Restore(#[allow(dead_code)] Later),
}

/// What adds a subcommand's arguments to its (empty) clap command.
type Grammar = fn(clap::Command) -> clap::Command;

/// Every subcommand: its name, its line of help, and its grammar. The
/// grammar is built only for the subcommand a command line names (clap's
/// `defer`): building all of them for every call was most of what a short
/// corten process allocated (issue 15). The argument structs carry no doc
/// comment of their own, which would replace the line of help.
const SUBCOMMANDS: &[(&str, &str, Grammar)] = &[
    ("create", "Create a container", CreateArgs::augment_args),
    ("start", "Start a created container", IdArgs::augment_args),
    (
        "state",
        "Print the state of a container",
        IdArgs::augment_args,
    ),
    (
        "kill",
        "Send a signal to a container's init",
        KillArgs::augment_args,
    ),
    ("delete", "Delete a container", DeleteArgs::augment_args),
    ("run", "Create and start a container", RunArgs::augment_args),
    ("list", "List containers", ListArgs::augment_args),
    (
        "spec",
        "Write a default config.json",
        SpecArgs::augment_args,
    ),
    ("features", "Print what this runtime supports", |c| c),
    (
        "exec",
        "Run a process in a running container",
        ExecArgs::augment_args,
    ),
    ("ps", "List a container's processes", PsArgs::augment_args),
    ("pause", "Pause a container", IdArgs::augment_args),
    ("resume", "Resume a paused container", IdArgs::augment_args),
    (
        "events",
        "Stream a container's statistics",
        EventsArgs::augment_args,
    ),
    (
        "update",
        "Update a container's resource limits",
        UpdateArgs::augment_args,
    ),
    ("checkpoint", "Checkpoint a container", Later::augment_args),
    ("restore", "Restore a container", Later::augment_args),
];

impl clap::Subcommand for Command {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        cmd.subcommands(
            SUBCOMMANDS
                .iter()
                .map(|&(name, about, args)| clap::Command::new(name).about(about).defer(args)),
        )
    }

    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        SUBCOMMANDS.iter().any(|(n, _, _)| *n == name)
    }
}

impl clap::FromArgMatches for Command {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Self::from_arg_matches_mut(&mut matches.clone())
    }

    fn from_arg_matches_mut(matches: &mut clap::ArgMatches) -> Result<Self, clap::Error> {
        let Some((name, mut sub)) = matches.remove_subcommand() else {
            return Err(clap::Error::new(clap::error::ErrorKind::MissingSubcommand));
        };
        let m = &mut sub;
        Ok(match name.as_str() {
            "create" => Command::Create(CreateArgs::from_arg_matches_mut(m)?),
            "start" => Command::Start(IdArgs::from_arg_matches_mut(m)?),
            "state" => Command::State(IdArgs::from_arg_matches_mut(m)?),
            "kill" => Command::Kill(KillArgs::from_arg_matches_mut(m)?),
            "delete" => Command::Delete(DeleteArgs::from_arg_matches_mut(m)?),
            "run" => Command::Run(RunArgs::from_arg_matches_mut(m)?),
            "list" => Command::List(ListArgs::from_arg_matches_mut(m)?),
            "spec" => Command::Spec(SpecArgs::from_arg_matches_mut(m)?),
            "features" => Command::Features,
            "exec" => Command::Exec(Box::new(ExecArgs::from_arg_matches_mut(m)?)),
            "ps" => Command::Ps(PsArgs::from_arg_matches_mut(m)?),
            "pause" => Command::Pause(IdArgs::from_arg_matches_mut(m)?),
            "resume" => Command::Resume(IdArgs::from_arg_matches_mut(m)?),
            "events" => Command::Events(EventsArgs::from_arg_matches_mut(m)?),
            "update" => Command::Update(Box::new(UpdateArgs::from_arg_matches_mut(m)?)),
            "checkpoint" => Command::Checkpoint(Later::from_arg_matches_mut(m)?),
            "restore" => Command::Restore(Later::from_arg_matches_mut(m)?),
            _ => return Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand)),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

// `start`, `state`, `pause`, `resume`: a container.
#[derive(Debug, Args)]
pub struct IdArgs {
    pub id: String,
}

// `kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal every process of the container
    #[arg(short, long)]
    pub all: bool,
    pub id: String,
    /// Signal name or number (default SIGTERM)
    pub signal: Option<String>,
}

// `delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Kill the container first if it is running
    #[arg(short, long)]
    pub force: bool,
    pub id: String,
}

// `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// table or json
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// Print only ids
    #[arg(short, long)]
    pub quiet: bool,
}

// `spec`.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Bundle directory
    #[arg(short, long)]
    pub bundle: Option<PathBuf>,
}

// `ps`.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// table or json
    #[arg(short, long, default_value = "table")]
    pub format: String,
    pub id: String,
    /// Options for ps(1) (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

// `events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// How often to print statistics
    #[arg(long, default_value = "5s")]
    pub interval: String,
    /// Print statistics once and exit
    #[arg(long)]
    pub stats: bool,
    pub id: String,
}

// The arguments of a subcommand a later release delivers.
#[derive(Debug, Args)]
pub struct Later {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

// `update`: a LinuxResources JSON file and runc's per-resource flags.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// LinuxResources JSON from FILE, or - for stdin (the other flags are
    /// then ignored, as runc ignores them)
    #[arg(short, long)]
    pub resources: Option<String>,
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// -1 for none (runc takes negative values here)
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    #[arg(long)]
    pub cpu_share: Option<u64>,
    #[arg(long)]
    pub cpu_rt_period: Option<u64>,
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    #[arg(long)]
    pub cpu_idle: Option<i64>,
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Memory limit (bytes, or with a k/m/g suffix; -1 for none)
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Ignored with a warning, as runc ignores it
    #[arg(long, allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    /// Ignored with a warning, as runc ignores it
    #[arg(long, allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Refused: no Intel RDT support
    #[arg(long)]
    pub l3_cache_schema: Option<String>,
    #[arg(long)]
    pub mem_bw_schema: Option<String>,
    pub id: String,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Bundle directory (default: the current directory)
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket to receive the pty master on
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Unix socket to receive a pidfd of the init on
    #[arg(long)]
    pub pidfd_socket: Option<PathBuf>,
    /// File to write the init's pid to
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Use MS_MOVE and chroot instead of pivot_root
    #[arg(long)]
    pub no_pivot: bool,
    /// Do not create a session keyring for the container
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass this many descriptors from 3 up to the container
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    pub id: String,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Return once the container has started
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the stopped container's state
    #[arg(long)]
    pub keep: bool,
    /// Accepted for compatibility: a foreground run must reap its container
    #[arg(long)]
    pub no_subreaper: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Unix socket to receive the pty master on
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Unix socket to receive a pidfd of the process on
    #[arg(long)]
    pub pidfd_socket: Option<PathBuf>,
    /// Working directory in the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Set an environment variable (KEY=VALUE; repeatable)
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// UID[:GID] to run as
    #[arg(short, long)]
    pub user: Option<String>,
    /// Additional gids (repeatable, or comma-separated)
    #[arg(short = 'g', long)]
    pub additional_gids: Vec<String>,
    /// The process as JSON (process.json); the command line's process is ignored
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Return once the process has started
    #[arg(short, long)]
    pub detach: bool,
    /// File to write the process's pid to
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// SELinux label for the process
    #[arg(long)]
    pub process_label: Option<String>,
    /// AppArmor profile for the process
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Set no_new_privs for the process
    #[arg(long)]
    pub no_new_privs: bool,
    /// Add a capability (repeatable)
    #[arg(short, long)]
    pub cap: Vec<String>,
    /// Pass this many descriptors from 3 up to the process
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Run in this sub-cgroup of the container's (PATH or CONTROLLER:PATH)
    #[arg(long)]
    pub cgroup: Vec<String>,
    /// Exec even in a paused container
    #[arg(long)]
    pub ignore_paused: bool,
    pub id: String,
    /// The command and its arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}
