//! The error type of the mock's setup API.

use std::fmt;
use std::path::PathBuf;

/// Errors returned while configuring or starting a [`MockOrq`](crate::MockOrq).
///
/// Request handling never returns this type: problems with incoming requests are
/// answered over HTTP with a JSON `{"message", "code"}` body instead.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Binding the listening socket or another I/O operation failed.
    Io(std::io::Error),
    /// A deployments file could not be read.
    ReadFile {
        /// The file that was being read.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// Deployments JSON could not be parsed into the list shape.
    Parse(serde_json::Error),
    /// A deployment does not satisfy the wire contract (for example an unknown provider).
    InvalidDeployment {
        /// The offending deployment's key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two deployments share the same key or the same id.
    Duplicate(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::ReadFile { path, source } => {
                write!(f, "cannot read deployments file {}: {source}", path.display())
            }
            Error::Parse(e) => write!(f, "invalid deployments JSON: {e}"),
            Error::InvalidDeployment { key, reason } => {
                write!(f, "invalid deployment `{key}`: {reason}")
            }
            Error::Duplicate(what) => write!(f, "duplicate deployment {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::ReadFile { source, .. } => Some(source),
            Error::Parse(e) => Some(e),
            Error::InvalidDeployment { .. } | Error::Duplicate(_) => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Parse(e)
    }
}
