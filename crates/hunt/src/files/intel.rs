//! Loading the file checks' intelligence once per hunt: YARA rules
//! (embedded and `--yara DIR`), known-bad hashes (embedded and
//! `--hashes FILE`), filename IOCs (`--filename-iocs FILE`) and the
//! drop-folder allowlist. Every source either loads or is one error with
//! the reason; a broken source never stops the others.

use std::sync::atomic::{AtomicU64, Ordering};

use vigie_model::{ItemError, ItemErrorKind};
use vigie_yara::{RuleSet, RuleSource, YaraError, embedded_rules, load_dir};

use super::FileIntelOptions;
use super::hashes::HashList;

/// Work counters shared by the workers (atomics: workers run in
/// parallel; they live in the per-hunt [`super::FileIntel`], not in a
/// global).
#[derive(Debug, Default)]
pub struct Counters {
    /// Files handed to the checks.
    pub checked: AtomicU64,
    /// Files whose first bytes were read.
    pub sniffed: AtomicU64,
    /// Files hashed.
    pub hashed: AtomicU64,
    /// Files scanned with YARA.
    pub yara_scanned: AtomicU64,
    /// Bytes scanned with YARA.
    pub yara_bytes: AtomicU64,
}

impl Counters {
    /// Add one to a counter.
    pub fn bump(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// Read a counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// Compile the YARA sources `opts` names; `None` when there are none.
pub fn load_yara(
    opts: &FileIntelOptions,
    errors: &mut Vec<ItemError>,
) -> Option<RuleSet> {
    let mut sources: Vec<RuleSource> = Vec::new();
    if !opts.no_embedded_yara {
        sources.push(embedded_rules());
    }
    for dir in &opts.yara_dirs {
        let (s, e) = load_dir(dir);
        sources.extend(s);
        errors.extend(e);
    }
    if sources.is_empty() {
        return None;
    }
    match RuleSet::compile(&sources) {
        Ok(set) => {
            errors.extend(set.errors.iter().cloned());
            Some(set)
        }
        Err(e) => {
            if matches!(e, YaraError::NoRules) {
                errors.extend(reasons(&sources));
            }
            let subject = match &e {
                YaraError::Unavailable => "yara".to_string(),
                _ => sources
                    .iter()
                    .map(|s| s.origin.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            errors.push(ItemError::new(
                subject,
                ItemErrorKind::Config,
                format!("{e}: web shells are checked without YARA"),
            ));
            None
        }
    }
}

/// Why each source failed, when none compiled: `RuleSet::compile` keeps
/// per-source errors only when some rule compiled, so compile them again
/// next to the embedded rules (which always compile) to learn why.
fn reasons(sources: &[RuleSource]) -> Vec<ItemError> {
    let mut with_embedded = vec![embedded_rules()];
    with_embedded.extend(sources.iter().cloned());
    RuleSet::compile(&with_embedded).map_or_else(|_| Vec::new(), |s| s.errors)
}

/// The embedded hash list plus every `--hashes FILE`.
pub fn load_hashes(
    opts: &FileIntelOptions,
    errors: &mut Vec<ItemError>,
) -> HashList {
    let mut list = HashList::default();
    list.add_embedded(errors);
    for f in &opts.hash_files {
        list.add_file(f, errors);
    }
    list
}
