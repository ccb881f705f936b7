use std::collections::BTreeMap;

use chrono::NaiveDate;
use vigie_model::hunt::LogSource;
use vigie_model::{Severity, SourceRef};

use super::*;
use crate::coverage::tests::file;
use crate::coverage::{FileCoverage, WindowOptions, merge};

fn f(rule: &str, family: Family, grade: Grade) -> Finding {
    Finding {
        rule_id: rule.into(),
        title: "t".into(),
        family,
        grade,
        severity: Severity::Info,
        cves: vec![],
        attack: vec![],
        timestamp: None,
        source: SourceRef::default(),
        summary: String::new(),
        details: BTreeMap::new(),
    }
}

/// `sources` each with a record on every day of 2020-12-01..2023-01-31.
fn covered(sources: &[LogSource]) -> Coverage {
    let files: Vec<FileCoverage> = sources
        .iter()
        .map(|&s| file(s, "2020-12-01", "2023-01-31", &[]))
        .collect();
    merge(files, WindowOptions::default())
}

fn ctx(cov: &Coverage, web: bool) -> Context<'_> {
    Context { coverage: cov, web_folders_seen: web, persistence_seen: &[] }
}

#[test]
fn no_findings_without_coverage_is_inconclusive_never_clean() {
    let cov = merge([], WindowOptions::default());
    let (v, fams) = judge(&[], &ctx(&cov, true));
    assert_eq!(v, Verdict::Inconclusive);
    assert_eq!(fams.len(), 6);
    assert!(fams[0].reason.contains("no log holds a dated record"));
    assert_eq!(fams[5].verdict, Verdict::Clean);
    assert!(fams[5].window.is_none());
}

#[test]
fn covering_logs_and_checked_web_folders_make_clean() {
    let cov = covered(&[LogSource::HttpProxy, LogSource::Iis]);
    let (v, fams) = judge(&[], &ctx(&cov, true));
    assert_eq!(v, Verdict::Clean, "{fams:#?}");
    assert!(fams.iter().all(|f| f.verdict == Verdict::Clean));
    assert!(fams[0].reason.contains("cover every day"), "{}", fams[0].reason);
    let (v, _) = judge(&[], &ctx(&cov, false));
    assert_eq!(v, Verdict::Inconclusive);
    // HttpProxy alone leaves the IIS-only families open.
    let cov = covered(&[LogSource::HttpProxy]);
    let (v, fams) = judge(&[], &ctx(&cov, true));
    assert_eq!(v, Verdict::Inconclusive);
    assert_eq!(fams[0].verdict, Verdict::Clean);
    assert_eq!(fams[1].verdict, Verdict::Inconclusive);
}

/// Defect 1 of issue 14: one day of logs and one line dated long before
/// must not make a family clean; a hole in the window keeps it open.
#[test]
fn a_false_clean_from_one_line_a_gap_keeps_the_family_open() {
    let late = file(LogSource::Iis, "2024-05-01", "2024-05-01", &[]);
    let cov = merge([late], WindowOptions::default());
    let (v, fams) = judge(&[], &ctx(&cov, true));
    assert_eq!(v, Verdict::Inconclusive);
    assert!(
        fams[1].reason.contains("have no IIS W3C log"),
        "{}",
        fams[1].reason
    );
    let holed =
        file(LogSource::Iis, "2020-12-01", "2023-01-31", &["2022-09-09"]);
    let cov = merge([holed], WindowOptions::default());
    let (_, fams) = judge(&[], &ctx(&cov, true));
    assert_eq!(fams[2].verdict, Verdict::Inconclusive);
    assert!(fams[2].reason.contains("2022-09-09"), "{}", fams[2].reason);
    let w = fams[2].window.as_ref().unwrap();
    assert_eq!(w.missing.len(), 1);
}

