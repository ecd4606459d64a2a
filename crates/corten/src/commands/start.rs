//! `corten start`.

use lifecycle::state::Store;
use lifecycle::Error;

pub fn run(store: &Store, id: &str) -> Result<i32, Error> {
    lifecycle::container::start(store, id)?;
    Ok(0)
}
