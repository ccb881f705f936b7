//! Errors of the builds crate: bad build strings, bad tables, bad files.

use thiserror::Error;

/// Why a build string, a file or an inventory row could not be judged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The input was empty (or only spaces).
    #[error("empty build string")]
    Empty,
    /// The input is not a build number in any known form.
    #[error("not an Exchange build number: {reason}")]
    Syntax {
        /// What was wrong with it.
        reason: String,
    },
    /// A well-formed version that is not Exchange 2010 or later.
    #[error(
        "version {major}.{minor} is not Exchange 2010 (14.3), 2013 \
         (15.0), 2016 (15.1), 2019 or SE (15.2)"
    )]
    UnknownProduct {
        /// First part.
        major: u32,
        /// Second part.
        minor: u32,
    },
    /// A file that should be a PE image (ExSetup.exe) is not one, or is
    /// cut short, or has no version resource.
    #[error("{0}")]
    Pe(String),
    /// An inventory (CSV or JSON) could not be read.
    #[error("{0}")]
    Inventory(String),
}

/// Why a build/CVE table could not be loaded (`--builds FILE`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file} line {line}: {message}")]
pub struct TableError {
    /// Which table (`builds.csv`, `cve-fixes.csv`, ...).
    pub file: String,
    /// 1-based line number (0 when the whole file is at fault).
    pub line: u64,
    /// What was wrong.
    pub message: String,
}

impl TableError {
    pub(crate) fn new(
        file: &str,
        line: u64,
        message: impl Into<String>,
    ) -> Self {
        TableError { file: file.to_string(), line, message: message.into() }
    }
}
