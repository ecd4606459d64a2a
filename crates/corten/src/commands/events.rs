//! `corten events [--stats] [--interval 5s] ID`: the container's statistics
//! as runc prints them, one `{"type":"stats","id","data"}` line each time,
//! and a `{"type":"oom","id"}` line when the OOM killer struck, until the
//! container stops.

use std::time::Duration;

use lifecycle::cgroup::stats::Stats;
use lifecycle::state::Store;
use lifecycle::Error;

pub fn run(store: &Store, id: &str, interval: &str, once: bool) -> Result<i32, Error> {
    let every = parse_interval(interval)?;
    // OOM kills are polled more often than stats are printed, so that one
    // shortly before the container's end is still reported.
    let poll = every.min(Duration::from_millis(100));
    let mut ooms = None;
    let mut next_stats = std::time::Instant::now();
    loop {
        let Some((data, oom_kills)) = lifecycle::container::stats(store, id)? else {
            if once {
                return Err(Error::NotRunning);
            }
            // The OOM kill that ended the container, if that is what did.
            let last = lifecycle::container::oom_kills(store, id)?;
            if ooms.is_some_and(|seen| last > seen) {
                print_event("oom", id, None);
            }
            return Ok(0);
        };
        if ooms.is_some_and(|seen| oom_kills > seen) {
            print_event("oom", id, None);
        }
        ooms = Some(oom_kills);
        if once || std::time::Instant::now() >= next_stats {
            print_event("stats", id, Some(&data));
            next_stats = std::time::Instant::now() + every;
        }
        if once {
            return Ok(0);
        }
        std::thread::sleep(poll);
    }
}

/// One event line with runc's key order (type, id, data): scripts grep
/// these lines.
#[derive(serde::Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Stats>,
}

fn print_event(kind: &'static str, id: &str, data: Option<&Stats>) {
    let line = serde_json::to_string(&Event { kind, id, data }).unwrap_or_default();
    println!("{line}");
}

/// Go-style durations as runc takes them: "5s", "500ms", "1m", "1.5s".
pub(crate) fn parse_interval(s: &str) -> Result<Duration, Error> {
    let bad = || Error::Config(format!("invalid interval {s:?}"));
    let (num, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if secs <= 0.0 {
        return Err(bad());
    }
    // Not from_secs_f64: it panics on a value beyond a Duration (and NaN).
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--interval 1e300s` is finite but no Duration: from_secs_f64
    /// panicked and corten aborted.
    #[test]
    fn events_keep_runcs_key_order() {
        let data = Stats {
            pids: lifecycle::cgroup::stats::Pids {
                current: 1,
                limit: 0,
            },
            ..Stats::default()
        };
        let line = serde_json::to_string(&Event {
            kind: "stats",
            id: "c1",
            data: Some(&data),
        })
        .unwrap();
        assert!(
            line.starts_with(r#"{"type":"stats","id":"c1","data":{"cpu":{},"cpuset":{"#),
            "{line}"
        );
        assert!(line.contains(r#""pids":{"current":1}"#), "{line}");
        let oom = serde_json::to_string(&Event {
            kind: "oom",
            id: "c1",
            data: None,
        })
        .unwrap();
        assert_eq!(oom, r#"{"type":"oom","id":"c1"}"#);
    }

    #[test]
    fn an_interval_beyond_a_duration_is_an_error_not_an_abort() {
        assert!(parse_interval("1e300s").is_err());
        assert!(parse_interval("1e300").is_err());
        assert!(parse_interval("NaN").is_err());
        assert!(parse_interval("inf").is_err());
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_interval("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_interval("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("x").is_err());
    }
}
