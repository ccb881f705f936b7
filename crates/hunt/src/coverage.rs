//! How far back the evidence sees: per-file coverage merged per log
//! source, and the warnings a responder needs ("HttpProxy logs start in
//! 2024: the exposure window is not covered").
//!
//! Test-ProxyLogon printed log age and drew no conclusion; here coverage
//! decides whether "no findings" may be called clean.

use chrono::{DateTime, Utc};
use vigie_model::hunt::{LogSource, SourceCoverage};

/// Every log source, in report order.
pub const ALL_SOURCES: [LogSource; 6] = [
    LogSource::HttpProxy,
    LogSource::EcpServer,
    LogSource::OabGenerator,
    LogSource::Iis,
    LogSource::Evtx,
    LogSource::EventJson,
];

/// Human name of a source.
pub fn label(source: LogSource) -> &'static str {
    match source {
        LogSource::HttpProxy => "Exchange HttpProxy",
        LogSource::EcpServer => "Exchange ECP server",
        LogSource::OabGenerator => "Exchange OABGenerator",
        LogSource::Iis => "IIS W3C",
        LogSource::Evtx => "Windows event logs (EVTX)",
        LogSource::EventJson => "Event exports (JSON)",
    }
}

/// Merge per-file coverage into one entry per source (every source is
/// listed, with zero files when none was found). A source covers the
/// window when its earliest record is on or before `window`.
pub fn merge(
    per_file: impl IntoIterator<Item = SourceCoverage>,
    window: DateTime<Utc>,
) -> Vec<SourceCoverage> {
    let mut out: Vec<SourceCoverage> = ALL_SOURCES
        .iter()
        .map(|&source| SourceCoverage {
            source,
            files: 0,
            records: 0,
            first: None,
            last: None,
            covers_window: false,
        })
        .collect();
    for c in per_file {
        let Some(m) = out.iter_mut().find(|m| m.source == c.source) else {
            continue;
        };
        m.files += c.files;
        m.records += c.records;
        m.first = min_opt(m.first, c.first);
        m.last = max_opt(m.last, c.last);
    }
    for m in &mut out {
        m.covers_window = m.first.is_some_and(|f| f <= window);
    }
    out
}

fn min_opt(
    a: Option<DateTime<Utc>>,
    b: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(
    a: Option<DateTime<Utc>>,
    b: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Whether any of `sources` reaches back to the window.
pub fn any_covers(cov: &[SourceCoverage], sources: &[LogSource]) -> bool {
    cov.iter().any(|c| sources.contains(&c.source) && c.covers_window)
}

/// One sentence per source that does not cover the window.
pub fn warnings(cov: &[SourceCoverage], window: DateTime<Utc>) -> Vec<String> {
    let day = window.format("%Y-%m-%d");
    let has = |s: LogSource| cov.iter().any(|c| c.source == s && c.files > 0);
    // JSON exports stand in for EVTX files: one missing is no news
    // when the other is there, and exports are never expected.
    let optional = |c: &SourceCoverage| {
        c.files == 0
            && (c.source == LogSource::EventJson
                || (c.source == LogSource::Evtx && has(LogSource::EventJson)))
    };
    cov.iter()
        .filter(|c| !c.covers_window && !optional(c))
        .map(|c| {
            let name = label(c.source);
            match (c.files, c.first) {
                (0, _) => format!("{name}: no log files found"),
                (_, None) => {
                    format!("{name}: {} file(s) but no dated records", c.files)
                }
                (_, Some(first)) => format!(
                    "{name}: records start {}, after the window start \
                     {day}: earlier activity cannot be seen",
                    first.format("%Y-%m-%d")
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    fn file(
        source: LogSource,
        first: Option<DateTime<Utc>>,
        last: Option<DateTime<Utc>>,
    ) -> SourceCoverage {
        SourceCoverage {
            source,
            files: 1,
            records: 10,
            first,
            last,
            covers_window: false,
        }
    }

    #[test]
    fn files_merge_per_source_with_widest_span() {
        let w = t(2021, 1, 1);
        let cov = merge(
            [
                file(LogSource::Iis, Some(t(2021, 3, 1)), Some(t(2021, 3, 2))),
                file(LogSource::Iis, Some(t(2020, 6, 1)), Some(t(2020, 7, 1))),
                file(LogSource::Iis, None, None),
                file(LogSource::HttpProxy, Some(t(2024, 1, 1)), None),
            ],
            w,
        );
        assert_eq!(cov.len(), 6);
        let iis = cov.iter().find(|c| c.source == LogSource::Iis).unwrap();
        assert_eq!((iis.files, iis.records), (3, 30));
        assert_eq!(iis.first, Some(t(2020, 6, 1)));
        assert_eq!(iis.last, Some(t(2021, 3, 2)));
        assert!(iis.covers_window);
        assert!(any_covers(&cov, &[LogSource::Iis]));
        assert!(!any_covers(&cov, &[LogSource::HttpProxy]));
        let warn = warnings(&cov, w);
        // The missing JSON exports are not worth a warning.
        assert_eq!(warn.len(), 4);
        assert!(warn[0].contains("2024-01-01"), "{warn:?}");
        assert!(warn[1].contains("no log files"));
    }
}
