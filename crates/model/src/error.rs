//! Per-item failures, recorded as data so a run can go on.
//!
//! A file that cannot be read or a host that answers garbage is not a reason
//! to stop: it becomes an [`ItemError`] in the output, and the run's exit code
//! says that something went wrong.

use serde::{Deserialize, Serialize};

/// What kind of thing went wrong with one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ItemErrorKind {
    /// The input could not be parsed (bad build string, broken CSV, ...).
    Parse,
    /// Reading the file failed (permissions, I/O error, vanished).
    Io,
    /// The file or record is truncated.
    Truncated,
    /// A network phase failed (connect, TLS, HTTP).
    Network,
    /// A phase took longer than its limit.
    Timeout,
    /// A limit (size, count) was hit and the item was cut short.
    Limit,
    /// A rule or configuration item could not be loaded.
    Config,
    /// Anything else.
    Other,
}

/// One failure on one item (a file, a host, an input line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemError {
    /// The file path, host, or input text the error is about.
    pub subject: String,
    /// The class of failure.
    pub kind: ItemErrorKind,
    /// A sentence for a person: what was wrong.
    pub message: String,
}

impl ItemError {
    /// Build an error about `subject`.
    pub fn new(
        subject: impl Into<String>,
        kind: ItemErrorKind,
        message: impl Into<String>,
    ) -> Self {
        ItemError { subject: subject.into(), kind, message: message.into() }
    }
}

impl std::fmt::Display for ItemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.subject, self.message)
    }
}
