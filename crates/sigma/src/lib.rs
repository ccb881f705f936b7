//! The responder's own Sigma rules (`vigie hunt --sigma DIR`), evaluated
//! over the log records vigie reads.
//!
//! [`RuleSet::load`] reads every `.yml`/`.yaml` file below the folders
//! given: each file either loads or is listed with the reason it did not
//! (bad YAML, correlation rule, unsupported modifier, ...). Matching is
//! done by the `sigma-rust` crate; this crate decides which records a rule
//! applies to (its `logsource`, see [`source`]), builds each record's
//! fields under Sigma's names (the documented mapping per source, see
//! `docs/sigma.md`), and turns matches into findings that keep the rule's
//! metadata. [`scan_file`] reads one log file and evaluates each record
//! once against the rules for its source: a literal prefilter (one
//! Aho-Corasick pass per record over the literals every rule needs) keeps
//! records no rule could match from being split or evaluated.

#![deny(missing_docs)]

mod load;
mod prefilter;
mod scan;
pub mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use vigie_model::hunt::{SigmaSummary, SkippedSigmaRule};

pub use load::{RuleMeta, SigmaRule, parse_rule};
pub use scan::{
    MAX_FINDINGS_PER_RULE_AND_FILE, ScanOutput, Window, scan_file,
};

/// Largest rule file read; larger ones are skipped (a Sigma rule is a
/// few KiB).
pub const MAX_RULE_FILE: u64 = 1 << 20;

/// Why rules could not be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum SigmaError {
    /// A folder given with `--sigma` cannot be read.
    #[error("Sigma rule folder {path}: {message}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// A loaded rule set: the rules, and the files that did not load.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<SigmaRule>,
    skipped: Vec<SkippedSigmaRule>,
    dirs: Vec<String>,
    plans: scan::Plans,
}

impl RuleSet {
    /// Load every `.yml`/`.yaml` file below `dirs` (a file may be given
    /// too), in parallel on the current rayon pool. A folder that cannot
    /// be read is an error; a file that does not load is listed in
    /// [`RuleSet::skipped`] with its reason.
    pub fn load(dirs: &[PathBuf]) -> Result<RuleSet, SigmaError> {
        let mut files = Vec::new();
        let mut unreadable = Vec::new();
        for dir in dirs {
            rule_files(dir, &mut files, &mut unreadable)?;
        }
        files.sort();
        files.dedup();
        let results: Vec<_> =
            files.par_iter().map(|p| load::load_file(p)).collect();
        let mut set = RuleSet {
            dirs: dirs.iter().map(|d| d.display().to_string()).collect(),
            skipped: unreadable,
            ..RuleSet::default()
        };
        for r in results {
            match r {
                Ok(rule) => set.rules.push(rule),
                Err(skip) => set.skipped.push(skip),
            }
        }
        Ok(set)
    }

    /// Build a set from rules already parsed (tests, fuzzing).
    pub fn from_rules(rules: Vec<SigmaRule>) -> RuleSet {
        RuleSet { rules, ..RuleSet::default() }
    }

    /// The rules that loaded.
    pub fn rules(&self) -> &[SigmaRule] {
        &self.rules
    }

    /// The files that did not load, with their reasons.
    pub fn skipped(&self) -> &[SkippedSigmaRule] {
        &self.skipped
    }

    /// The summary for the hunt report, before any match is counted.
    pub fn summary(&self) -> SigmaSummary {
        let mut by_reason = BTreeMap::new();
        for s in &self.skipped {
            *by_reason.entry(s.reason.clone()).or_insert(0) += 1;
        }
        SigmaSummary {
            dirs: self.dirs.clone(),
            rules_loaded: self.rules.len() as u64,
            rules_applicable: self
                .rules
                .iter()
                .filter(|r| source::applies_anywhere(&r.target))
                .count() as u64,
            rules_skipped: self.skipped.len() as u64,
            skipped_by_reason: by_reason,
            skipped: self.skipped.clone(),
            ..SigmaSummary::default()
        }
    }
}

/// Add one file's match counts to the summary.
pub fn add_counts(summary: &mut SigmaSummary, out: &ScanOutput) {
    for (id, n) in &out.matches_by_rule {
        *summary.matches_by_rule.entry(id.clone()).or_insert(0) += n;
        summary.matches += n;
    }
    summary.matches_not_listed += out.matches_not_listed;
}

/// The rule files below `dir` (or `dir` itself when it is a file) into
/// `files`; entries that cannot be read below it into `unreadable`.
/// Links are not followed. `dir` itself unreadable is an error.
fn rule_files(
    dir: &Path,
    files: &mut Vec<PathBuf>,
    unreadable: &mut Vec<SkippedSigmaRule>,
) -> Result<(), SigmaError> {
    let meta = std::fs::metadata(dir).map_err(|e| SigmaError::Folder {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    if meta.is_file() {
        files.push(dir.to_path_buf());
        return Ok(());
    }
    for entry in walkdir::WalkDir::new(dir).follow_links(false) {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                unreadable.push(SkippedSigmaRule {
                    path: e.path().unwrap_or(dir).display().to_string(),
                    title: None,
                    reason: "unreadable folder".into(),
                    detail: e.to_string(),
                });
                continue;
            }
        };
        let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
        if entry.file_type().is_file()
            && (name.ends_with(".yml") || name.ends_with(".yaml"))
        {
            files.push(entry.into_path());
        }
    }
    Ok(())
}
