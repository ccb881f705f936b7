//! What the evidence covers, as a responder means it: for each log
//! source, the days (UTC) for which records exist and the days missing
//! in between; for each CVE family, its exposure window and whether the
//! logs its rules read hold a record on every day of it.
//!
//! Test-ProxyLogon printed log age and drew no conclusion; vigie first
//! took "the earliest record is older than the window start" as
//! coverage, which one stray line dated 1970 satisfied. Now a family is
//! clean only when its sources cover every day of its window; record
//! times that cannot be true are left out (see [`days`]); holes inside a
//! source's span are findings of their own (`VG-LOG-001`), since wiping
//! logs is what intruders do.

pub mod days;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use vigie_model::hunt::{
    DayRange, ExposureWindow, LogSource, SourceCoverage, WindowEnd,
};
use vigie_model::{Family, Finding, Grade, Severity, SourceRef};

use days::DaySet;

/// Every log source, in report order.
pub const ALL_SOURCES: [LogSource; 8] = [
    LogSource::HttpProxy,
    LogSource::EcpServer,
    LogSource::OabGenerator,
    LogSource::Iis,
    LogSource::Evtx,
    LogSource::EventJson,
    LogSource::RpsHttp,
    LogSource::Cmdlet,
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
        LogSource::RpsHttp => "Exchange Rps_Http",
        LogSource::Cmdlet => "Exchange cmdlet logs",
    }
}

/// The first known exploitation of a family in the wild, where its
/// window starts (families judged on disk have none).
///
/// - ProxyLogon: Volexity saw exploitation from 3 January 2021; the
///   window starts on the 1st.
/// - ProxyShell: mass exploitation followed Orange Tsai's Black Hat talk
///   of 5 August 2021; the window starts on 1 August.
/// - ProxyNotShell/OWASSRF: GTSC met it in incidents from early August
///   2022; the window starts on 1 August.
/// - ProxyToken: made public by ZDI on 30 August 2021.
/// - OWASSRF: a bypass of the ProxyNotShell URL rewrite mitigation that
///   Microsoft published on 29 September 2022 (CrowdStrike, 20 December
///   2022, met it in Play ransomware intrusions); the window starts there.
pub fn first_exploitation(family: Family) -> Option<NaiveDate> {
    let (y, m, d) = match family {
        Family::ProxyLogon => (2021, 1, 1),
        Family::ProxyShell => (2021, 8, 1),
        Family::ProxyNotShell => (2022, 8, 1),
        Family::Owassrf => (2022, 9, 29),
        Family::ProxyToken => (2021, 8, 30),
        Family::PostExploitation | Family::Persistence | Family::Other => {
            return None;
        }
    };
    NaiveDate::from_ymd_opt(y, m, d)
}

/// The logs whose rules can see a family's exploitation. ProxyLogon's
/// SSRF shows in HttpProxy (and its IIS requests); ProxyShell and
/// ProxyToken only in IIS logs; the remote PowerShell chains of 2022 in
/// IIS, HttpProxy and the back end's Rps_Http log (a day counts if any
/// has it).
pub fn sources_for(family: Family) -> &'static [LogSource] {
    match family {
        Family::ProxyLogon => &[LogSource::HttpProxy, LogSource::Iis],
        Family::ProxyShell | Family::ProxyToken => &[LogSource::Iis],
        Family::ProxyNotShell | Family::Owassrf => {
            &[LogSource::HttpProxy, LogSource::Iis, LogSource::RpsHttp]
        }
        Family::PostExploitation | Family::Persistence | Family::Other => &[],
    }
}

/// What the windows are drawn from besides the logs.
#[derive(Debug, Clone, Default)]
pub struct WindowOptions {
    /// `--since`: every window starts here instead of at the family's
    /// first known exploitation.
    pub since: Option<NaiveDate>,
    /// The day the update fixing a family was installed, where known
    /// (read from the server's registry by the caller): its window ends
    /// there instead of at the last record.
    pub fixed_on: BTreeMap<Family, NaiveDate>,
}

