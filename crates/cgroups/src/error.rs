use std::path::PathBuf;

/// A cgroup operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cgroup {}: {reason}", path.display())]
    Io { path: PathBuf, reason: String },
    /// The caller may not write there (an unprivileged runtime, a
    /// read-only cgroupfs): rootless runs go on without the cgroup.
    #[error("cgroup {}: {reason}", path.display())]
    Denied { path: PathBuf, reason: String },
    #[error("{0}")]
    Unsupported(String),
    /// The kernel did not get there in time (a freeze).
    #[error("{0}")]
    TimedOut(String),
    #[error("invalid {0}")]
    Invalid(String),
    /// Talking to systemd failed, or systemd failed the request.
    #[error("{0}")]
    Systemd(String),
    /// systemd answered a call with an error.
    #[error("systemd {call}: {message} ({name})")]
    SystemdRefused {
        call: String,
        name: String,
        message: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, e: &std::io::Error) -> Error {
        let s = e.to_string();
        let reason = s.split(" (os error").next().unwrap_or(&s).to_lowercase();
        let path = path.into();
        if matches!(
            e.raw_os_error(),
            Some(libc::EACCES | libc::EPERM | libc::EROFS)
        ) {
            Error::Denied { path, reason }
        } else {
            Error::Io { path, reason }
        }
    }
}

/// The result of a cgroup operation.
pub type Result<T> = std::result::Result<T, Error>;
