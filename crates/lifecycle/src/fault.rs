//! Fault injection for the tests of what a killed `create` leaves behind
//! (robustness::every_step_of_a_killed_create_is_cleaned_by_delete_force).
//!
//! `CORTEN_FAULT_STEP=N` makes the runtime SIGKILL itself when it reaches
//! the Nth [`step`] of `create` (1-based); `CORTEN_FAULT_STEP=list` lets
//! it run and prints each step it passes to stderr, one line each, so a
//! test covers every step the code has, new ones too. Only debug builds
//! (the ones the integration tests drive) look at the variable: in a
//! release build [`step`] is empty.

#[cfg(debug_assertions)]
mod imp {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::OnceLock;

    /// What the variable asks for.
    enum Mode {
        Off,
        List,
        KillAt(u32),
    }

    fn mode() -> &'static Mode {
        static MODE: OnceLock<Mode> = OnceLock::new();
        MODE.get_or_init(|| match std::env::var("CORTEN_FAULT_STEP").as_deref() {
            Ok("list") => Mode::List,
            Ok(n) => n.parse().map_or(Mode::Off, Mode::KillAt),
            Err(_) => Mode::Off,
        })
    }

    pub fn step(name: impl std::fmt::Display) {
        static SEEN: AtomicU32 = AtomicU32::new(0);
        match mode() {
            Mode::Off => {}
            Mode::List => {
                let n = SEEN.fetch_add(1, Ordering::Relaxed) + 1;
                eprintln!("fault step {n}: {name}");
            }
            Mode::KillAt(at) => {
                if SEEN.fetch_add(1, Ordering::Relaxed) + 1 == *at {
                    let _ = sys::process::kill(std::process::id() as i32, libc::SIGKILL);
                }
            }
        }
    }
}

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
