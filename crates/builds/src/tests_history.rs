//! The CVEs of the security-bulletin era (issue 9): Exchange 2010 SP3,
//! 2013 and 2016 flaws fixed from MS13-061 to the December 2017 updates,
//! and CVE-2018-8581 (PrivExchange). Before these were in the table an
//! Exchange 2013 CU7 or a 2010 SP3 RU1 was judged free of every flaw fixed
//! in its first years. Also guards `data/tools/unknowns.txt`, which the
//! data README quotes: it must list exactly the facts the table lacks.

use chrono::NaiveDate;
use vigie_model::build::{CveState, PatchAssessment};

use crate::Table;

fn assess(build: &str, as_of: &str) -> PatchAssessment {
    let day = NaiveDate::parse_from_str(as_of, "%Y-%m-%d").unwrap();
    Table::embedded().assess(build, day).unwrap()
}

fn state(a: &PatchAssessment, cve: &str) -> CveState {
    a.cves
        .iter()
        .find(|c| c.cve == cve)
        .unwrap_or_else(|| panic!("{cve} missing for {}", a.input))
        .state
}

/// A bulletin's fix reaches a CU line only through the next CU (the
/// security updates of that era are not in Microsoft's build list), and
/// 2010 SP3 through the rollup that carried it.
#[test]
fn bulletin_era_cves_are_judged_by_cu_and_rollup() {
    use CveState::{NotAffected, Patched, Vulnerable};
    let cases = [
        // MS15-026: 2013 SP1 and CU7 affected, CU8 ships the fix.
        ("15.0.1044.25", "CVE-2015-1628", Vulnerable),
        ("15.0.847.32", "CVE-2015-1628", Vulnerable),
        ("15.0.1076.9", "CVE-2015-1628", Patched),
        // MS13-105: 2010 SP3 fixed by RU4, 2013 by SP1 (CU4).
        ("14.3.146.0", "CVE-2013-5072", Vulnerable),
        ("14.3.174.1", "CVE-2013-5072", Patched),
        ("15.0.775.38", "CVE-2013-5072", Vulnerable),
        ("15.0.847.32", "CVE-2013-5072", Patched),
        // MS16-010: CVE-2016-0029 is an Exchange 2016 RTM flaw only.
        ("15.1.225.42", "CVE-2016-0029", Vulnerable),
        ("15.1.396.30", "CVE-2016-0029", Patched),
        ("15.0.1130.7", "CVE-2016-0029", NotAffected),
        // MS16-108 (Oracle Outside In): 2010 RU15, 2013 CU14, 2016 CU3.
        ("14.3.301.0", "CVE-2016-3575", Vulnerable),
        ("14.3.319.2", "CVE-2016-3575", Patched),
        ("15.0.1210.3", "CVE-2016-3575", Vulnerable),
        ("15.0.1236.3", "CVE-2016-3575", Patched),
        ("15.1.466.34", "CVE-2016-3575", Vulnerable),
        ("15.1.544.27", "CVE-2016-3575", Patched),
        // July 2017: 2010 SP3 RU18 carries the fix.
        ("14.3.352.0", "CVE-2017-8621", Vulnerable),
        ("14.3.361.1", "CVE-2017-8621", Patched),
    ];
    for (build, cve, want) in cases {
        let a = assess(build, "2026-08-20");
        assert_eq!(state(&a, cve), want, "{build} {cve}");
    }
}

/// A CVE is not reported before its bulletin: a 2013 CU7 judged on
/// 2015-01-01 has no MS15-026 CVE yet.
#[test]
fn bulletin_era_cves_wait_for_their_publication() {
    let a = assess("15.0.1044.25", "2015-01-01");
    assert!(a.cves.iter().all(|c| c.cve != "CVE-2015-1628"));
    let a = assess("15.0.1044.25", "2015-03-10");
    assert_eq!(state(&a, "CVE-2015-1628"), CveState::Vulnerable);
}

/// CVE-2018-8581 (PrivExchange, in CISA KEV) was left out of the table:
/// it is closed by the February 2019 updates' EWS change.
#[test]
fn privexchange_is_known_exploited_and_fixed_in_february_2019() {
    let a = assess("15.2.221.12", "2026-08-20");
    let c = a.cves.iter().find(|c| c.cve == "CVE-2018-8581").unwrap();
    assert_eq!(c.state, CveState::Vulnerable);
    assert!(c.known_exploited);
    assert_eq!(c.cvss, Some(7.4));
    let a = assess("15.2.330.5", "2026-08-20");
    assert_eq!(state(&a, "CVE-2018-8581"), CveState::Patched);
    let a = assess("14.3.435.0", "2026-08-20");
    assert_eq!(state(&a, "CVE-2018-8581"), CveState::Vulnerable);
    let a = assess("14.3.442.0", "2026-08-20");
    assert_eq!(state(&a, "CVE-2018-8581"), CveState::Patched);
}

/// `unknowns.txt` lists exactly the CVEs without CVSS and those whose
/// impact is not recorded.
#[test]
fn unknowns_list_matches_the_table() {
    let text = include_str!("../data/tools/unknowns.txt");
    let mut listed_cvss = Vec::new();
    let mut listed_impact = Vec::new();
    for line in text.lines() {
        match line.split_once(' ') {
            Some((id, "cvss")) => listed_cvss.push(id.to_string()),
            Some((id, "impact/title")) => listed_impact.push(id.to_string()),
            _ => assert!(line.contains(" left out: "), "{line}"),
        }
    }
    let t = Table::embedded();
    let no_cvss: Vec<String> = t
        .cves
        .iter()
        .filter(|c| c.cvss.is_none())
        .map(|c| c.cve.clone())
        .collect();
    let no_impact: Vec<String> = t
        .cves
        .iter()
        .filter(|c| c.family == "Impact not recorded")
        .map(|c| c.cve.clone())
        .collect();
    listed_cvss.sort();
    listed_impact.sort();
    let (mut no_cvss, mut no_impact) = (no_cvss, no_impact);
    no_cvss.sort();
    no_impact.sort();
    assert_eq!(listed_cvss, no_cvss);
    assert_eq!(listed_impact, no_impact);
    assert!(no_impact.is_empty(), "{no_impact:?}");
}
