//! Log detectors: read one log file, emit findings and coverage.
//!
//! The engine (`crate::engine`) decides which files are logs and of what
//! kind; this module reads each one with `vigie-logs` and applies the rules
//! for its kind.

use std::path::Path;

use chrono::{DateTime, Utc};
use vigie_model::hunt::{LogSource, SourceCoverage};
use vigie_model::{Finding, ItemError};

/// What the engine tells a detector about the hunt.
#[derive(Debug, Clone, Default)]
pub struct LogScanOptions {
    /// Ignore records before this time.
    pub since: Option<DateTime<Utc>>,
    /// Ignore records after this time.
    pub until: Option<DateTime<Utc>>,
    /// URL paths of web shells found on disk (lower-case, e.g.
    /// `/owa/auth/x.aspx`): requests to them in IIS logs are findings.
    pub webshell_urls: Vec<String>,
}

/// The outcome of reading one log file.
#[derive(Debug, Clone)]
pub struct LogScanResult {
    /// Evidence found.
    pub findings: Vec<Finding>,
    /// Records and time span of this one file.
    pub coverage: SourceCoverage,
    /// Problems met while reading (the file may still be partly read).
    pub errors: Vec<ItemError>,
}

/// Decide from its path whether a file is a log vigie reads, and which.
pub fn classify_log(_path: &Path) -> Option<LogSource> {
    None
}

/// Read one log file of the given kind and apply its rules.
pub fn scan_log(
    _path: &Path,
    source: LogSource,
    _opts: &LogScanOptions,
) -> LogScanResult {
    LogScanResult {
        findings: Vec::new(),
        coverage: SourceCoverage {
            source,
            files: 1,
            records: 0,
            first: None,
            last: None,
            covers_window: false,
        },
        errors: Vec::new(),
    }
}
