//! `corten ps [-f table|json] ID [-- PS-ARGS]`: the container's processes,
//! as runc prints them (JSON: an array of host pids; table: ps(1) output
//! filtered to them).

use std::process::Command;

use lifecycle::state::Store;
use lifecycle::Error;

pub fn run(store: &Store, id: &str, format: &str, ps_args: &[String]) -> Result<i32, Error> {
    let pids = lifecycle::container::processes(store, id)?;
    match format {
        "json" => {
            println!(
                "{}",
                serde_json::to_string(&pids).map_err(|e| Error::Config(e.to_string()))?
            );
            Ok(0)
        }
        "table" => {
            let args: Vec<String> = if ps_args.is_empty() {
                vec!["-ef".into()]
            } else {
                ps_args.to_vec()
            };
            let out = Command::new("ps")
                .args(&args)
                .output()
                .map_err(|e| Error::Io {
                    context: "running ps".into(),
                    source: e,
                })?;
            if !out.status.success() {
                let msg = String::from_utf8_lossy(&out.stderr)
                    .trim()
                    .replace('\n', " ");
                return Err(Error::Failed(format!("ps {}: {msg}", args.join(" "))));
            }
            print!("{}", filter(&String::from_utf8_lossy(&out.stdout), &pids)?);
            Ok(0)
        }
        other => Err(Error::Config(format!(
            "invalid format option {other:?}: use table or json"
        ))),
    }
}

/// The header and the lines whose PID column is one of `pids`.
fn filter(text: &str, pids: &[i32]) -> Result<String, Error> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|c| c == "PID")
        .ok_or_else(|| Error::Failed("ps output has no PID column".into()))?;
    let mut out = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_header_and_our_pids() {
        let text =
            "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 x ? 0 init\nroot 42 1 0 x ? 0 sleep\n";
        assert_eq!(
            filter(text, &[42]).unwrap(),
            "UID PID PPID C STIME TTY TIME CMD\nroot 42 1 0 x ? 0 sleep\n"
        );
        assert!(filter("NO HEADER\n", &[1]).is_err());
    }
}
