//! `corten kill ID [SIGNAL]`.

use lifecycle::container::{kill, parse_signal};
use lifecycle::state::Store;
use lifecycle::Error;

pub fn run(store: &Store, id: &str, signal: Option<&str>, all: bool) -> Result<i32, Error> {
    let sig = parse_signal(signal.unwrap_or("SIGTERM"))?;
    kill(store, id, sig, all)?;
    Ok(0)
}
