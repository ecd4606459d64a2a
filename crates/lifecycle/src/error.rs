//! The lifecycle's error type. Each variant says what the user did or what
//! failed; `#[source]` keeps the chain, which the binary prints once.

use std::path::PathBuf;

use crate::spawn::sync::InitError;

/// An error of a lifecycle operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("container \"{0}\" does not exist")]
    NotExist(String),
    #[error("container with id \"{0}\" already exists")]
    Exists(String),
    #[error("invalid container id {0:?}: {1}")]
    InvalidId(String, &'static str),
    #[error("{0}")]
    InvalidState(String),
    #[error("container not running")]
    NotRunning,
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("{0} is not supported yet")]
    Unsupported(String),
    /// Something that ran (a hook) failed; the text says how.
    #[error("{0}")]
    Failed(String),
    #[error("{context}")]
    Sys {
        context: String,
        #[source]
        source: sys::Error,
    },
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Init(InitError),
    #[error(transparent)]
    Cgroup(cgroups::Error),
    #[error("{0}")]
    CommandNotFound(String),
    #[error("container init exited before it was ready{}", .0.as_ref().map(|s| format!(" ({s})")).unwrap_or_default())]
    InitDied(Option<String>),
    #[error("{context}")]
    Wrapped {
        context: String,
        #[source]
        source: Box<Error>,
    },
    #[error("bundle {}: {reason}", path.display())]
    Bundle { path: PathBuf, reason: String },
}

impl Error {
    /// The exit status `run` should give for this error: 127 when the
    /// container's command does not exist, as runc, and 1 otherwise.
    pub fn exit_status(&self) -> i32 {
        match self {
            Error::Init(e) if e.command_not_found => 127,
            Error::CommandNotFound(_) => 127,
            Error::Wrapped { source, .. } => source.exit_status(),
            _ => 1,
        }
    }
}

/// Adds a description of what we were doing to a failed call.
pub trait Context<T> {
    /// Wraps the error with `context`.
    fn context(self, context: impl Into<String>) -> Result<T, Error>;
    /// Wraps the error with a lazily built context.
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T, Error>;
}

impl<T> Context<T> for Result<T, sys::Error> {
    fn context(self, context: impl Into<String>) -> Result<T, Error> {
        self.map_err(|source| Error::Sys {
            context: context.into(),
            source,
        })
    }
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T, Error> {
        self.map_err(|source| Error::Sys {
            context: f(),
            source,
        })
    }
}

impl<T> Context<T> for Result<T, std::io::Error> {
    fn context(self, context: impl Into<String>) -> Result<T, Error> {
        self.map_err(|source| Error::Io {
            context: context.into(),
            source,
        })
    }
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T, Error> {
        self.map_err(|source| Error::Io {
            context: f(),
            source,
        })
    }
}

impl<T> Context<T> for Result<T, Error> {
    fn context(self, context: impl Into<String>) -> Result<T, Error> {
        self.map_err(|source| Error::Wrapped {
            context: context.into(),
            source: Box::new(source),
        })
    }
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T, Error> {
        self.map_err(|source| Error::Wrapped {
            context: f(),
            source: Box::new(source),
        })
    }
}

/// The whole chain of `err` on one line, outermost first. I/O errors read
/// as runc's ("no such file or directory"), which engines match on.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push_str(": ");
        match e.downcast_ref::<std::io::Error>() {
            Some(io) => out.push_str(&crate::spec::io_reason(io)),
            None => out.push_str(&e.to_string()),
        }
        cur = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_as_runc_words() {
        let e: Result<(), Error> =
            Err(std::io::Error::from_raw_os_error(libc::ENOENT)).context("writing /x/state.json");
        assert_eq!(
            chain(&e.unwrap_err()),
            "writing /x/state.json: no such file or directory"
        );
    }
}
