//! runc-compatible argv normalisation, before clap sees anything.
//!
//! runc parses with urfave/cli, which accepts forms clap does not:
//! - single-dash long flags: `-root /x`, `-bundle b` (clap would read
//!   `-bundle` as `-b undle`, silently);
//! - `--bool=false` and `--bool=true` for switches.
//!
//! `kill ID SIG` and `ps ID -- ARGS` keep everything after the id as it is.

use std::ffi::OsString;

/// Long flags that take a value.
const VALUED: &[&str] = &[
    "root",
    "log",
    "log-format",
    "log-level",
    "criu",
    "rootless",
    "cgroup-manager",
    "bundle",
    "console-socket",
    "pidfd-socket",
    "pid-file",
    "preserve-fds",
    "format",
    "interval",
    "cwd",
    "env",
    "user",
    "additional-gids",
    "process",
    "process-label",
    "apparmor",
    "cap",
    "cgroup",
    "resources",
    "image-path",
    "work-path",
    "parent-path",
    "page-server",
    "interval",
    "blkio-weight",
    "cpu-period",
    "cpu-quota",
    "cpu-share",
    "cpu-rt-period",
    "cpu-rt-runtime",
    "cpu-idle",
    "cpuset-cpus",
    "cpuset-mems",
    "memory",
    "memory-reservation",
    "memory-swap",
    "pids-limit",
    "kernel-memory",
    "kernel-memory-tcp",
    "l3-cache-schema",
    "mem-bw-schema",
];

/// Long switches (flags without a value).
const SWITCHES: &[&str] = &[
    "debug",
    "systemd-cgroup",
    "version",
    "help",
    "no-pivot",
    "no-new-keyring",
    "detach",
    "keep",
    "no-subreaper",
    "all",
    "force",
    "quiet",
    "stats",
    "tty",
    "no-new-privs",
    "ignore-paused",
];

/// Global flags of which urfave/cli (runc) keeps the last when repeated.
const LAST_WINS: &[&str] = &[
    "root",
    "log",
    "log-format",
    "log-level",
    "criu",
    "cgroup-manager",
];

/// Subcommands after whose id nothing is a flag (runc's exec has
/// SkipArgReorder: the command's own flags follow the id).
const POSITIONAL_TAIL: &[&str] = &["kill", "ps", "exec"];

/// The arguments as text: the first that is not UTF-8 is an error
/// (std::env::args would panic on it, and a panic aborts corten).
pub fn utf8(args: impl IntoIterator<Item = OsString>) -> Result<Vec<String>, OsString> {
    args.into_iter().map(OsString::into_string).collect()
}

/// Rewrites `args` (without argv[0]) into the forms clap accepts.
pub fn normalize(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let (args, flags) = rewrite(args);
    keep_last(args, &flags)
}

