//! YARA rule compilation and scanning, isolated in one crate.
//!
//! vigie hunts web shells with YARA rules: a small embedded set written
//! for vigie ([`embedded_rules`]) plus any directory of `.yar` files the
//! user names (signature-base and the like). Every file either loads or
//! is reported with the reason; a broken file never stops the others.
//! Every hit carries the rule's metadata (author, reference, licence),
//! because the Detection Rule License requires the author to be kept in
//! any message based on a match.
//!
//! The engine is yara-x, behind the default-on `yara` feature. Built
//! without it, [`RuleSet::compile`] reports that YARA is unavailable and
//! the rest of vigie runs on.

#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vigie_model::{ItemError, ItemErrorKind};

#[cfg(feature = "yara")]
mod engine;
#[cfg(test)]
mod tests;

/// vigie's own rules (see the comment at the top of the file).
const EMBEDDED: &str = include_str!("../rules/vigie-webshells.yar");

/// External variables that rule sets (signature-base, Loki) expect; each
/// is set per file before a scan.
pub const GLOBALS: [&str; 6] =
    ["filename", "filepath", "extension", "filetype", "owner", "md5"];

/// Largest file given to YARA; bigger files are skipped with a note.
pub const MAX_SCAN_SIZE: usize = 64 << 20;

/// One source of rules: its text and where it came from.
#[derive(Debug, Clone)]
pub struct RuleSource {
    /// Where the text came from (file path, or `vigie:embedded`).
    pub origin: String,
    /// The rule text.
    pub text: String,
}

/// The embedded rule set.
pub fn embedded_rules() -> RuleSource {
    RuleSource {
        origin: "vigie:embedded/vigie-webshells.yar".to_string(),
        text: EMBEDDED.to_string(),
    }
}

/// Every `.yar`/`.yara` file under `dir` (recursively, sorted), with an
/// error for each one that cannot be read.
pub fn load_dir(dir: &Path) -> (Vec<RuleSource>, Vec<ItemError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    collect_rule_files(dir, &mut files, &mut errors, 0);
    files.sort();
    let mut sources = Vec::new();
    for path in files {
        match std::fs::read(&path) {
            Ok(bytes) => sources.push(RuleSource {
                origin: path.display().to_string(),
                text: String::from_utf8_lossy(&bytes).into_owned(),
            }),
            Err(e) => errors.push(ItemError::new(
                path.display().to_string(),
                ItemErrorKind::Io,
                format!("cannot read YARA file: {e}"),
            )),
        }
    }
    if sources.is_empty() && errors.is_empty() {
        errors.push(ItemError::new(
            dir.display().to_string(),
            ItemErrorKind::Config,
            "no .yar or .yara files found",
        ));
    }
    (sources, errors)
}

fn collect_rule_files(
    dir: &Path,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<ItemError>,
    depth: usize,
) {
    // Rule directories are shallow; the cap guards against link loops.
    if depth > 16 {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(ItemError::new(
                dir.display().to_string(),
                ItemErrorKind::Io,
                format!("cannot list YARA directory: {e}"),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            collect_rule_files(&path, files, errors, depth + 1);
        } else if kind.is_file() && is_rule_file(&path) {
            files.push(path);
        }
    }
}

fn is_rule_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yar") || e == "yara")
}

/// One rule that matched a file, with the metadata licences require.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    /// Rule identifier.
    pub rule: String,
    /// Namespace (one per loaded file).
    pub namespace: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Every string/number metadata value (`author`, `reference`,
    /// `description`, `license`, `score`, ...).
    pub meta: BTreeMap<String, String>,
    /// Where the rule came from.
    pub origin: String,
}

/// What one file looks like to the rules' external variables.
#[derive(Debug, Clone, Default)]
pub struct FileContext {
    /// Full path as the rules expect it (Windows form when known).
    pub filepath: String,
    /// File name.
    pub filename: String,
    /// Extension without the dot, lower case.
    pub extension: String,
}

/// Counters of one compilation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// Files (sources) that compiled.
    pub sources_loaded: usize,
    /// Files that were rejected (each has an error).
    pub sources_failed: usize,
    /// Rules in the compiled set.
    pub rules: usize,
}

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum YaraError {
    /// vigie was built without the `yara` feature.
    #[error("this vigie was built without YARA support")]
    Unavailable,
    /// No rule compiled at all.
    #[error("no YARA rule could be compiled")]
    NoRules,
    /// A scan failed.
    #[error("YARA scan failed: {0}")]
    Scan(String),
}

/// A compiled rule set, shared read-only by every worker.
pub struct RuleSet {
    #[cfg(feature = "yara")]
    inner: engine::Compiled,
    /// Counters.
    pub summary: LoadSummary,
    /// One error per source that did not load, with the reason.
    pub errors: Vec<ItemError>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("summary", &self.summary)
            .field("errors", &self.errors.len())
            .finish()
    }
}

impl RuleSet {
    /// Compile sources, each in its own namespace; a source that fails
    /// is left out and reported.
    pub fn compile(sources: &[RuleSource]) -> Result<RuleSet, YaraError> {
        #[cfg(feature = "yara")]
        {
            let (inner, summary, errors) = engine::compile(sources);
            if summary.rules == 0 {
                return Err(YaraError::NoRules);
            }
            Ok(RuleSet { inner, summary, errors })
        }
        #[cfg(not(feature = "yara"))]
        {
            let _ = sources;
            Err(YaraError::Unavailable)
        }
    }

    /// A scanner for one worker thread.
    pub fn scanner(&self) -> Scanner<'_> {
        Scanner {
            #[cfg(feature = "yara")]
            inner: engine::Scanner::new(&self.inner),
            #[cfg(not(feature = "yara"))]
            _rules: std::marker::PhantomData,
        }
    }
}

/// Per-thread scanner (yara-x scanners are not shared between threads).
pub struct Scanner<'r> {
    #[cfg(feature = "yara")]
    inner: engine::Scanner<'r>,
    #[cfg(not(feature = "yara"))]
    _rules: std::marker::PhantomData<&'r ()>,
}

impl Scanner<'_> {
    /// Scan one file's bytes.
    pub fn scan(
        &mut self,
        data: &[u8],
        file: &FileContext,
    ) -> Result<Vec<RuleMatch>, YaraError> {
        #[cfg(feature = "yara")]
        {
            self.inner.scan(data, file)
        }
        #[cfg(not(feature = "yara"))]
        {
            let _ = (data, file);
            Err(YaraError::Unavailable)
        }
    }
}
