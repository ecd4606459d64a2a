//! The container lifecycle: loading a bundle, the state store, spawning the
//! init and everything it does before the container's process runs.
//!
//! Where things happen:
//! - `spec/`: config.json read, pre-passed and validated
//! - `state/`: the per-container directory, lock and state file
//! - `spawn/`: the clone and the runtime's side of the sync protocol
//! - `init/`: the container init's setup sequence
//! - `rootfs/`: mounts, /dev, pivot_root
//! - `process/`: user, cwd, fds, signals, exec
//! - `container/`: create, start, kill, delete, state, list
//! - `hooks.rs`: the lifecycle hooks
//! - `cgroup.rs`: the container's cgroup (the drivers are crates/cgroups)

pub mod cgroup;
pub mod container;
pub mod error;
mod fault;
pub mod hooks;
mod init;
pub mod process;
pub mod rootfs;
pub mod spawn;
pub mod spec;
pub mod state;

pub use error::Error;
