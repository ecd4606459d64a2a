//! `org.systemd.property.<Name>` annotations: unit properties the engine
//! or the user asks for (runc's initSystemdProps). The value is in
//! GVariant's text format, as `systemctl set-property` and godbus read it:
//! `true`, `42` (int32), `uint64 42`, `@t 42`, `'text'`, `[1, 2]`.
//! A name ending in a lowercase letter then `Sec` is given in seconds and
//! sent as the `USec` property systemd has (TimeoutStopSec=5 becomes
//! TimeoutStopUSec=5000000), as runc does.

use std::collections::HashMap;

use super::properties::Property;
use super::wire::Value;
use crate::{Error, Result};

const PREFIX: &str = "org.systemd.property.";

/// The properties the annotations ask for, by name.
pub fn properties(annotations: &HashMap<String, String>) -> Result<Vec<Property>> {
    let mut keys: Vec<&String> = annotations
        .keys()
        .filter(|k| k.starts_with(PREFIX))
        .collect();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let text = &annotations[key];
        let name = &key[PREFIX.len()..];
        if name.len() < 3 || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(Error::Invalid(format!(
                "annotation {key} name incorrect: a property name is 3 or more latin letters"
            )));
        }
        let parse_error =
            |why: &str| Error::Invalid(format!("annotation {key}={text} value parse error: {why}"));
        let mut value = parse(text).map_err(|e| parse_error(&e))?;
        let mut name = name.to_string();
        if let Some(stem) = name.strip_suffix("Sec") {
            if stem.ends_with(|c: char| c.is_ascii_lowercase()) {
                name = format!("{stem}USec");
                value =
                    Value::U64(seconds_to_usec(&value).ok_or_else(|| parse_error("not a number"))?);
            }
        }
        out.push((name, value));
    }
    Ok(out)
}

fn seconds_to_usec(v: &Value) -> Option<u64> {
    const M: u64 = 1_000_000;
    Some(match *v {
        Value::Byte(n) => u64::from(n) * M,
        Value::I16(n) => (n as u64).wrapping_mul(M),
        Value::U16(n) => u64::from(n) * M,
        Value::I32(n) => (n as u64).wrapping_mul(M),
        Value::U32(n) => u64::from(n) * M,
        Value::I64(n) => (n as u64).wrapping_mul(M),
        Value::U64(n) => n.wrapping_mul(M),
        Value::Double(d) => (d * M as f64) as u64,
        _ => return None,
    })
}

/// One value in GVariant text format.
pub fn parse(text: &str) -> std::result::Result<Value, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value(None, 0)?;
    p.space();
    if p.i != p.s.len() {
        return Err(format!("unexpected {:?}", &text[p.i..]));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

/// The type keywords of the text format, and the signatures they name.
const KEYWORDS: &[(&str, &str)] = &[
    ("boolean", "b"),
    ("byte", "y"),
    ("int16", "n"),
    ("uint16", "q"),
    ("int32", "i"),
    ("uint32", "u"),
    ("int64", "x"),
    ("uint64", "t"),
    ("double", "d"),
    ("string", "s"),
    ("objectpath", "o"),
    ("signature", "g"),
];

impl Parser<'_> {
    fn space(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn word(&mut self) -> &str {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'+' | b'.'))
        {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }

    /// A value, of type `want` when the context gives one.
    fn value(&mut self, want: Option<&str>, depth: usize) -> std::result::Result<Value, String> {
        if depth > 32 {
            return Err("nested too deep".into());
        }
        self.space();
        match self.s.get(self.i) {
            None => Err("no value".into()),
            Some(b'@') => {
                self.i += 1;
                let start = self.i;
                while self.s.get(self.i).is_some_and(|c| !c.is_ascii_whitespace()) {
                    self.i += 1;
                }
                let sig = std::str::from_utf8(&self.s[start..self.i])
                    .unwrap_or("")
                    .to_string();
                self.value(Some(&sig), depth + 1)
            }
            Some(b'\'' | b'"') => {
                let s = self.string()?;
                match want {
                    None | Some("s") => Ok(Value::Str(s)),
                    Some("o") => Ok(Value::ObjectPath(s)),
                    Some("g") => Ok(Value::Signature(s)),
                    Some(t) => Err(format!("a string is not of type {t}")),
                }
            }
            Some(b'[') => {
                self.i += 1;
                let elem = match want {
                    Some(t) if t.starts_with('a') => Some(t[1..].to_string()),
                    Some(t) => return Err(format!("an array is not of type {t}")),
                    None => None,
                };
                let mut items = Vec::new();
                loop {
                    self.space();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                        break;
                    }
                    if !items.is_empty() {
                        if self.s.get(self.i) != Some(&b',') {
                            return Err("expected , or ] in an array".into());
                        }
                        self.i += 1;
                    }
                    let want = elem.clone().or_else(|| items.first().map(Value::signature));
                    items.push(self.value(want.as_deref(), depth + 1)?);
                }
                let elem = match elem {
                    Some(e) => e,
                    None => items
                        .first()
                        .map(Value::signature)
                        .ok_or("an empty array needs a type (@as [])")?,
                };
                if items.iter().any(|v| v.signature() != elem) {
                    return Err("array elements of different types".into());
                }
                Ok(Value::Array(elem, items))
            }
            Some(_) => {
                let w = self.word().to_string();
                if let Some((_, sig)) = KEYWORDS.iter().find(|(k, _)| *k == w) {
                    return self.value(Some(sig), depth + 1);
                }
                atom(&w, want)
            }
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.s.get(self.i) {
                None => return Err("unterminated string".into()),
                Some(&c) if c == quote => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    let c = *self.s.get(self.i + 1).ok_or("unterminated string")?;
                    out.push(match c {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        c => c,
                    });
                    self.i += 2;
                }
                Some(&c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| "string is not UTF-8".into())
    }
}

