//! `probe report`: one JSON object describing what this process sees.
//!
//! Every field is read independently; one that cannot be read is `null`.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::{mountinfo, sys};

/// Lines of /proc/self/status copied verbatim (value part, trimmed).
const STATUS_KEYS: &[&str] = &[
    "CapInh",
    "CapPrm",
    "CapEff",
    "CapBnd",
    "CapAmb",
    "NoNewPrivs",
    "Seccomp",
    "SigBlk",
    "SigIgn",
    "SigCgt",
    "NSpid",
];

pub fn report() -> Value {
    // Read the fds first, before anything else has had a chance to open one.
    let fds = fds();
    let ids = sys::ids();
    let status = fs::read_to_string("/proc/self/status").ok();
    let uname = sys::uname();
    let mut r = Map::new();
    r.insert("pid".into(), json!(ids.pid));
    r.insert("ppid".into(), json!(ids.ppid));
    r.insert("uid".into(), json!(ids.uid));
    r.insert("euid".into(), json!(ids.euid));
    r.insert("gid".into(), json!(ids.gid));
    r.insert("egid".into(), json!(ids.egid));
    r.insert("groups".into(), json!(sys::groups()));
    r.insert("umask".into(), json!(umask(status.as_deref())));
    r.insert("cwd".into(), json!(cwd()));
    r.insert("hostname".into(), json!(uname.as_ref().map(|u| &u.0)));
    r.insert("domainname".into(), json!(uname.as_ref().map(|u| &u.1)));
    r.insert("ns".into(), json!(namespaces()));
    r.insert("mounts".into(), json!(mounts()));
    r.insert("fds".into(), json!(fds));
    r.insert("env".into(), env());
    r.insert("args".into(), args());
    r.insert("status".into(), json!(status.as_deref().map(status_fields)));
    r.insert("rlimits".into(), rlimits());
    r.insert("oom_score_adj".into(), json!(oom_score_adj()));
    r.insert(
        "cgroup".into(),
        json!(fs::read_to_string("/proc/self/cgroup").ok()),
    );
    r.insert(
        "root_readonly".into(),
        json!(sys::is_readonly(Path::new("/"))),
    );
    r.insert("devices".into(), json!(devices()));
    Value::Object(r)
}

/// The value of a `Key:\tvalue` line of /proc/self/status.
fn status_value<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then(|| v.trim())
    })
}

fn status_fields(status: &str) -> Value {
    let m: Map<String, Value> = STATUS_KEYS
        .iter()
        .map(|&k| (k.to_string(), json!(status_value(status, k))))
        .collect();
    Value::Object(m)
}

fn umask(status: Option<&str>) -> u32 {
    status
        .and_then(|s| status_value(s, "Umask"))
        .and_then(|v| u32::from_str_radix(v, 8).ok())
        .unwrap_or_else(sys::umask_fallback)
}

fn cwd() -> String {
    match std::env::current_dir() {
        Ok(p) => p.to_string_lossy().into_owned(),
        Err(e) => e.to_string(),
    }
}

fn lossy(p: impl AsRef<std::ffi::OsStr>) -> String {
    p.as_ref().to_string_lossy().into_owned()
}

fn namespaces() -> Option<Map<String, Value>> {
    let mut m = Map::new();
    for e in fs::read_dir("/proc/self/ns").ok()?.flatten() {
        let target = fs::read_link(e.path()).ok().map(lossy);
        m.insert(lossy(e.file_name()), json!(target));
    }
    Some(m)
}

fn mounts() -> Option<Vec<Value>> {
    let text = fs::read_to_string("/proc/self/mountinfo").ok()?;
    Some(
        mountinfo::parse(&text)
            .iter()
            .map(|m| m.to_json())
            .collect(),
    )
}

