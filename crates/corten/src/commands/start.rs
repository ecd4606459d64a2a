//! `corten start`.

use lifecycle::state::Store;
use lifecycle::Error;

pub fn run(store: &Store, id: &str, log: &crate::log::Logger) -> Result<i32, Error> {
    for w in lifecycle::container::start(store, id)? {
        log.warn(&w);
    }
    Ok(0)
}
