//! File checks: what one file on the server's disk shows.
//!
//! The engine walks the evidence and hands every regular file that is not
//! a log to a [`FileWorker`] (one per rayon thread). The worker decides
//! from the file's Windows path and size what to read: web shells in the
//! web folders (YARA, known-bad hashes, Exchange's allowlists), compiled
//! pages in `Temporary ASP.NET Files`, LSASS dumps by content, archives
//! staged in `ProgramData` and web folders, and filename IOCs everywhere.
//! Everything it loads once (rules, hash and name lists) is a
//! [`FileIntel`], shared read-only by all workers.

use std::path::{Path, PathBuf};

use vigie_model::hunt::TimelineEvent;
use vigie_model::{Finding, ItemError};

use crate::place::WinPath;

/// Where the file checks' intelligence comes from.
#[derive(Debug, Clone, Default)]
pub struct FileIntelOptions {
    /// `--yara DIR`: extra rule directories (signature-base and the like).
    pub yara_dirs: Vec<PathBuf>,
    /// `--no-embedded-yara`: leave vigie's own rules out.
    pub no_embedded_yara: bool,
    /// `--hashes FILE`: extra known-bad SHA-256 lists.
    pub hash_files: Vec<PathBuf>,
    /// `--filename-iocs FILE`: signature-base style filename IOC lists.
    pub filename_ioc_files: Vec<PathBuf>,
}

/// Rules and lists loaded once per hunt.
#[derive(Debug, Default)]
pub struct FileIntel {}

impl FileIntel {
    /// Load everything `opts` names; each file that cannot be loaded is
    /// one error, and the rest is still used.
    pub fn load(opts: &FileIntelOptions) -> (FileIntel, Vec<ItemError>) {
        let _ = opts;
        (FileIntel {}, Vec::new())
    }

    /// Counters for the report's `stats` (rules loaded, hashes, ...).
    pub fn stats(&self) -> Vec<(String, u64)> {
        Vec::new()
    }

    /// A worker for one thread.
    pub fn worker(&self) -> FileWorker<'_> {
        FileWorker { _intel: self }
    }
}

/// What checking one file gave.
#[derive(Debug, Clone, Default)]
pub struct FileOutcome {
    /// Evidence (paths in findings are the evidence paths as given).
    pub findings: Vec<Finding>,
    /// File times of files with findings (`file_created`,
    /// `file_modified`).
    pub timeline: Vec<TimelineEvent>,
    /// Problems reading this file.
    pub errors: Vec<ItemError>,
    /// Bytes read from the file.
    pub bytes_read: u64,
    /// The URL path (lower case, `/owa/auth/x.aspx`) of a web shell
    /// found here, so IIS log requests to it become findings.
    pub webshell_url: Option<String>,
}

/// Per-thread checker (YARA scanners are per thread).
#[derive(Debug)]
pub struct FileWorker<'i> {
    _intel: &'i FileIntel,
}

impl FileWorker<'_> {
    /// Check one regular file. `path` is where it is on this machine,
    /// `win` where it was on the server, `meta` its metadata.
    pub fn check(
        &mut self,
        path: &Path,
        win: &WinPath,
        meta: &std::fs::Metadata,
    ) -> FileOutcome {
        let _ = (path, win, meta);
        FileOutcome::default()
    }
}

/// SHA-256 of a file, hex lower case, streamed (for the OAB check:
/// "the file the exploit wrote still exists, and this is its hash").
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let _ = path;
    Err(std::io::Error::other("not built yet"))
}
