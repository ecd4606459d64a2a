//! The operations of the runtime spec's lifecycle, one file each.

mod create;
mod delete;
mod exec;
mod kill;
mod pause;
mod query;
mod start;
mod update;

pub use create::{create, CreateOptions, Created};
pub use delete::delete;
pub use exec::{default_process, exec, ExecOptions, Executed};
pub use kill::{kill, parse_signal};
pub use pause::{pause, resume};
pub use query::{list, oci_state, oom_kills, processes, stats, OciState};
pub use start::start;
pub use update::update;
