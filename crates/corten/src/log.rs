//! Error and warning output: one line on stderr, and the `--log` file in
//! runc's text (logrus) or JSON format, which engines parse.

use std::io::Write;
use std::path::PathBuf;

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Where messages go.
#[derive(Debug, Clone)]
pub struct Logger {
    pub file: Option<PathBuf>,
    pub format: Format,
    pub debug: bool,
}

impl Logger {
    /// The logger `--log` and `--log-format` ask for, read from normalised
    /// argv when clap itself failed to parse it.
    pub fn from_raw_args(args: &[String]) -> Logger {
        let value = |name: &str| {
            let eq = format!("--{name}=");
            let mut found = None;
            for (i, a) in args.iter().enumerate() {
                if let Some(v) = a.strip_prefix(&eq) {
                    found = Some(v.to_string());
                } else if a == &format!("--{name}") {
                    found = args.get(i + 1).cloned();
                }
            }
            found
        };
        let format = match value("log-format").as_deref() {
            Some("json") => Format::Json,
            _ => Format::Text,
        };
        Logger {
            file: value("log").map(PathBuf::from),
            format,
            debug: false,
        }
    }

    /// An error: stderr always (engines show it), and the log file.
    pub fn error(&self, msg: &str) {
        let _ = writeln!(std::io::stderr(), "corten: {msg}");
        self.to_file("error", msg);
    }

    /// A warning: the log file if there is one, else stderr.
    pub fn warn(&self, msg: &str) {
        if self.file.is_some() {
            self.to_file("warning", msg);
        } else {
            let _ = writeln!(std::io::stderr(), "corten: warning: {msg}");
        }
    }

    /// A debug line, with `--debug` only.
    pub fn debug(&self, msg: &str) {
        if self.debug {
            if self.file.is_some() {
                self.to_file("debug", msg);
            } else {
                let _ = writeln!(std::io::stderr(), "corten: debug: {msg}");
            }
        }
    }

    fn to_file(&self, level: &str, msg: &str) {
        let Some(path) = &self.file else { return };
        let line = format_line(
            self.format,
            level,
            msg,
            &lifecycle::state::time::now_rfc3339(),
        );
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        if let Ok(mut f) = file {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// clap's multi-line usage error as one line: the message and its details,
/// without the usage and help hints.
pub fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One log line, newline-terminated.
pub fn format_line(format: Format, level: &str, msg: &str, time: &str) -> String {
    match format {
        Format::Json => {
            let v = serde_json::json!({"level": level, "msg": msg, "time": time});
            format!("{v}\n")
        }
        Format::Text => {
            let quoted = serde_json::to_string(msg).unwrap_or_default();
            format!("time=\"{time}\" level={level} msg={quoted}\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_objects_engines_parse() {
        let line = format_line(Format::Json, "error", "container \"x\" does not exist", "T");
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container \"x\" does not exist");
        assert_eq!(v["time"], "T");
    }

    #[test]
    fn usage_errors_become_one_line() {
        let text = "error: the following required arguments were not provided:\n  <ID>\n\nUsage: corten create <ID>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(text),
            "the following required arguments were not provided: <ID>"
        );
    }

    #[test]
    fn log_flags_are_found_without_clap() {
        let args: Vec<String> = ["--log", "/l", "--log-format=json", "create"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let l = Logger::from_raw_args(&args);
        assert_eq!(l.file, Some(PathBuf::from("/l")));
        assert_eq!(l.format, Format::Json);
    }

    #[test]
    fn text_lines_are_logrus_style() {
        assert_eq!(
            format_line(Format::Text, "warning", "a \"b\"", "T"),
            "time=\"T\" level=warning msg=\"a \\\"b\\\"\"\n"
        );
    }
}
