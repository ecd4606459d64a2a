//! The operations of the runtime spec's lifecycle, one file each.

mod create;
mod delete;
mod kill;
mod query;
mod start;

pub use create::{create, CreateOptions, Created};
pub use delete::delete;
pub use kill::{kill, parse_signal};
pub use query::{list, oci_state, OciState};
pub use start::start;