/// A boolean or a number, of type `want` or the text format's default
/// (int32, else int64 or uint64 when it does not fit; double with a point).
fn atom(w: &str, want: Option<&str>) -> std::result::Result<Value, String> {
    let bad = || format!("cannot read {w:?} as {}", want.unwrap_or("a value"));
    let int = |w: &str| -> Option<i128> {
        match w.strip_prefix("0x") {
            Some(h) => i128::from_str_radix(h, 16).ok(),
            None => w.parse().ok(),
        }
    };
    match (w, want) {
        ("true", None | Some("b")) => return Ok(Value::Bool(true)),
        ("false", None | Some("b")) => return Ok(Value::Bool(false)),
        _ => {}
    }
    if want == Some("d") || (want.is_none() && (w.contains('.') || w.contains('e'))) {
        return w.parse().map(Value::Double).map_err(|_| bad());
    }
    let n = int(w).ok_or_else(bad)?;
    let v = match want {
        Some("y") => u8::try_from(n).ok().map(Value::Byte),
        Some("n") => i16::try_from(n).ok().map(Value::I16),
        Some("q") => u16::try_from(n).ok().map(Value::U16),
        Some("i") => i32::try_from(n).ok().map(Value::I32),
        Some("u") => u32::try_from(n).ok().map(Value::U32),
        Some("x") => i64::try_from(n).ok().map(Value::I64),
        Some("t") => u64::try_from(n).ok().map(Value::U64),
        None => i32::try_from(n)
            .map(Value::I32)
            .or_else(|_| i64::try_from(n).map(Value::I64))
            .or_else(|_| u64::try_from(n).map(Value::U64))
            .ok(),
        Some(_) => None,
    };
    v.ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_reads_as_godbus_reads_it() {
        assert_eq!(parse("true").unwrap(), Value::Bool(true));
        assert_eq!(parse("42").unwrap(), Value::I32(42));
        assert_eq!(parse("uint64 42").unwrap(), Value::U64(42));
        assert_eq!(parse("@t 42").unwrap(), Value::U64(42));
        assert_eq!(parse("4294967296").unwrap(), Value::I64(1 << 32));
        assert_eq!(parse("1.5").unwrap(), Value::Double(1.5));
        assert_eq!(parse("'a b'").unwrap(), Value::Str("a b".into()));
        assert_eq!(
            parse("['x', \"y\"]").unwrap(),
            Value::Array(
                "s".into(),
                vec![Value::Str("x".into()), Value::Str("y".into())]
            )
        );
        assert_eq!(parse("@as []").unwrap(), Value::Array("s".into(), vec![]));
        for bad in ["", "[", "'x", "[1, 'a']", "byte 300", "nope", "1 2", "[]"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sec_properties_become_usec_and_bad_names_are_refused() {
        let a = |k: &str, v: &str| HashMap::from([(format!("{PREFIX}{k}"), v.to_string())]);
        let p = properties(&a("TimeoutStopSec", "5")).unwrap();
        assert_eq!(p, vec![("TimeoutStopUSec".into(), Value::U64(5_000_000))]);
        // Already in microseconds: left alone.
        let p = properties(&a("RuntimeMaxUSec", "uint64 7")).unwrap();
        assert_eq!(p, vec![("RuntimeMaxUSec".into(), Value::U64(7))]);
        let p = properties(&a("CollectMode", "'inactive-or-failed'")).unwrap();
        assert_eq!(p[0].1, Value::Str("inactive-or-failed".into()));
        assert!(properties(&a("Ab", "1")).is_err());
        assert!(properties(&a("Bad_Name", "1")).is_err());
        assert!(properties(&a("TimeoutStopSec", "'x'")).is_err());
        let other = HashMap::from([("io.x".to_string(), "1".to_string())]);
        assert!(properties(&other).unwrap().is_empty());
    }
}