#[test]
fn a_fix_before_the_first_exploitation_leaves_no_window() {
    let iis = file(LogSource::Iis, "2023-01-01", "2023-01-31", &[]);
    let day = |s: &str| s.parse::<NaiveDate>().unwrap();
    let opts = WindowOptions {
        since: None,
        fixed_on: BTreeMap::from([(Family::ProxyNotShell, day("2022-07-01"))]),
    };
    let cov = merge([iis], opts);
    let (_, fams) = judge(&[], &ctx(&cov, true));
    assert_eq!(fams[2].verdict, Verdict::Clean, "{}", fams[2].reason);
    assert!(fams[2].reason.contains("before the window starts"));
    assert_eq!(fams[1].verdict, Verdict::Inconclusive);
}

#[test]
fn strongest_grade_per_family_and_overall() {
    let cov = merge([], WindowOptions::default());
    let findings = [
        f("VG-PL-001", Family::ProxyLogon, Grade::Probe),
        f("VG-PL-004", Family::ProxyLogon, Grade::Exploited),
        f("VG-IIS-002", Family::ProxyShell, Grade::Attempt),
        f("X", Family::Other, Grade::Info),
    ];
    let (v, fams) = judge(&findings, &ctx(&cov, true));
    assert_eq!(v, Verdict::Exploited);
    assert_eq!(fams[0].verdict, Verdict::Exploited);
    assert_eq!(fams[0].findings, [0, 1]);
    assert!(fams[0].reason.contains("VG-PL-004"));
    assert_eq!(fams[1].verdict, Verdict::Attempted);
    // Info-only families are judged as if quiet, the findings counted.
    assert_eq!(fams[6].family, Family::Other);
    assert_eq!(fams[6].findings, [3]);
    assert!(fams[6].reason.starts_with("1 informational"));
    // Persistence is listed only with findings or its evidence seen.
    assert!(fams.iter().all(|f| f.family != Family::Persistence));
    let probe = [f("VG-PL-001", Family::ProxyLogon, Grade::Probe)];
    assert_eq!(judge(&probe, &ctx(&cov, true)).0, Verdict::Probed);
    let shell = [f("VG-EV-002", Family::PostExploitation, Grade::Compromised)];
    assert_eq!(judge(&shell, &ctx(&cov, true)).0, Verdict::Compromised);
}

/// The Persistence family: listed once its evidence was read, clean
/// with what was read; compromised by its findings.
#[test]
fn persistence_is_listed_when_seen_or_found() {
    let cov = merge([], WindowOptions::default());
    let seen = vec!["1 cmdlet log file(s)".to_string()];
    let with = Context {
        coverage: &cov,
        web_folders_seen: true,
        persistence_seen: &seen,
    };
    let (_, fams) = judge(&[], &with);
    let p = fams.iter().find(|f| f.family == Family::Persistence).unwrap();
    assert_eq!(p.verdict, Verdict::Clean);
    assert!(p.reason.ends_with("1 cmdlet log file(s)"), "{}", p.reason);
    let rule = [f("VG-TA-002", Family::Persistence, Grade::Compromised)];
    let (v, fams) = judge(&rule, &ctx(&cov, true));
    assert_eq!(v, Verdict::Compromised);
    assert!(fams.iter().any(|f| f.family == Family::Persistence));
}

/// `hunt --sigma`: a high or critical Sigma match lifts a clean server
/// to suspicious, judges no family, and never overrides what vigie's own
/// rules decide.
#[test]
fn sigma_matches_make_suspicious_and_never_more() {
    let cov = covered(&[LogSource::HttpProxy, LogSource::Iis]);
    let sigma = |sev: Severity| Finding {
        severity: sev,
        ..f("SIGMA-1", Family::Other, Grade::Info)
    };
    let (v, fams) = judge(&[sigma(Severity::Critical)], &ctx(&cov, true));
    assert_eq!(v, Verdict::Suspicious);
    assert!(fams.iter().all(|f| f.verdict == Verdict::Clean), "{fams:#?}");
    assert!(fams.iter().all(|f| f.family != Family::Other));
    let (v, _) = judge(&[sigma(Severity::Medium)], &ctx(&cov, true));
    assert_eq!(v, Verdict::Clean);
    let probe = f("VG-X", Family::ProxyShell, Grade::Probe);
    let (v, _) = judge(&[sigma(Severity::High), probe], &ctx(&cov, true));
    assert_eq!(v, Verdict::Probed);
}
