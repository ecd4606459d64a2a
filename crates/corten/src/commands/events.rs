//! `corten events [--stats] [--interval 5s] ID`: the container's statistics
//! as runc prints them, one `{"type":"stats","id","data"}` line each time,
//! until the container stops.

use std::time::Duration;

use lifecycle::state::Store;
use lifecycle::Error;

pub fn run(store: &Store, id: &str, interval: &str, once: bool) -> Result<i32, Error> {
    let every = parse_interval(interval)?;
    loop {
        let Some(data) = lifecycle::container::stats(store, id)? else {
            if once {
                return Err(Error::NotRunning);
            }
            return Ok(0);
        };
        let line = serde_json::json!({"type": "stats", "id": id, "data": data});
        println!("{line}");
        if once {
            return Ok(0);
        }
        std::thread::sleep(every);
    }
}

/// Go-style durations as runc takes them: "5s", "500ms", "1m", "1.5s".
fn parse_interval(s: &str) -> Result<Duration, Error> {
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
    if secs <= 0.0 || !secs.is_finite() {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_interval("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_interval("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("x").is_err());
    }
}
