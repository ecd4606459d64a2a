//! The command line as `main` takes it (corten's src/argv.rs and cli.rs):
//! the arguments as text, runc-compatible normalisation, clap's parse of
//! the result, and on a parse error the logger read from the arguments.
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

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use clap::Parser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = data.split(|b| *b == 0).map(|a| OsString::from_vec(a.to_vec()));
    let Ok(raw) = argv::utf8(raw) else {
        return;
    };
    let args = argv::normalize(raw);
    assert_eq!(argv::normalize(args.clone()), args, "normalising twice");
    let parsed =
        cli::Cli::try_parse_from(std::iter::once("corten".to_string()).chain(args.iter().cloned()));
    if let Err(e) = parsed {
        let _ = log::one_line(&e.to_string());
        let _ = log::Logger::from_raw_args(&args);
    }
});
