//! A blocking D-Bus connection to systemd, over a unix socket: the
//! system manager's private socket (no bus daemon between, as runc and
//! crun use it as root), or the user's session bus for a rootless runtime.
//!
//! Single-threaded by design: the runtime forks after talking to systemd,
//! and must have no thread then. Every wait has a deadline.
//!
//! `CORTEN_DBUS_TRACE=1` prints every message sent and received on stderr
//! (the systemd VM stage of hack/test.sh sets it, so that a failure there
//! shows what systemd said).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::wire::{Kind, Message, Value};
use crate::{Error, Result};

/// systemd's manager, where every call of this driver goes.
pub const SYSTEMD: &str = "org.freedesktop.systemd1";
pub const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
pub const MANAGER: &str = "org.freedesktop.systemd1.Manager";

/// How long systemd has to answer a call or finish a job (runc's 30 s).
const TIMEOUT: Duration = Duration::from_secs(30);

/// The system manager's private socket (root only).
const SYSTEM_PRIVATE: &str = "/run/systemd/private";

pub struct Bus {
    stream: UnixStream,
    where_: String,
    serial: u32,
    /// Signals read while waiting for a reply, for [`Bus::wait_job`].
    signals: VecDeque<Message>,
    /// Bytes read past the last whole message.
    rest: Vec<u8>,
}

fn bus_error(where_: &str, e: impl std::fmt::Display) -> Error {
    Error::Systemd(format!("D-Bus {where_}: {e}"))
}

impl Bus {
    /// The system manager, through its private socket: systemd sends every
    /// signal to a private connection, so no match rule is needed.
    pub fn system() -> Result<Bus> {
        let mut bus = Bus::connect(&PathBuf::from(SYSTEM_PRIVATE))?;
        bus.authenticate()?;
        Ok(bus)
    }

    /// The user's manager, through the session bus that
    /// $DBUS_SESSION_BUS_ADDRESS or $XDG_RUNTIME_DIR/bus names (runc's
    /// DetectUserDbusSessionBusAddress), subscribed to job signals.
    pub fn user() -> Result<Bus> {
        let path = session_bus_path(
            std::env::var("DBUS_SESSION_BUS_ADDRESS").ok().as_deref(),
            std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
        )?;
        let mut bus = Bus::session(&path)?;
        let rule = "type='signal',sender='org.freedesktop.systemd1',\
                    interface='org.freedesktop.systemd1.Manager',member='JobRemoved'";
        bus.call(
            Message::call(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "AddMatch",
            ),
            vec![Value::Str(rule.into())],
        )?;
        // The manager emits on a bus only while someone subscribed.
        bus.manager("Subscribe", vec![])?;
        Ok(bus)
    }

    /// A bus daemon's socket, authenticated and named (Hello).
    fn session(path: &std::path::Path) -> Result<Bus> {
        let mut bus = Bus::connect(path)?;
        bus.authenticate()?;
        bus.call(
            Message::call(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "Hello",
            ),
            vec![],
        )?;
        Ok(bus)
    }

    fn connect(path: &std::path::Path) -> Result<Bus> {
        let where_ = path.display().to_string();
        let stream = UnixStream::connect(path).map_err(|e| {
            bus_error(
                &where_,
                format!("cannot connect ({e}): is systemd running, and is this its bus?"),
            )
        })?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .map_err(|e| bus_error(&where_, e))?;
        Ok(Bus {
            stream,
            where_,
            serial: 0,
            signals: VecDeque::new(),
            rest: Vec::new(),
        })
    }

    /// SASL EXTERNAL: the server checks our credentials on the socket. The
    /// uid is claimed only where ours is the server's view of us (outside
    /// a user namespace); inside one, none is claimed and the server takes
    /// the socket's (a rootless engine runs the runtime in its namespace).
    fn authenticate(&mut self) -> Result<()> {
        let claim = if !sys::process::in_user_namespace() {
            let uid = sys::process::effective_ids().0.to_string();
            format!(" {}", hex(uid.as_bytes()))
        } else {
            String::new()
        };
        self.send_line(&format!("\0AUTH EXTERNAL{claim}\r\n"))?;
        let mut answer = self.read_line()?;
        if answer == "DATA" {
            self.send_line("DATA\r\n")?;
            answer = self.read_line()?;
        }
        if !answer.starts_with("OK ") {
            return Err(bus_error(
                &self.where_,
                format!("authentication refused: {answer}"),
            ));
        }
        self.send_line("BEGIN\r\n")?;
        self.wait_until_read()
    }

