//! Errors of the health crate: one variant per input format, each naming
//! the file and what was wrong with it. A failed input never stops the
//! judgement of a server: it becomes an item error and the judgements that
//! needed it say `unknown`.

use std::path::PathBuf;

use thiserror::Error;
use vigie_model::{ItemError, ItemErrorKind};

/// Why one of a server's files could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum HealthError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The file is larger than any genuine copy of it.
    #[error("{}: {size} bytes, above the {limit}-byte limit for this kind of file", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit for its kind.
        limit: u64,
    },
    /// An XML configuration file (applicationHost.config, web.config, ...)
    /// is not well-formed.
    #[error("{}: invalid XML at line {line}: {message}", path.display())]
    Xml {
        /// The file.
        path: PathBuf,
        /// 1-based line of the fault (0 if unknown).
        line: u32,
        /// The parser's account.
        message: String,
    },
    /// A registry hive cannot be read (not a hive, truncated, bad
    /// checksum without transaction logs to recover it).
    #[error("{}: registry hive unreadable: {reason}", path.display())]
    Hive {
        /// The hive file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A `.reg` export has a line that is not `.reg` syntax.
    #[error("{}:{line}: not a .reg export line: {reason}", path.display())]
    RegExport {
        /// The export.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A PowerShell CLIXML export is not readable.
    #[error("{}: not a PowerShell CLIXML export: {reason}", path.display())]
    Clixml {
        /// The export.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A PE file (ExSetup.exe, cachtokn.dll) without a readable version.
    #[error("{}: no file version: {reason}", path.display())]
    Pe {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl HealthError {
    /// The error as a record of the run's output.
    pub fn to_item(&self) -> ItemError {
        let (path, kind) = match self {
            HealthError::Io { path, .. } => (path, ItemErrorKind::Io),
            HealthError::TooLarge { path, .. } => (path, ItemErrorKind::Limit),
            HealthError::Xml { path, .. }
            | HealthError::RegExport { path, .. }
            | HealthError::Clixml { path, .. }
            | HealthError::Pe { path, .. } => (path, ItemErrorKind::Parse),
            HealthError::Hive { path, reason } => {
                let kind = if reason.contains("truncated") {
                    ItemErrorKind::Truncated
                } else {
                    ItemErrorKind::Parse
                };
                (path, kind)
            }
        };
        let text = self.to_string();
        let prefix = format!("{}: ", path.display());
        let message = text.strip_prefix(&prefix).unwrap_or(&text).to_string();
        ItemError::new(path.display().to_string(), kind, message)
    }
}

/// Read a whole file, refusing anything above `limit` bytes.
pub(crate) fn read_limited(
    path: &std::path::Path,
    limit: u64,
) -> Result<Vec<u8>, HealthError> {
    let io = |source| HealthError::Io { path: path.to_path_buf(), source };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > limit {
        return Err(HealthError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit,
        });
    }
    std::fs::read(path).map_err(io)
}
