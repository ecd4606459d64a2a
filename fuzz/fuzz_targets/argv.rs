//! The command line: runc-compatible argv normalisation (corten's
//! src/argv.rs), then clap's parse of the result, as `main` does them, and
//! on a parse error the logger read from the raw arguments. The input's
//! NUL-separated parts are the arguments. A panic is a bug, and so is a
//! normalisation that a second pass changes.
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

use clap::Parser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let raw: Vec<String> = text.split('\0').map(String::from).collect();
    let args = argv::normalize(raw);
    assert_eq!(argv::normalize(args.clone()), args, "normalising twice");
    let parsed =
        cli::Cli::try_parse_from(std::iter::once("corten".to_string()).chain(args.iter().cloned()));
    if let Err(e) = parsed {
        let _ = log::one_line(&e.to_string());
        let _ = log::Logger::from_raw_args(&args);
    }
});