/// Open fds and what they point to. The directory is listed first and closed
/// before the links are read: the fd that listed it is then gone (ENOENT),
/// which is how it is left out. A live fd never reads as ENOENT.
fn fds() -> Option<Map<String, Value>> {
    let names: Vec<String> = fs::read_dir("/proc/self/fd")
        .ok()?
        .flatten()
        .map(|e| lossy(e.file_name()))
        .collect();
    let mut m = Map::new();
    for name in names {
        match fs::read_link(format!("/proc/self/fd/{name}")) {
            Ok(t) => {
                m.insert(name, json!(lossy(t)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => {
                m.insert(name, Value::Null);
            }
        }
    }
    Some(m)
}

fn env() -> Value {
    let m: Map<String, Value> = std::env::vars_os()
        .map(|(k, v)| (lossy(k), json!(lossy(v))))
        .collect();
    Value::Object(m)
}

fn args() -> Value {
    json!(std::env::args_os().map(lossy).collect::<Vec<_>>())
}

fn rlimits() -> Value {
    let m: Map<String, Value> = sys::RLIMITS
        .iter()
        .map(|&(name, res)| (name.to_string(), json!(sys::getrlimit(res))))
        .collect();
    Value::Object(m)
}

fn oom_score_adj() -> Option<i64> {
    fs::read_to_string("/proc/self/oom_score_adj")
        .ok()?
        .trim()
        .parse()
        .ok()
}

pub fn kind(ft: &fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "dir"
    } else if ft.is_file() {
        "file"
    } else if ft.is_char_device() {
        "char"
    } else if ft.is_block_device() {
        "block"
    } else {
        "other"
    }
}

/// lstat(2) of `path` as JSON (without `exists`); major/minor are 0 for non-devices.
pub fn stat_json(path: &Path, md: &fs::Metadata) -> Map<String, Value> {
    let ft = md.file_type();
    let link = if ft.is_symlink() {
        fs::read_link(path).ok().map(lossy)
    } else {
        None
    };
    let mut m = Map::new();
    m.insert("kind".into(), json!(kind(&ft)));
    m.insert("mode".into(), json!(md.mode() & 0o7777));
    m.insert("uid".into(), json!(md.uid()));
    m.insert("gid".into(), json!(md.gid()));
    m.insert("major".into(), json!(sys::major(md.rdev())));
    m.insert("minor".into(), json!(sys::minor(md.rdev())));
    m.insert("size".into(), json!(md.size()));
    m.insert("link".into(), json!(link));
    m
}

fn devices() -> Option<Vec<Value>> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = fs::read_dir("/dev").ok()?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(md) = fs::symlink_metadata(&path) else {
            continue;
        };
        let mut m = stat_json(&path, &md);
        m.remove("size");
        m.insert("name".into(), json!(lossy(e.file_name())));
        out.push(Value::Object(m));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        let s = "Name:\tprobe\nUmask:\t0022\nCapEff:\t0000000000000000\nNSpid:\t12\t1\n";
        assert_eq!(status_value(s, "Umask"), Some("0022"));
        assert_eq!(status_value(s, "NSpid"), Some("12\t1"));
        assert_eq!(status_value(s, "Cap"), None);
        assert_eq!(umask(Some(s)), 0o22);
        let v = status_fields(s);
        assert_eq!(v["CapEff"], "0000000000000000");
        assert_eq!(v["SigIgn"], Value::Null);
    }

    #[test]
    fn report_has_every_key() {
        let r = report();
        for k in [
            "pid",
            "ppid",
            "uid",
            "euid",
            "gid",
            "egid",
            "groups",
            "umask",
            "cwd",
            "hostname",
            "domainname",
            "ns",
            "mounts",
            "fds",
            "env",
            "args",
            "status",
            "rlimits",
            "oom_score_adj",
            "cgroup",
            "root_readonly",
            "devices",
        ] {
            assert!(r.get(k).is_some(), "missing {k}");
        }
        assert_eq!(r["rlimits"].as_object().unwrap().len(), sys::RLIMITS.len());
        assert!(r["devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "null"));
    }
}