/// Per-file coverage merged per source, with each source's days.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// One entry per source, in [`ALL_SOURCES`] order.
    pub sources: Vec<SourceCoverage>,
    /// The days of each source.
    pub days: BTreeMap<LogSource, DaySet>,
    /// The last day of the evidence (latest plausible record).
    pub last_day: Option<NaiveDate>,
    /// The options the windows follow.
    pub opts: WindowOptions,
}

/// One file's coverage and days.
pub struct FileCoverage {
    /// Counts and span.
    pub coverage: SourceCoverage,
    /// Days with plausibly dated records.
    pub days: DaySet,
}

/// Merge per-file coverage into one entry per source (every source is
/// listed, with zero files when none was found), then list each source's
/// gaps and whether it alone covers the widest window.
pub fn merge(
    per_file: impl IntoIterator<Item = FileCoverage>,
    opts: WindowOptions,
) -> Coverage {
    let mut sources: Vec<SourceCoverage> =
        ALL_SOURCES.iter().map(|&s| empty(s)).collect();
    let mut days: BTreeMap<LogSource, DaySet> = BTreeMap::new();
    for f in per_file {
        let c = f.coverage;
        let Some(m) = sources.iter_mut().find(|m| m.source == c.source) else {
            continue;
        };
        m.files += c.files;
        m.records += c.records;
        m.implausible += c.implausible;
        m.first = m.first.into_iter().chain(c.first).min();
        m.last = m.last.into_iter().chain(c.last).max();
        days.entry(c.source).or_default().union(&f.days);
    }
    let last_day = sources.iter().filter_map(|c| c.last).max();
    let mut cov = Coverage {
        sources,
        days,
        last_day: last_day.map(|t| t.date_naive()),
        opts,
    };
    let widest = cov.widest();
    for i in 0..cov.sources.len() {
        let source = cov.sources[i].source;
        let set = cov.days.get(&source).cloned().unwrap_or_default();
        let c = &mut cov.sources[i];
        c.days = set.len();
        c.gaps = match (set.span(), widest) {
            (Some((a, b)), Some((wa, wb))) if a.max(wa) <= b.min(wb) => {
                set.missing(a.max(wa), b.min(wb))
            }
            _ => Vec::new(),
        };
        c.covers_window = widest.is_some_and(|(wa, wb)| {
            wa <= wb && set.missing(wa, wb).is_empty()
        });
    }
    cov
}

/// Coverage of a source before any record is read.
pub(crate) fn empty(source: LogSource) -> SourceCoverage {
    SourceCoverage {
        source,
        files: 0,
        records: 0,
        first: None,
        last: None,
        days: 0,
        implausible: 0,
        gaps: Vec::new(),
        covers_window: false,
    }
}

impl Coverage {
    /// A family's exposure window and the days of it none of its sources
    /// holds; `None` for families judged on disk only.
    pub fn window(&self, family: Family) -> Option<ExposureWindow> {
        let start = first_exploitation(family)?;
        let from = self.opts.since.unwrap_or(start);
        let (to, ends) = match self.opts.fixed_on.get(&family) {
            Some(&d) => (Some(d), WindowEnd::FixInstalled),
            None => (self.last_day, WindowEnd::LastRecord),
        };
        let mut w =
            ExposureWindow { from, to, ends, days: 0, missing: Vec::new() };
        let Some(to) = to.filter(|&t| t >= from) else { return Some(w) };
        w.days = (to - from).num_days() as u64 + 1;
        let mut union = DaySet::default();
        for s in sources_for(family) {
            if let Some(d) = self.days.get(s) {
                union.union(d);
            }
        }
        w.missing = union.missing(from, to);
        Some(w)
    }

    /// The span of all log families' windows together.
    fn widest(&self) -> Option<(NaiveDate, NaiveDate)> {
        let ws: Vec<ExposureWindow> = [
            Family::ProxyLogon,
            Family::ProxyShell,
            Family::ProxyNotShell,
            Family::Owassrf,
            Family::ProxyToken,
        ]
        .into_iter()
        .filter_map(|f| self.window(f))
        .collect();
        let from = ws.iter().map(|w| w.from).min()?;
        let to = ws.iter().filter_map(|w| w.to).max()?;
        Some((from, to))
    }