/// Where [`rewrite`] put a flag of [`LAST_WINS`]: its name, its index, and
/// whether its value is the next argument.
type Occurrence = (&'static str, usize, bool);

/// Drops all but the last occurrence of each flag in [`LAST_WINS`], as
/// [`rewrite`] found them: a flag's value that looks like one of them (the
/// bundle of `-b --root`) is a value, not a flag to drop.
fn keep_last(args: Vec<String>, seen: &[Occurrence]) -> Vec<String> {
    let mut drop = vec![false; args.len()];
    for (k, (name, idx, separate)) in seen.iter().enumerate() {
        if seen[k + 1..].iter().any(|(n, _, _)| n == name) {
            drop[*idx] = true;
            if *separate && idx + 1 < args.len() {
                drop[idx + 1] = true;
            }
        }
    }
    args.into_iter()
        .zip(drop)
        .filter(|(_, d)| !d)
        .map(|(a, _)| a)
        .collect()
}

/// The arguments in clap's forms, and where the [`LAST_WINS`] flags are.
fn rewrite(args: impl IntoIterator<Item = String>) -> (Vec<String>, Vec<Occurrence>) {
    let mut out = Vec::new();
    let mut last_wins = Vec::new();
    let mut subcommand: Option<String> = None;
    let mut positionals_after_sub = 0;
    // Whether `--` has been written as the separator (not as a flag's value).
    let mut separated = false;
    let args: Vec<String> = args.into_iter().collect();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            out.push(arg);
            out.extend(args.by_ref());
            break;
        }
        // After `kill ID` / `ps ID`, the rest is positional (a signal, ps args).
        if subcommand
            .as_deref()
            .is_some_and(|s| POSITIONAL_TAIL.contains(&s))
            && positionals_after_sub >= 1
        {
            if matches!(subcommand.as_deref(), Some("ps" | "exec")) && !separated {
                out.push("--".into());
                separated = true;
            }
            out.push(arg);
            continue;
        }
        if let Some(flag) = long_flag(&arg) {
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (flag, None),
            };
            if SWITCHES.contains(&name) {
                match value {
                    Some("false") => {}
                    Some("true") | None => out.push(format!("--{name}")),
                    Some(other) => out.push(format!("--{name}={other}")),
                }
                continue;
            }
            if name == "rootless" && value.is_none() {
                // runc's global `--rootless VALUE` and `spec --rootless`, a switch.
                out.push("--rootless".into());
                if let Some(v) = args
                    .as_slice()
                    .first()
                    .filter(|v| matches!(v.as_str(), "true" | "false" | "auto"))
                {
                    out.push(v.clone());
                    args.next();
                }
                continue;
            }
            if VALUED.contains(&name) {
                if let Some(n) = LAST_WINS.iter().find(|n| **n == name) {
                    let separate = value.is_none() && !args.as_slice().is_empty();
                    last_wins.push((*n, out.len(), separate));
                }
                match value {
                    Some(v) => out.push(format!("--{name}={v}")),
                    None => {
                        out.push(format!("--{name}"));
                        if let Some(v) = args.next() {
                            out.push(v);
                        }
                    }
                }
                continue;
            }
            out.push(arg);
            continue;
        }
        if arg.starts_with('-') {
            out.push(arg.clone());
            // A short flag's separate value must not count as a positional.
            if matches!(
                arg.as_str(),
                "-b" | "-f" | "-p" | "-e" | "-u" | "-c" | "-g" | "-r"
            ) {
                if let Some(v) = args.next() {
                    out.push(v);
                }
            }
            continue;
        }
        if subcommand.is_none() {
            subcommand = Some(arg.clone());
        } else {
            positionals_after_sub += 1;
        }
        out.push(arg);
    }
    (out, last_wins)
}

