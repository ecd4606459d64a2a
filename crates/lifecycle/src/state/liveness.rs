//! Is a saved init pid still our container? A pid is only ours while the
//! process holding it has the start time we recorded: after it exits the
//! kernel may hand the same number to anything.

/// What /proc says about a recorded init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcState {
    /// The same process is alive (not a zombie).
    Alive,
    /// Exited, reaped or not, or the pid now belongs to another process.
    Gone,
}

/// The process's start time in clock ticks since boot (/proc/PID/stat field 22).
pub fn process_start_time(pid: i32) -> Option<u64> {
    stat_fields(pid).map(|(_, start)| start)
}

/// Checks `pid` against the start time recorded for it.
pub fn check(pid: i32, start_time: u64) -> ProcState {
    if pid <= 0 {
        return ProcState::Gone;
    }
    match stat_fields(pid) {
        Some((state, start)) if start == start_time && state != 'Z' && state != 'X' => {
            ProcState::Alive
        }
        _ => ProcState::Gone,
    }
}

/// Whether `pid` has been sent SIGKILL or is exiting: it is alive only
/// until the kernel has finished tearing it down (for a pid namespace's
/// init, that includes killing and reaping everything else in it).
pub fn dying(pid: i32) -> bool {
    // PF_EXITING in the flags (stat field 9): do_exit has begun.
    const PF_EXITING: u64 = 0x4;
    let exiting = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| parse_flags(&t))
        .is_some_and(|f| f & PF_EXITING != 0);
    exiting || sigkill_pending(pid)
}

/// SIGKILL in the pending sets (/proc/PID/status SigPnd, ShdPnd): sent,
/// not yet acted on.
fn sigkill_pending(pid: i32) -> bool {
    let bit = 1u64 << (libc::SIGKILL - 1);
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.strip_prefix("SigPnd:")
                .or_else(|| l.strip_prefix("ShdPnd:"))
        })
        .any(|mask| u64::from_str_radix(mask.trim(), 16).is_ok_and(|m| m & bit != 0))
}

/// (state, starttime) of `pid`.
fn stat_fields(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// The flags (field 9), counted from the last ')' as in [`parse_stat`].
fn parse_flags(text: &str) -> Option<u64> {
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_whitespace().nth(6)?.parse().ok()
}

/// The command name (field 2) may hold spaces and parentheses, so the fields
/// after it are counted from the last ')'. Public for the fuzz target
/// `proc_text` only.
#[doc(hidden)]
pub fn parse_stat(text: &str) -> Option<(char, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state (field 3) the start time is field 22: 18 further on.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_with_spaces_and_parens() {
        let line = "123 (a) b (c) S 1 123 123 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10 18446744073709551615";
        assert_eq!(parse_stat(line), Some(('S', 98765)));
        assert_eq!(parse_flags(line), Some(4194560));
    }

    #[test]
    fn own_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = std::process::id() as i32;
        let start = process_start_time(me).unwrap();
        assert_eq!(check(me, start), ProcState::Alive);
        assert_eq!(check(me, start + 1), ProcState::Gone);
        assert_eq!(check(0, start), ProcState::Gone);
        assert!(!dying(me));
    }
}
