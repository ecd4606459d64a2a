//! Subcommands a later release delivers: a clear refusal, not a silent no-op.

use lifecycle::Error;

pub fn run(name: &str) -> Result<i32, Error> {
    Err(Error::Unsupported(format!("\"corten {name}\"")))
}
