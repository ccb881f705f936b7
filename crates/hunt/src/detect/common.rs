//! Shared plumbing of the log detectors: reading lines, coverage, and
//! building findings.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};
use vigie_logs::{LineEvent, LineReader};
use vigie_model::hunt::{LogSource, SourceCoverage};
use vigie_model::{
    Family, Finding, Grade, ItemError, ItemErrorKind, Severity, SourceRef,
};

use super::{LogScanOptions, LogScanResult, window_start};

/// A rule's fixed description.
pub struct Rule {
    /// Stable id, e.g. `VG-PL-001`.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// Family.
    pub family: Family,
    /// CVEs.
    pub cves: &'static [&'static str],
    /// ATT&CK technique ids.
    pub attack: &'static [&'static str],
}

/// One file being scanned.
pub struct Scan {
    pub path: String,
    path_buf: std::path::PathBuf,
    pub coverage: SourceCoverage,
    pub findings: Vec<Finding>,
    pub errors: Vec<ItemError>,
}

impl Scan {
    pub fn new(path: &Path, source: LogSource) -> Self {
        Scan {
            path: path.display().to_string(),
            path_buf: path.to_path_buf(),
            coverage: SourceCoverage {
                source,
                files: 1,
                records: 0,
                first: None,
                last: None,
                covers_window: false,
            },
            findings: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Call `f` with each line (number, text); errors are recorded.
    pub fn lines(&mut self, mut f: impl FnMut(&mut Scan, u64, &str)) {
        let file = match File::open(&self.path_buf) {
            Ok(f) => f,
            Err(e) => {
                self.error(ItemErrorKind::Io, format!("cannot open: {e}"));
                return;
            }
        };
        let reader = LineReader::new(BufReader::with_capacity(1 << 16, file));
        for ev in reader {
            match ev {
                LineEvent::Line(l) => f(self, l.number, &l.text),
                LineEvent::TooLong(n) => self.error(
                    ItemErrorKind::Limit,
                    format!("line {n} longer than the line cap, skipped"),
                ),
                LineEvent::Error(e) => {
                    self.error(ItemErrorKind::Io, format!("read error: {e}"))
                }
            }
        }
    }

    pub fn error(&mut self, kind: ItemErrorKind, msg: String) {
        // Cap repeated errors so a binary file does not flood the report.
        if self.errors.len() < 20 {
            self.errors.push(ItemError::new(self.path.clone(), kind, msg));
        }
    }

    /// Count a record and widen the time span.
    pub fn record(&mut self, ts: Option<DateTime<Utc>>) {
        self.coverage.records += 1;
        if let Some(t) = ts {
            let c = &mut self.coverage;
            c.first = Some(c.first.map_or(t, |f| f.min(t)));
            c.last = Some(c.last.map_or(t, |l| l.max(t)));
        }
    }

    /// Whether a record's time falls inside the requested window.
    pub fn in_window(
        opts: &LogScanOptions,
        ts: Option<DateTime<Utc>>,
    ) -> bool {
        let Some(t) = ts else { return true };
        opts.since.is_none_or(|s| t >= s) && opts.until.is_none_or(|u| t <= u)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        rule: &Rule,
        grade: Grade,
        line: u64,
        ts: Option<DateTime<Utc>>,
        summary: String,
        details: BTreeMap<String, String>,
    ) {
        self.findings.push(Finding {
            rule_id: rule.id.to_string(),
            title: rule.title.to_string(),
            family: rule.family,
            grade,
            severity: severity_of(grade),
            cves: rule.cves.iter().map(|s| s.to_string()).collect(),
            attack: rule.attack.iter().map(|s| s.to_string()).collect(),
            timestamp: ts,
            source: SourceRef {
                path: self.path.clone(),
                line: Some(line),
                record_id: None,
            },
            summary,
            details,
        });
    }

    pub fn finish(mut self) -> LogScanResult {
        self.coverage.covers_window =
            self.coverage.first.is_some_and(|f| f <= window_start());
        LogScanResult {
            findings: self.findings,
            coverage: self.coverage,
            errors: self.errors,
        }
    }
}

/// Severity follows grade: a probe is low, a success is high.
pub fn severity_of(grade: Grade) -> Severity {
    match grade {
        Grade::Info => Severity::Info,
        Grade::Probe => Severity::Low,
        Grade::Attempt => Severity::Medium,
        Grade::Exploited => Severity::High,
        Grade::Compromised => Severity::Critical,
    }
}

/// Parse `2021-03-03T07:25:46.123Z` or `2021-03-03 07:25:46` as UTC.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let s = s.trim_end_matches('Z');
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| n.and_utc())
}
