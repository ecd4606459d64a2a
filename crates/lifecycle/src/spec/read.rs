//! Reading the JSON a user hands the runtime (config.json, `exec
//! --process`, `update -r`): regular files or a stream, and bounded, so
//! that an endless source (a link to /dev/zero) fails at once instead of
//! growing the runtime until allocation fails.

use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The most such a document may hold. Real configs stay far below it: a
/// podman config with its default seccomp profile is about 40 KiB, one of
/// Kubernetes' with many annotations a few hundred; 16 MiB leaves room for
/// generous annotations and still reads in well under a second.
pub const MAX_JSON_BYTES: u64 = 16 << 20;

/// Reads the regular file at `path` (a symlink is followed, the opened
/// file is what is checked), at most [`MAX_JSON_BYTES`].
pub fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    // O_NONBLOCK: opening a fifo must not wait for a writer (it is refused
    // below); it changes nothing for a regular file.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let md = file.metadata()?;
    if !md.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    if md.len() > MAX_JSON_BYTES {
        return Err(too_large());
    }
    read_stream(file)
}

/// Reads `r` to its end, at most [`MAX_JSON_BYTES`] (a file may grow after
/// its size was checked; stdin has none).
pub fn read_stream(r: impl Read) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    r.take(MAX_JSON_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_JSON_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

fn too_large() -> io::Error {
    // In bytes: errors are lower-cased on the way out (spec::io_reason).
    io::Error::other(format!("larger than {MAX_JSON_BYTES} bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_or_special_file_is_refused() {
        let e = read_file(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file");
        let e = read_stream(std::fs::File::open("/dev/zero").unwrap()).unwrap_err();
        assert_eq!(e.to_string(), "larger than 16777216 bytes");
        assert_eq!(read_stream(&b"{}"[..]).unwrap(), b"{}");
    }
}
