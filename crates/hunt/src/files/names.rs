//! Filename IOC lists in signature-base's format (`iocs/filename-iocs.txt`):
//! `REGEX;SCORE[;FALSE_POSITIVE_REGEX]` per line, `#` comment lines.
//! Every regex is matched, case-sensitive unless it starts with `(?i)`,
//! against the file's full Windows path (`C:\...`, original case).
//!
//! Loki loops over the 4,500 regexes one by one for every file; vigie
//! compiles them all into one [`RegexSet`], so a path is matched once.
//! A line whose regex does not compile (Python-only syntax such as
//! look-arounds) is an error naming the file and line; the rest load.

use regex::{Regex, RegexSet, RegexSetBuilder};
use vigie_model::{ItemError, ItemErrorKind};

use super::hashes::clip;

/// Compiled size cap of the whole set; signature-base's list needs far
/// less, the cap only stops a hostile list from eating memory.
const SET_SIZE_LIMIT: usize = 512 << 20;

/// Errors reported per list before the rest are summed up in one.
const MAX_ERRORS_PER_LIST: usize = 50;

/// One filename IOC.
#[derive(Debug, Clone)]
pub struct NameIoc {
    /// The regex as written.
    pub pattern: String,
    /// Score (signature-base: 0-100).
    pub score: u32,
    /// Paths matching this are false positives.
    pub false_positive: Option<Regex>,
    /// `list:line` where it was read.
    pub origin: String,
}

/// All lists, compiled once.
#[derive(Debug, Default)]
pub struct NameIocs {
    iocs: Vec<NameIoc>,
    set: Option<RegexSet>,
}

impl NameIocs {
    /// Number of IOCs loaded.
    pub fn len(&self) -> usize {
        self.iocs.len()
    }

    /// Parse and compile the files; errors name `file:line`.
    pub fn load(
        files: &[std::path::PathBuf],
        errors: &mut Vec<ItemError>,
    ) -> NameIocs {
        let mut iocs = Vec::new();
        for f in files {
            match std::fs::read(f) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let origin = f.display().to_string();
                    iocs.extend(parse(&text, &origin, errors));
                }
                Err(e) => errors.push(ItemError::new(
                    f.display().to_string(),
                    ItemErrorKind::Io,
                    format!("cannot read filename IOC list: {e}"),
                )),
            }
        }
        Self::compile(iocs, errors)
    }

    /// Compile parsed IOCs into one set.
    pub fn compile(
        iocs: Vec<NameIoc>,
        errors: &mut Vec<ItemError>,
    ) -> NameIocs {
        if iocs.is_empty() {
            return NameIocs::default();
        }
        let built = RegexSetBuilder::new(iocs.iter().map(|i| &i.pattern))
            .size_limit(SET_SIZE_LIMIT)
            .dfa_size_limit(SET_SIZE_LIMIT)
            .build();
        match built {
            Ok(set) => NameIocs { iocs, set: Some(set) },
            Err(e) => {
                errors.push(ItemError::new(
                    "filename IOCs",
                    ItemErrorKind::Limit,
                    format!("the IOC set does not compile as a whole: {e}"),
                ));
                NameIocs::default()
            }
        }
    }

    /// The IOCs that match `path`, minus their false positives.
    pub fn matches<'s>(&'s self, path: &str) -> Vec<&'s NameIoc> {
        let Some(set) = &self.set else { return Vec::new() };
        set.matches(path)
            .into_iter()
            .map(|i| &self.iocs[i])
            .filter(|ioc| {
                ioc.false_positive.as_ref().is_none_or(|fp| !fp.is_match(path))
            })
            .collect()
    }
}

/// Parse one list: each regex is checked alone, so that one bad line is
/// reported by number and does not spoil the set.
pub fn parse(
    text: &str,
    origin: &str,
    errors: &mut Vec<ItemError>,
) -> Vec<NameIoc> {
    let mut out = Vec::new();
    let mut bad = 0usize;
    let mut report = |at: String, msg: String| {
        bad += 1;
        if bad <= MAX_ERRORS_PER_LIST {
            errors.push(ItemError::new(at, ItemErrorKind::Parse, msg));
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r').trim_start_matches('\u{feff}');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let at = format!("{origin}:{}", i + 1);
        let mut fields = line.split(';');
        let pattern = fields.next().unwrap_or_default().to_string();
        let score = match fields.next().map(str::trim) {
            Some(s) => match s.parse::<u32>() {
                Ok(n) => n,
                Err(_) => {
                    report(at, format!("score is not a number: {}", clip(s)));
                    continue;
                }
            },
            None => {
                report(at, "missing ';SCORE' after the regex".into());
                continue;
            }
        };
        if let Err(e) = Regex::new(&pattern) {
            report(at, format!("regex does not compile: {}", one_line(&e)));
            continue;
        }
        let false_positive = match fields.next().filter(|s| !s.is_empty()) {
            Some(fp) => match Regex::new(fp) {
                Ok(r) => Some(r),
                Err(e) => {
                    report(
                        at,
                        format!(
                            "false-positive regex does not compile: {}",
                            one_line(&e)
                        ),
                    );
                    continue;
                }
            },
            None => None,
        };
        out.push(NameIoc { pattern, score, false_positive, origin: at });
    }
    if bad > MAX_ERRORS_PER_LIST {
        errors.push(ItemError::new(
            origin,
            ItemErrorKind::Parse,
            format!("{} more lines not loaded", bad - MAX_ERRORS_PER_LIST),
        ));
    }
    out
}

fn one_line(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text
        .lines()
        .map(str::trim)
        .rfind(|l| l.starts_with("error:"))
        .unwrap_or_else(|| text.lines().next().unwrap_or_default());
    last.to_string()
}
