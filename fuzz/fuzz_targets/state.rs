//! A container's state.json (lifecycle::state::parse): whatever a crash or
//! another hand left in the state directory must give an error, not a
//! panic; what parses must save and load back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(state) = lifecycle::state::parse(data) else {
        return;
    };
    let saved = serde_json::to_vec(&state).expect("a parsed state serializes");
    let again = lifecycle::state::parse(&saved).expect("a saved state parses");
    assert_eq!(state, again);
});