/// The flag name of `--name[=v]` or of a single-dash long flag `-name[=v]`
/// whose name is one of ours.
fn long_flag(arg: &str) -> Option<&str> {
    if let Some(rest) = arg.strip_prefix("--") {
        return (!rest.is_empty()).then_some(rest);
    }
    let rest = arg.strip_prefix('-')?;
    let name = rest.split('=').next().unwrap_or(rest);
    (name.len() > 1 && (VALUED.contains(&name) || SWITCHES.contains(&name))).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(args: &[&str]) -> Vec<String> {
        normalize(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn a_non_utf8_argument_is_an_error_not_an_abort() {
        use std::os::unix::ffi::OsStringExt;
        let bad = OsString::from_vec(b"\xff".to_vec());
        let args = [OsString::from("state"), bad.clone()];
        assert_eq!(utf8(args), Err(bad));
        assert_eq!(utf8([OsString::from("list")]), Ok(vec!["list".to_string()]));
    }

    /// keep_last parsed the rewritten argv again and took a flag's value
    /// for a flag: `-r --log x list --log y` lost `--log x`, and `-r` took
    /// `list` as its value; `--bundle --root` dropped the real `--root /a`
    /// (found by the fuzz target argv, normalising twice).
    #[test]
    fn a_value_that_looks_like_a_repeated_flag_is_a_value() {
        let args = ["--root", "/a", "create", "--bundle", "--root", "c1"];
        assert_eq!(n(&args), args);
        let args = ["-r", "--log", "x", "list", "--log", "y"];
        assert_eq!(n(&args), args);
        // A real repeated flag still keeps its last value only.
        assert_eq!(
            n(&["--log", "a", "-b", "--log", "--log=b", "list"]),
            ["-b", "--log", "--log=b", "list"]
        );
    }

    /// A flag's value `--` is not the separator: exec's command still gets
    /// one, so that its flags stay its own.
    #[test]
    fn a_value_dashdash_is_not_the_separator() {
        assert_eq!(
            n(&["exec", "--cwd", "--", "c1", "ls", "-l"]),
            ["exec", "--cwd", "--", "c1", "--", "ls", "-l"]
        );
    }

    #[test]
    fn single_dash_long_flags() {
        assert_eq!(
            n(&["-root", "/x", "create", "-bundle", "b", "id"]),
            n(&["--root", "/x", "create", "--bundle", "b", "id"])
        );
        assert_eq!(n(&["-root=/x", "list"]), vec!["--root=/x", "list"]);
        assert_eq!(
            n(&["create", "-b", "bundle", "id"]),
            vec!["create", "-b", "bundle", "id"]
        );
    }

    #[test]
    fn boolean_values() {
        assert_eq!(n(&["delete", "--force=false", "id"]), vec!["delete", "id"]);
        assert_eq!(
            n(&["delete", "--force=true", "id"]),
            vec!["delete", "--force", "id"]
        );
        assert_eq!(
            n(&["delete", "-force", "id"]),
            vec!["delete", "--force", "id"]
        );
    }

    #[test]
    fn kill_and_ps_keep_their_tail() {
        assert_eq!(n(&["kill", "id", "-9"]), vec!["kill", "id", "-9"]);
        assert_eq!(
            n(&["kill", "--all", "id", "KILL"]),
            vec!["kill", "--all", "id", "KILL"]
        );
        assert_eq!(n(&["ps", "id", "-ef"]), vec!["ps", "id", "--", "-ef"]);
        assert_eq!(n(&["ps", "id", "--", "-ef"]), vec!["ps", "id", "--", "-ef"]);
    }

    #[test]
    fn exec_keeps_the_commands_flags() {
        assert_eq!(
            n(&["exec", "-d", "-u", "1", "id", "ls", "-la", "--root", "x"]),
            vec!["exec", "-d", "-u", "1", "id", "--", "ls", "-la", "--root", "x"]
        );
        assert_eq!(
            n(&["exec", "-process", "p.json", "--tty=false", "id"]),
            vec!["exec", "--process", "p.json", "id"]
        );
    }

    #[test]
    fn repeated_global_flags_keep_the_last() {
        assert_eq!(
            n(&["--root", "/x", "list", "--root=/y"]),
            vec!["list", "--root=/y"]
        );
        assert_eq!(
            n(&["--root", "/x", "--root", "/y", "list"]),
            vec!["--root", "/y", "list"]
        );
        assert_eq!(
            n(&["kill", "id", "--", "--root", "a", "--root", "b"]).len(),
            7
        );
    }

    #[test]
    fn rootless_value_is_optional() {
        assert_eq!(
            n(&["spec", "--rootless", "-b", "d"]),
            vec!["spec", "--rootless", "-b", "d"]
        );
        assert_eq!(
            n(&["--rootless", "auto", "list"]),
            vec!["--rootless", "auto", "list"]
        );
    }

    #[test]
    fn flags_after_the_id() {
        assert_eq!(
            n(&["create", "id", "-bundle", "b"]),
            vec!["create", "id", "--bundle", "b"]
        );
    }
}
