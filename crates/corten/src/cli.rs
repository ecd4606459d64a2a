//! The command-line grammar: runc's global flags and subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a container
    Create(CreateArgs),
    /// Start a created container
    Start { id: String },
    /// Print the state of a container
    State { id: String },
    /// Send a signal to a container's init
    Kill {
        /// Signal every process of the container
        #[arg(short, long)]
        all: bool,
        id: String,
        /// Signal name or number (default SIGTERM)
        signal: Option<String>,
    },
    /// Delete a container
    Delete {
        /// Kill the container first if it is running
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// Create and start a container
    Run(RunArgs),
    /// List containers
    List {
        /// table or json
        #[arg(short, long, default_value = "table")]
        format: String,
        /// Print only ids
        #[arg(short, long)]
        quiet: bool,
    },
    /// Write a default config.json
    Spec {
        /// Bundle directory
        #[arg(short, long)]
        bundle: Option<PathBuf>,
    },
    /// Print what this runtime supports
    Features,
    /// Run a process in a running container
    Exec(Box<ExecArgs>),
    /// List a container's processes
    Ps {
        /// table or json
        #[arg(short, long, default_value = "table")]
        format: String,
        id: String,
        /// Options for ps(1) (default -ef)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Pause a container
    Pause { id: String },
    /// Resume a paused container
    Resume { id: String },
    /// Stream a container's statistics
    Events {
        /// How often to print statistics
        #[arg(long, default_value = "5s")]
        interval: String,
        /// Print statistics once and exit
        #[arg(long)]
        stats: bool,
        id: String,
    },
    /// Update a container's resource limits
    Update(Box<UpdateArgs>),
    /// Checkpoint a container
    Checkpoint(Later),
    /// Restore a container
    Restore(Later),
}

/// The arguments of a subcommand a later release delivers.
#[derive(Debug, Args)]
pub struct Later {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// `update`: a LinuxResources JSON file and runc's per-resource flags.
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
