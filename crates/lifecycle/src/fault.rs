//! Fault injection for the tests of what a killed `create` leaves behind
//! (robustness::every_step_of_a_killed_create_is_cleaned_by_delete_force).
//!
//! `CORTEN_FAULT_STEP=N` makes the runtime SIGKILL itself when it reaches
//! the Nth [`step`] of `create` (1-based); `CORTEN_FAULT_STEP=list` lets
//! it run and prints each step it passes to stderr, one line each, so a
//! test covers every step the code has, new ones too.
//!
//! `CORTEN_FAULT_INIT_STAGE=N` does the same at the Nth [`init_stage`] of
//! the container init's setup (`list` names them): the init, which cannot
//! signal the runtime from its new pid namespace, sends it FaultStage and
//! waits for the runtime's end, which kills itself on receipt: the init is
//! then at that stage (see [`init_stage`]). Only debug builds (the ones the integration tests
//! drive) look at the variables: in a release build both are empty.

#[cfg(debug_assertions)]
mod imp {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::OnceLock;

    /// What a variable asks for.
    enum Mode {
        Off,
        List,
        At(u32),
    }

    fn mode(var: &str) -> Mode {
        match std::env::var(var).as_deref() {
            Ok("list") => Mode::List,
            Ok(n) => n.parse().map_or(Mode::Off, Mode::At),
            Err(_) => Mode::Off,
        }
    }

    /// Counts one more point of `counter`: whether the variable names it,
    /// after printing it in list mode.
    fn reached(mode: &Mode, counter: &AtomicU32, what: &str, name: &dyn std::fmt::Display) -> bool {
        let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
        match mode {
            Mode::Off => false,
            Mode::List => {
                eprintln!("fault {what} {n}: {name}");
                false
            }
            Mode::At(at) => *at == n,
        }
    }

    pub fn step(name: impl std::fmt::Display) {
        static MODE: OnceLock<Mode> = OnceLock::new();
        static SEEN: AtomicU32 = AtomicU32::new(0);
        let mode = MODE.get_or_init(|| mode("CORTEN_FAULT_STEP"));
        if reached(mode, &SEEN, "step", &name) {
            kill_runtime();
        }
    }

    pub fn init_stage(chan: &crate::spawn::sync::Channel, name: &str) {
        static MODE: OnceLock<Mode> = OnceLock::new();
        static SEEN: AtomicU32 = AtomicU32::new(0);
        let mode = MODE.get_or_init(|| mode("CORTEN_FAULT_INIT_STAGE"));
        let n = SEEN.load(Ordering::Relaxed) + 1;
        if reached(mode, &SEEN, "init stage", &name) {
            let _ = chan.send(&crate::spawn::sync::Message::FaultStage(n));
            // Until the runtime is dead (end-of-file): the parent-death
            // signal of a single-stage init strikes here, at this stage;
            // a two-stage init goes on until its next message fails.
            let _ = chan.recv();
        }
    }

    pub fn kill_runtime() {
        let _ = sys::process::kill(std::process::id() as i32, libc::SIGKILL);
    }
}

/// A stage of the container init's setup where a test may have the
/// runtime die (see above).
#[cfg(debug_assertions)]
pub(crate) fn init_stage(chan: &crate::spawn::sync::Channel, name: &str) {
    imp::init_stage(chan, name);
}

/// A stage of the init's setup: nothing in a release build.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub(crate) fn init_stage(_chan: &crate::spawn::sync::Channel, _name: &str) {}

/// The runtime kills itself (a FaultStage arrived).
#[cfg(debug_assertions)]
pub(crate) fn kill_runtime() {
    imp::kill_runtime();
}

/// Never reached in a release build (no init sends FaultStage).
#[cfg(not(debug_assertions))]
pub(crate) fn kill_runtime() {}

/// A point of `create` where a test may kill the runtime (see above).
#[cfg(debug_assertions)]
pub fn step(name: impl std::fmt::Display) {
    imp::step(name);
}

/// A point of `create` where a test may kill the runtime: nothing in a
/// release build.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn step(_name: impl std::fmt::Display) {}
