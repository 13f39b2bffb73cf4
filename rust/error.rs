//! The one error type of the pure Rust core. The bindings map each variant to a
//! Python exception class; nothing in the core panics on bad input.

use std::fmt;

/// Everything that can go wrong in the core, with a message that names the
/// offending argument so the Python user can act on it.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// An argument has the wrong length, range or value.
    InvalidInput { arg: String, msg: String },
    /// The data are valid but the requested estimate does not exist
    /// (for example a maximum-likelihood fit where an item never loses).
    NotEstimable(String),
    /// The working memory the input needs could not be allocated (checked
    /// before the work, so the process does not abort); Python `MemoryError`.
    OutOfMemory { arg: String, msg: String },
}

impl Error {
    pub fn invalid(arg: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::InvalidInput { arg: arg.into(), msg: msg.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput { arg, msg } => write!(f, "{arg}: {msg}"),
            Error::NotEstimable(msg) => f.write_str(msg),
            Error::OutOfMemory { arg, msg } => write!(f, "{arg}: {msg}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
