//! corten: an OCI container runtime, a drop-in replacement for runc.
//!
//! This binary is the command line only: argv normalisation, the clap
//! grammar, logging, and one file per subcommand over the lifecycle library.

mod argv;
mod cli;
mod commands;
mod log;
mod sealed;

use clap::Parser;

/// The runtime-spec version this binary implements.
pub const SPEC_VERSION: &str = lifecycle::spec::SPEC_VERSION;

fn main() {
    let args = match argv::utf8(std::env::args_os().skip(1)) {
        Ok(args) => argv::normalize(args),
        Err(bad) => {
            let lossy: Vec<String> = std::env::args_os()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            let msg = format!("argument {bad:?} is not valid UTF-8");
            log::Logger::from_raw_args(&argv::normalize(lossy)).error(&msg);
            std::process::exit(1);
        }
    };
    let cli = match cli::Cli::try_parse_from(
        std::iter::once("corten".to_string()).chain(args.iter().cloned()),
    ) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and the like.
            let _ = e.print();
            std::process::exit(0);
        }
        Err(e) => {
            log::Logger::from_raw_args(&args).error(&log::one_line(&e.to_string()));
            std::process::exit(1);
        }
    };
    let logger = log::Logger {
        file: cli.log.clone(),
        format: cli.log_format,
        // runc's --log-level: debug shows the debug lines; the other
        // levels are what corten logs anyway (warnings and errors).
        debug: cli.debug || cli.log_level.as_deref() == Some("debug"),
    };
    let starts_containers = matches!(
        cli.command,
        Some(cli::Command::Create(_) | cli::Command::Run(_) | cli::Command::Exec(_))
    );
    let sealed = if starts_containers {
        sealed::ensure()
    } else {
        Ok(())
    };
    let code = match sealed.and_then(|()| commands::dispatch(&cli, &logger)) {
        Ok(code) => code,
        Err(e) => {
            logger.error(&lifecycle::error::chain(&e));
            match cli.command {
                // 127 for a missing command is `run`'s convention, as runc.
                Some(cli::Command::Run(_)) => e.exit_status(),
                // runc's exec exits 255 for its own failures, so that a
                // caller tells them from the process's exit status.
                Some(cli::Command::Exec(_)) => 255,
                _ => 1,
            }
        }
    };
    std::process::exit(code);
}
