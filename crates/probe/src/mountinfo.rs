//! Parser for `/proc/<pid>/mountinfo` lines (see proc(5)).
//!
//! ```text
//! 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//! (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)    (10)         (11)
//! ```
//!
//! Field (7) is zero or more optional fields ended by the `-` separator (8).
//! Paths (root, mount point, source) have space, tab, newline and backslash
//! escaped as `\ooo` by the kernel; they are unescaped here so that callers can
//! compare them with the paths they configured.

use serde_json::{json, Value};

/// One parsed mountinfo line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    pub mount_id: u64,
    pub parent_id: u64,
    pub major_minor: String,
    pub root: String,
    pub mount_point: String,
    pub mount_options: String,
    /// Optional fields (e.g. `shared:1 master:2`) joined by one space; empty if none.
    pub optional_fields: String,
    pub fstype: String,
    pub source: String,
    pub super_options: String,
}

impl MountInfo {
    pub fn to_json(&self) -> Value {
        json!({
            "mount_id": self.mount_id,
            "parent_id": self.parent_id,
            "major_minor": self.major_minor,
            "root": self.root,
            "mount_point": self.mount_point,
            "mount_options": self.mount_options,
            "optional_fields": self.optional_fields,
            "fstype": self.fstype,
            "source": self.source,
            "super_options": self.super_options,
        })
    }
}

/// Parses one mountinfo line; `None` if it is malformed.
pub fn parse_line(line: &str) -> Option<MountInfo> {
    let mut fields = line.split_ascii_whitespace();
    let mount_id = fields.next()?.parse().ok()?;
    let parent_id = fields.next()?.parse().ok()?;
    let major_minor = fields.next()?;
    if !major_minor.contains(':') {
        return None;
    }
    let root = unescape(fields.next()?);
    let mount_point = unescape(fields.next()?);
    let mount_options = fields.next()?.to_string();
    let mut optional = Vec::new();
    loop {
        match fields.next()? {
            "-" => break,
            f => optional.push(f),
        }
    }
    let fstype = fields.next()?.to_string();
    // The source may be empty on some filesystems; the kernel then prints
    // nothing, so only two fields follow the separator.
    let rest: Vec<&str> = fields.collect();
    let (source, super_options) = match rest.as_slice() {
        [source, opts] => (unescape(source), opts.to_string()),
        [opts] => (String::new(), opts.to_string()),
        _ => return None,
    };
    Some(MountInfo {
        mount_id,
        parent_id,
        major_minor: major_minor.to_string(),
        root,
        mount_point,
        mount_options,
        optional_fields: optional.join(" "),
        fstype,
        source,
        super_options,
    })
}

/// Parses a whole mountinfo file, skipping malformed lines.
pub fn parse(text: &str) -> Vec<MountInfo> {
    text.lines().filter_map(parse_line).collect()
}

/// Undoes the kernel's `\ooo` octal escaping.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let oct = &b[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = oct
                    .iter()
                    .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
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
    fn proc_man_page_example() {
        let m = parse_line(
            "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
        )
        .unwrap();
        assert_eq!(
            m,
            MountInfo {
                mount_id: 36,
                parent_id: 35,
                major_minor: "98:0".into(),
                root: "/mnt1".into(),
                mount_point: "/mnt2".into(),
                mount_options: "rw,noatime".into(),
                optional_fields: "master:1".into(),
                fstype: "ext3".into(),
                source: "/dev/root".into(),
                super_options: "rw,errors=continue".into(),
            }
        );
    }

    #[test]
    fn no_and_several_optional_fields() {
        let m = parse_line("22 1 0:21 / /proc rw,nosuid,nodev,noexec - proc proc rw").unwrap();
        assert_eq!(m.optional_fields, "");
        assert_eq!(m.fstype, "proc");
        assert_eq!(m.source, "proc");
        assert_eq!(m.super_options, "rw");

        let m = parse_line(
            "30 25 0:26 / /sys/fs/cgroup ro,nosuid shared:9 master:3 propagate_from:2 - tmpfs tmpfs ro,mode=755",
        )
        .unwrap();
        assert_eq!(m.optional_fields, "shared:9 master:3 propagate_from:2");
        assert_eq!(m.mount_point, "/sys/fs/cgroup");
        assert_eq!(m.super_options, "ro,mode=755");
    }

    #[test]
    fn escaped_paths_are_unescaped() {
        let m =
            parse_line(r"40 22 8:1 /a\040b /mnt/with\040space\011tab rw - ext4 /dev/my\134disk rw")
                .unwrap();
        assert_eq!(m.root, "/a b");
        assert_eq!(m.mount_point, "/mnt/with space\ttab");
        assert_eq!(m.source, r"/dev/my\disk");
        // A lone or short backslash sequence is kept as is.
        assert_eq!(unescape(r"a\b"), r"a\b");
        assert_eq!(unescape(r"a\04"), r"a\04");
        assert_eq!(unescape(r"\"), r"\");
    }

    #[test]
    fn empty_source() {
        let m = parse_line("50 22 0:45 / /x rw - tmpfs  rw,size=10k").unwrap();
        assert_eq!(m.source, "");
        assert_eq!(m.super_options, "rw,size=10k");
    }

    #[test]
    fn malformed_lines_are_rejected() {
        assert_eq!(parse_line(""), None);
        assert_eq!(parse_line("x 1 0:1 / / rw - proc proc rw"), None);
        assert_eq!(parse_line("1 1 0:1 / / rw shared:1 proc proc rw"), None);
        assert_eq!(parse_line("1 1 01 / / rw - proc proc rw"), None);
        assert_eq!(parse_line("1 1 0:1 / / rw -"), None);
        let text = "garbage\n22 1 0:21 / /proc rw - proc proc rw\n";
        assert_eq!(parse(text).len(), 1);
    }
}