    /// One `VG-LOG-001` finding per gap of each source (at most
    /// [`MAX_GAP_FINDINGS`] per source; all are listed in coverage).
    pub fn gap_findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for c in &self.sources {
            for g in c.gaps.iter().take(MAX_GAP_FINDINGS) {
                out.push(gap_finding(c.source, g));
            }
        }
        out
    }
}

/// Gap findings per source; a server with hundreds of holes says so in
/// its coverage without burying other findings.
pub const MAX_GAP_FINDINGS: usize = 20;

/// The log gap rule.
pub const GAP_RULE: &str = "VG-LOG-001";

fn gap_finding(source: LogSource, g: &DayRange) -> Finding {
    let name = label(source);
    let mut details = BTreeMap::new();
    details.insert("log_source".into(), name.to_string());
    details.insert("from".into(), g.from.to_string());
    details.insert("to".into(), g.to.to_string());
    details.insert("days".into(), g.days.to_string());
    details.insert(
        "last_day_before".into(),
        (g.from - Duration::days(1)).to_string(),
    );
    details.insert(
        "first_day_after".into(),
        (g.to + Duration::days(1)).to_string(),
    );
    let when = Utc
        .from_utc_datetime(&g.from.and_hms_opt(0, 0, 0).unwrap_or_default());
    Finding {
        rule_id: GAP_RULE.into(),
        title: "Log gap: days without records inside a log's span".into(),
        family: Family::Other,
        grade: Grade::Info,
        severity: Severity::Medium,
        cves: Vec::new(),
        attack: vec!["T1070.004".into()],
        timestamp: Some(when),
        source: SourceRef {
            path: format!("{name} logs"),
            line: None,
            record_id: None,
        },
        summary: format!(
            "no {name} records for {} day(s), {}..{}: logs deleted, \
             the server down, or not collected",
            g.days, g.from, g.to
        ),
        details,
    }
}

/// One sentence per source that does not cover the widest window, and
/// per source with implausibly dated records.
pub fn warnings(cov: &Coverage) -> Vec<String> {
    let has = |s: LogSource| {
        cov.sources.iter().any(|c| c.source == s && c.files > 0)
    };
    // JSON exports stand in for EVTX files: one missing is no news
    // when the other is there, and exports are never expected.
    let optional = |c: &SourceCoverage| {
        c.files == 0
            && (c.source == LogSource::EventJson
                || (c.source == LogSource::Evtx && has(LogSource::EventJson)))
    };
    let mut out = Vec::new();
    for c in &cov.sources {
        let name = label(c.source);
        if c.implausible > 0 {
            out.push(format!(
                "{name}: {} record(s) with an implausible time were ignored \
                 (listed in the errors)",
                c.implausible
            ));
        }
        if c.covers_window || optional(c) {
            continue;
        }
        let day = |d: Option<DateTime<Utc>>| {
            d.map_or("-".into(), |d| d.format("%Y-%m-%d").to_string())
        };
        out.push(match (c.files, c.days) {
            (0, _) => format!("{name}: no log files found"),
            (_, 0) => {
                format!("{name}: {} file(s) but no dated records", c.files)
            }
            _ if c.gaps.is_empty() => format!(
                "{name}: records only from {} to {}: the rest of the \
                 exposure window cannot be seen",
                day(c.first),
                day(c.last)
            ),
            _ => {
                let missing: u64 = c.gaps.iter().map(|g| g.days).sum();
                format!(
                    "{name}: {missing} day(s) without records in {} gap(s) \
                     between {} and {} (VG-LOG-001)",
                    c.gaps.len(),
                    day(c.first),
                    day(c.last)
                )
            }
        });
    }
    out
}

/// Days as `from..to` (one day: just the day).
pub fn show_range(r: &DayRange) -> String {
    if r.from == r.to {
        r.from.to_string()
    } else {
        format!("{}..{}", r.from, r.to)
    }
}

#[cfg(test)]
pub(crate) mod tests;
