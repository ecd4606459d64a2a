//! The command line as `main` takes it (corten's src/argv.rs and cli.rs):
//! the arguments as text, runc-compatible normalisation, clap's parse of
//! the result, and on a parse error the logger read from the arguments; on
//! success the values kill, events and update parse themselves.
//! The input's NUL-separated parts are the arguments, as bytes (argv need
//! not be UTF-8). A panic is a bug, and so is a normalisation that a
//! second pass changes.
#![no_main]

// corten is a binary crate: its argv, grammar and logger modules are
// compiled here from the same files, not copied.
#[path = "../../crates/corten/src/argv.rs"]
mod argv;
#[path = "../../crates/corten/src/cli.rs"]
#[allow(dead_code)]
mod cli;
#[path = "../../crates/corten/src/log.rs"]
#[allow(dead_code)]
mod log;
// The subcommands that parse a value of their own (the rest of them act
// on a container).
#[path = "../../crates/corten/src/commands/events.rs"]
#[allow(dead_code)]
mod events;
#[path = "../../crates/corten/src/commands/update.rs"]
#[allow(dead_code)]
mod update;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use clap::Parser;
use cli::Command;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = data
        .split(|b| *b == 0)
        .map(|a| OsString::from_vec(a.to_vec()));
    let Ok(raw) = argv::utf8(raw) else {
        return;
    };
    let args = argv::normalize(raw);
    assert_eq!(argv::normalize(args.clone()), args, "normalising twice");
    let parsed =
        cli::Cli::try_parse_from(std::iter::once("corten".to_string()).chain(args.iter().cloned()));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = log::one_line(&e.to_string());
            let _ = log::Logger::from_raw_args(&args);
            return;
        }
    };
    match cli.command {
        Some(Command::Kill(a)) => {
            let _ = lifecycle::container::parse_signal(a.signal.as_deref().unwrap_or("SIGTERM"));
        }
        Some(Command::Events(a)) => {
            let _ = events::parse_interval(&a.interval);
        }
        Some(Command::Update(a)) => {
            for size in [&a.memory, &a.memory_reservation, &a.memory_swap] {
                let _ = size.as_deref().map(update::parse_bytes);
            }
        }
        _ => {}
    }
});
