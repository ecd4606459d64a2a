//! corten: an OCI container runtime, a drop-in replacement for runc.
//!
//! This binary is the command line only: argv normalisation, the clap
//! grammar, logging, and one file per subcommand over the lifecycle library.

mod argv;
mod cli;
mod commands;
mod log;

use clap::Parser;

/// The runtime-spec version this binary implements.
pub const SPEC_VERSION: &str = "1.2.1";

fn main() {
    let args = argv::normalize(std::env::args().skip(1));
    let cli = match cli::Cli::try_parse_from(std::iter::once("corten".to_string()).chain(args)) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let logger = log::Logger {
        file: cli.log.clone(),
        format: cli.log_format,
        debug: cli.debug,
    };
    let code = match commands::dispatch(&cli, &logger) {
        Ok(code) => code,
        Err(e) => {
            logger.error(&lifecycle::error::chain(&e));
            // 127 for a missing command is `run`'s convention only, as runc.
            if matches!(cli.command, Some(cli::Command::Run(_))) {
                e.exit_status()
            } else {
                1
            }
        }
    };
    std::process::exit(code);
}