    /// Waits until the server has read all we sent. systemd's sd-bus (252)
    /// leaves a message that came in one read with BEGIN unprocessed until
    /// more data arrives (measured: the first call then went unanswered for
    /// runc's 30 s now and then): the first call must come in a read of
    /// its own.
    fn wait_until_read(&mut self) -> Result<()> {
        use std::os::fd::AsFd;
        let deadline = Instant::now() + TIMEOUT;
        let mut wait = Duration::from_micros(20);
        loop {
            let unread = sys::socket::unread_output(self.stream.as_fd())
                .map_err(|e| bus_error(&self.where_, e))?;
            if unread == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::TimedOut(format!(
                    "D-Bus {}: systemd did not read the authentication in {TIMEOUT:?}",
                    self.where_
                )));
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_millis(5));
        }
    }

    fn send_line(&mut self, line: &str) -> Result<()> {
        self.stream
            .write_all(line.as_bytes())
            .map_err(|e| bus_error(&self.where_, e))
    }

    fn read_line(&mut self) -> Result<String> {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        // Byte by byte: nothing after the line may be consumed (the server
        // sends nothing more before BEGIN, but it is cheap to be exact).
        while !line.ends_with(b"\r\n") {
            if line.len() > 4096 {
                return Err(bus_error(&self.where_, "authentication line too long"));
            }
            match self.stream.read(&mut byte) {
                Ok(0) => return Err(bus_error(&self.where_, "closed during authentication")),
                Ok(_) => line.push(byte[0]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(bus_error(&self.where_, e)),
            }
        }
        line.truncate(line.len() - 2);
        Ok(String::from_utf8_lossy(&line).into_owned())
    }

    /// Calls a method of systemd's manager.
    pub fn manager(&mut self, member: &str, args: Vec<Value>) -> Result<Vec<Value>> {
        self.call(Message::call(SYSTEMD, MANAGER_PATH, MANAGER, member), args)
    }

    /// Sends `call` with `args`, and returns the reply's body; an error
    /// reply becomes [`Error::SystemdRefused`].
    pub fn call(&mut self, mut call: Message, args: Vec<Value>) -> Result<Vec<Value>> {
        self.serial += 1;
        call.serial = self.serial;
        call.body = args;
        let member = call.member.clone().unwrap_or_default();
        trace(|| format!("dbus> {member} serial {} {:?}", call.serial, call.body));
        self.stream
            .write_all(&call.encode())
            .map_err(|e| bus_error(&self.where_, e))?;
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let m = self.read_message(deadline)?;
            match m.kind {
                Kind::MethodReturn if m.reply_serial == Some(call.serial) => return Ok(m.body),
                Kind::Error if m.reply_serial == Some(call.serial) => {
                    let message = m.body.first().and_then(Value::as_str).unwrap_or_default();
                    return Err(Error::SystemdRefused {
                        call: member,
                        name: m.error_name.unwrap_or_default(),
                        message: message.to_string(),
                    });
                }
                Kind::Signal => self.signals.push_back(m),
                // Replies to nothing we wait for, and calls to us (the bus's
                // own, which a client may ignore).
                _ => {}
            }
        }
    }

    /// Waits for systemd's JobRemoved signal of job `job` and returns its
    /// result ("done", "failed", "canceled", "timeout", ...).
    pub fn wait_job(&mut self, job: &str) -> Result<String> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let m = match self.signals.pop_front() {
                Some(m) => m,
                None => self.read_message(deadline)?,
            };
            if m.kind != Kind::Signal || m.member.as_deref() != Some("JobRemoved") {
                continue;
            }
            // JobRemoved(u id, o job, s unit, s result)
            if let [_, path, _, result] = m.body.as_slice() {
                if path.as_str() == Some(job) {
                    return Ok(result.as_str().unwrap_or_default().to_string());
                }
            }
        }
    }

    /// Reads one whole message, failing after `deadline`.
    fn read_message(&mut self, deadline: Instant) -> Result<Message> {
        // systemd's sd-bus (252) can leave a message it has already read
        // from the socket unprocessed until more data arrives (the first
        // call after BEGIN most often: see `wait_until_read`; seen again,
        // rarely, later in a connection). Silence is answered with a Ping,
        // whose arrival makes systemd process what it holds; its reply is
        // one no caller waits for.
        let mut nudge = Duration::from_millis(500);
        let mut next_nudge = Instant::now() + nudge;
        loop {
            if self.rest.len() >= 16 {
                let total =
                    Message::total_len(&self.rest).map_err(|e| bus_error(&self.where_, e))?;
                if self.rest.len() >= total {
                    let tail = self.rest.split_off(total);
                    let bytes = std::mem::replace(&mut self.rest, tail);
                    let m = Message::decode(&bytes).map_err(|e| bus_error(&self.where_, e));
                    trace(|| format!("dbus< {m:?}"));
                    return m;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::TimedOut(format!(
                    "D-Bus {}: no answer from systemd in {TIMEOUT:?}",
                    self.where_
                )));
            }
            let now = Instant::now();
            if now >= next_nudge {
                self.ping()?;
                nudge = (nudge * 2).min(Duration::from_secs(4));
                next_nudge = now + nudge;
            }
            let wait = left.min(next_nudge.saturating_duration_since(now));
            self.stream
                .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
                .map_err(|e| bus_error(&self.where_, e))?;
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(bus_error(&self.where_, "systemd closed the connection")),
                Ok(n) => self.rest.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(bus_error(&self.where_, e)),
            }
        }
    }
}

