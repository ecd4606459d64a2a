use std::fmt;
use std::path::{Path, PathBuf};

/// A failed system call: which one, on what, and the errno it returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    op: &'static str,
    path: Option<PathBuf>,
    errno: i32,
}

/// The result of a system call wrapper.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error of `op` with `errno`.
    pub fn new(op: &'static str, errno: i32) -> Self {
        Error {
            op,
            path: None,
            errno,
        }
    }

    /// Names the path the failed call was about.
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Self {
        self.path = Some(path.as_ref().to_path_buf());
        self
    }

    /// The raw errno value.
    pub fn errno(&self) -> i32 {
        self.errno
    }

    /// The name of the failed operation.
    pub fn op(&self) -> &'static str {
        self.op
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = std::io::Error::from_raw_os_error(self.errno);
        // Strip std's " (os error N)" suffix: the text is what users read.
        let text = msg.to_string();
        let text = text
            .split(" (os error")
            .next()
            .unwrap_or(&text)
            .to_lowercase();
        match &self.path {
            Some(p) => write!(f, "{} {}: {}", self.op, p.display(), text),
            None => write!(f, "{}: {}", self.op, text),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        std::io::Error::from_raw_os_error(e.errno)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_op_path_and_reason() {
        let e = Error::new("mount", libc::ENOENT).with_path("/x");
        assert_eq!(e.to_string(), "mount /x: no such file or directory");
        assert_eq!(
            Error::new("setns", libc::EPERM).to_string(),
            "setns: operation not permitted"
        );
    }
}
