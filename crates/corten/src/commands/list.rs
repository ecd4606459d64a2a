//! `corten list`: a table, JSON, or ids only.

use lifecycle::container::OciState;
use lifecycle::state::Store;
use lifecycle::Error;
use serde::Serialize;

/// runc's `list -f json` entries: the state plus the owner's name.
#[derive(Serialize)]
struct Entry<'a> {
    #[serde(flatten)]
    state: &'a OciState,
}

pub fn run(store: &Store, format: &str, quiet: bool) -> Result<i32, Error> {
    let mut states = lifecycle::container::list(store)?;
    for s in &mut states {
        s.owner = owner_name(s.owner_uid);
    }
    if quiet {
        for s in &states {
            println!("{}", s.id);
        }
        return Ok(0);
    }
    match format {
        "json" => {
            let entries: Vec<Entry<'_>> = states.iter().map(|state| Entry { state }).collect();
            // runc prints `null` for no containers; engines accept both.
            let text = if entries.is_empty() {
                "null".to_string()
            } else {
                serde_json::to_string(&entries).map_err(|e| Error::Config(e.to_string()))?
            };
            println!("{text}");
        }
        "table" => print!("{}", table(&states)),
        other => {
            return Err(Error::Config(format!(
                "invalid format option {other:?}: use table or json"
            )))
        }
    }
    Ok(0)
}

/// Columns padded like Go's tabwriter in runc (minimum width 12, padding 1).
fn table(states: &[OciState]) -> String {
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
        .map(String::from)
        .to_vec()];
    for s in states {
        rows.push(vec![
            s.id.clone(),
            s.pid.to_string(),
            s.status.clone(),
            s.bundle.display().to_string(),
            s.created.clone(),
            s.owner.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0).max(11) + 1)
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: String = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The user name of `uid` from the host's /etc/passwd, or "#uid".
fn owner_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2].parse() == Ok(uid)).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| format!("#{uid}"))
}