impl Bus {
    /// Sends org.freedesktop.DBus.Peer.Ping, without waiting for its reply.
    fn ping(&mut self) -> Result<()> {
        self.serial += 1;
        let mut ping = Message::call(SYSTEMD, MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping");
        ping.serial = self.serial;
        trace(|| format!("dbus> Ping serial {} (nudge)", ping.serial));
        self.stream
            .write_all(&ping.encode())
            .map_err(|e| bus_error(&self.where_, e))
    }
}

/// Prints what `line` makes when CORTEN_DBUS_TRACE is set.
fn trace(line: impl FnOnce() -> String) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("CORTEN_DBUS_TRACE").is_some()) {
        eprintln!("{}", line());
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The session bus's socket: `unix:path=` of $DBUS_SESSION_BUS_ADDRESS
/// (its first address that has one), else $XDG_RUNTIME_DIR/bus.
fn session_bus_path(address: Option<&str>, runtime_dir: Option<PathBuf>) -> Result<PathBuf> {
    // (An abstract socket, unix:abstract=, is not taken: systemd's user
    // bus is always a path.)
    let from_address = address
        .into_iter()
        .flat_map(|a| a.split(';'))
        .find_map(|one| {
            let params = one.strip_prefix("unix:")?;
            let path = params.split(',').find_map(|kv| kv.strip_prefix("path="))?;
            Some(PathBuf::from(unescape(path)))
        });
    if let Some(p) = from_address {
        return Ok(p);
    }
    if let Some(bus) = runtime_dir.map(|d| d.join("bus")).filter(|b| b.exists()) {
        return Ok(bus);
    }
    Err(Error::Systemd(
        "could not find the user's D-Bus session bus: $DBUS_SESSION_BUS_ADDRESS names no \
         unix:path and there is no $XDG_RUNTIME_DIR/bus (is dbus-user-session installed, \
         and the user logged in or lingering?)"
            .into(),
    ))
}

/// A D-Bus address value: `%xx` escapes.
fn unescape(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(x) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_bus_is_the_addresss_first_unix_path_else_the_runtime_dirs() {
        let addr = "unix:abstract=/tmp/x,guid=1;unix:path=/run/user/7/a%20bus,guid=2";
        assert_eq!(
            session_bus_path(Some(addr), None).unwrap(),
            PathBuf::from("/run/user/7/a bus")
        );
        let dir = std::env::temp_dir().join(format!("corten-bus-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("bus"), "").unwrap();
        assert_eq!(
            session_bus_path(Some("tcp:host=x"), Some(dir.clone())).unwrap(),
            dir.join("bus")
        );
        let missing = session_bus_path(None, Some(dir.join("nope"))).unwrap_err();
        assert!(missing
            .to_string()
            .contains("could not find the user's D-Bus session bus"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bus_addresses_unescape() {
        assert_eq!(unescape("/run/user/1000/bus"), "/run/user/1000/bus");
        assert_eq!(unescape("/tmp/a%20b"), "/tmp/a b");
        assert_eq!(unescape("/tmp/%zz%2"), "/tmp/%zz%2");
        assert_eq!(unescape("/tmp/%é"), "/tmp/%é");
    }

    /// The client against the reference bus daemon: authentication, a
    /// call and its reply, an error reply, and the session's unique name.
    #[test]
    fn talks_to_dbus_daemon() {
        let dir = std::env::temp_dir().join(format!("corten-dbus-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("bus");
        let config = dir.join("session.conf");
        std::fs::write(
            &config,
            format!(
                "<busconfig><type>session</type><listen>unix:path={}</listen>\
                 <auth>EXTERNAL</auth><policy context=\"default\">\
                 <allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/>\
                 <allow own=\"*\"/></policy></busconfig>",
                socket.display()
            ),
        )
        .unwrap();
        let mut daemon = std::process::Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--nosyslog"])
            .spawn()
            .expect("dbus-daemon (Debian's dbus-daemon package) runs");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let run = || -> Result<()> {
            let mut bus = Bus::session(&socket)?;
            let dbus = || {
                Message::call(
                    "org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus",
                    "GetId",
                )
            };
            let id = bus.call(dbus(), vec![])?;
            assert!(
                matches!(id.as_slice(), [Value::Str(s)] if s.len() == 32),
                "{id:?}"
            );
            let mut nope = dbus();
            nope.member = Some("NoSuchMethod".into());
            match bus.call(nope, vec![]) {
                Err(Error::SystemdRefused { name, .. }) => {
                    assert!(name.ends_with(".UnknownMethod"), "{name}")
                }
                other => panic!("{other:?}"),
            }
            let mut has = dbus();
            has.member = Some("NameHasOwner".into());
            let owned = bus.call(has, vec![Value::Str("org.freedesktop.DBus".into())])?;
            assert_eq!(owned, vec![Value::Bool(true)]);
            Ok(())
        };
        let result = run();
        let _ = daemon.kill();
        let _ = daemon.wait();
        let _ = std::fs::remove_dir_all(&dir);
        result.unwrap();
    }

    #[test]
    fn the_uid_is_claimed_in_hex_of_its_decimal_text() {
        assert_eq!(hex(b"1000"), "31303030");
    }
}
