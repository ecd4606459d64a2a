use std::path::PathBuf;

/// A cgroup operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cgroup {}: {reason}", path.display())]
    Io { path: PathBuf, reason: String },
    #[error("{0}")]
    Unsupported(String),
    #[error("invalid {0}")]
    Invalid(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, e: &std::io::Error) -> Error {
        let s = e.to_string();
        let reason = s.split(" (os error").next().unwrap_or(&s).to_lowercase();
        Error::Io {
            path: path.into(),
            reason,
        }
    }
}

/// The result of a cgroup operation.
pub type Result<T> = std::result::Result<T, Error>;
