//! `corten delete [--force] ID`.

use lifecycle::state::Store;
use lifecycle::Error;

pub fn run(store: &Store, id: &str, force: bool, log: &crate::log::Logger) -> Result<i32, Error> {
    for w in lifecycle::container::delete(store, id, force)? {
        log.warn(&w);
    }
    Ok(0)
}
