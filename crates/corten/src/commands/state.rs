//! `corten state`: the OCI state document, indented as runc prints it.

use lifecycle::state::Store;
use lifecycle::Error;

pub fn run(store: &Store, id: &str) -> Result<i32, Error> {
    let state = lifecycle::container::oci_state(store, id)?;
    let text = serde_json::to_string_pretty(&state).map_err(|e| Error::Config(e.to_string()))?;
    println!("{text}");
    Ok(0)
}
