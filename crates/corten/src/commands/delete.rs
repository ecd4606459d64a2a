//! `corten delete [--force] ID`.

use lifecycle::state::Store;
use lifecycle::Error;

pub fn run(store: &Store, id: &str, force: bool) -> Result<i32, Error> {
    lifecycle::container::delete(store, id, force)?;
    Ok(0)
}
