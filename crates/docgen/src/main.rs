//! corten's man pages and shell completions, generated from the clap
//! grammar itself, so that they never disagree with `--help` (`make docs`).
//!
//!   corten-docgen DIR
//!
//! writes DIR/man/corten.8 and one DIR/man/corten-COMMAND.8 per command,
//! and DIR/completions/{corten.bash,_corten,corten.fish}.

// corten is a binary crate: its grammar (and the logger type the grammar
// names) is compiled here from the same files, not copied.
#[path = "../../corten/src/cli.rs"]
#[allow(dead_code)]
mod cli;
#[path = "../../corten/src/log.rs"]
#[allow(dead_code)]
mod log;
mod sections;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

fn main() {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: corten-docgen DIR");
        std::process::exit(2);
    };
    if let Err(e) = generate(&out) {
        eprintln!("corten-docgen: {}: {e}", out.display());
        std::process::exit(1);
    }
}

fn generate(out: &Path) -> io::Result<()> {
    let cmd = cli::Cli::command();
    let man = out.join("man");
    fs::create_dir_all(&man)?;
    write_page(&man, "corten", cmd.clone(), &sections::top(&cmd))?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        // clap takes static names without its "string" feature, which the
        // runtime's own build should not pay for: this program ends soon.
        let name: &'static str = Box::leak(format!("corten-{}", sub.get_name()).into_boxed_str());
        let bin: &'static str = Box::leak(format!("corten {}", sub.get_name()).into_boxed_str());
        let page = sub.clone().name(name).bin_name(bin);
        write_page(&man, name, page, &sections::command(sub.get_name()))?;
    }
    let completions = out.join("completions");
    fs::create_dir_all(&completions)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd.clone(), "corten", &completions)?;
    }
    Ok(())
}

/// NAME.8: clap_mangen's page of `cmd` in section 8 (as runc's), then
/// corten's own sections (`extra`, roff).
fn write_page(dir: &Path, name: &str, cmd: clap::Command, extra: &str) -> io::Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .section("8")
        .source(format!("corten {}", env!("CARGO_PKG_VERSION")))
        .manual("System Manager's Manual")
        .render(&mut page)?;
    page.write_all(extra.as_bytes())?;
    fs::write(dir.join(format!("{name}.8")), page)
}
