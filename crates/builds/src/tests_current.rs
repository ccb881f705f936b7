//! The table as it is in 2026 (issue 9): a 2024 build is vulnerable, the
//! June-August 2026 updates and their CVEs are present, ESU-only updates
//! are named, configuration needs are said, stale tables warn, and bad
//! `--builds`/`--cves` rows are reported by file and line.

use chrono::NaiveDate;
use vigie_model::build::{CveState, PatchAssessment, SupportState};

use crate::Table;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn assess(build: &str, as_of: &str) -> PatchAssessment {
    Table::embedded().assess(build, date(as_of)).unwrap()
}

fn status<'a>(
    a: &'a PatchAssessment,
    cve: &str,
) -> &'a vigie_model::build::CveStatus {
    a.cves.iter().find(|c| c.cve == cve).unwrap_or_else(|| panic!("{cve}"))
}

/// The defect of issue 9: `vigie check 15.2.1544.4` said "patched" in
/// November 2026.
#[test]
fn exchange_2019_cu14_without_updates_is_vulnerable_in_2026() {
    let a = assess("15.2.1544.4", "2026-11-27");
    let open: Vec<&str> = a.open_cves().map(|c| c.cve.as_str()).collect();
    assert!(open.len() > 30, "{open:?}");
    for cve in ["CVE-2026-42897", "CVE-2025-59249", "CVE-2024-26198"] {
        assert!(open.contains(&cve), "{cve} not open");
    }
    // Known exploited first, then by CVSS.
    let first = a.open_cves().next().unwrap();
    assert!(first.known_exploited, "{}", first.cve);
    let scores: Vec<f32> = a
        .open_cves()
        .filter(|c| !c.known_exploited)
        .filter_map(|c| c.cvss)
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert_eq!(a.support, SupportState::ProductEndOfLife);
    assert_eq!(a.latest_update.as_deref(), Some("Aug26SU (ESU-only)"));
    assert!(a.freshness.as_deref().unwrap().contains("--cves"));
    let steps: Vec<&str> =
        a.upgrade_path.iter().map(|s| s.action.as_str()).collect();
    assert!(steps[0].starts_with("install Aug26SU (ESU-only"), "{steps:?}");
    assert!(
        steps[1].starts_with("or, without ESU: migrate to Exchange Server SE")
    );
    assert_eq!(a.upgrade_path[0].closes, open.len());
}

#[test]
fn june_july_august_2026_cves_are_present_with_builds_and_kev() {
    let t = Table::embedded();
    let jun = ["CVE-2026-42897", "CVE-2026-45500", "CVE-2026-47631"];
    let jul = ["CVE-2026-55005", "CVE-2026-55009"];
    let aug = ["CVE-2026-62910", "CVE-2026-65813", "CVE-2026-62915"];
    let cases = [
        (&jun[..], "15.2.2562.41", "15.2.2562.43", "15.2.1748.46"),
        (&jul[..], "15.2.2562.43", "15.2.2562.45", "15.2.1748.48"),
        (&aug[..], "15.2.2562.45", "15.2.2562.46", "15.2.1748.49"),
    ];
    for (cves, before, fixed, cu15) in cases {
        let a = t.assess(before, date("2026-11-27")).unwrap();
        let b = t.assess(fixed, date("2026-11-27")).unwrap();
        for cve in cves {
            assert_eq!(status(&a, cve).state, CveState::Vulnerable, "{cve}");
            assert_ne!(status(&b, cve).state, CveState::Vulnerable, "{cve}");
        }
        let c = t.assess(cu15, date("2026-11-27")).unwrap();
        assert_eq!(
            status(&c, cves[0]).fixed_in.as_deref(),
            Some(&*format!("{cu15} (ESU-only)"))
        );
    }
    let a = assess("15.2.2562.37", "2026-11-27");
    assert!(status(&a, "CVE-2026-42897").known_exploited);
    assert!(!status(&a, "CVE-2026-62910").known_exploited);
    // Before its fix shipped, the mitigation is what protects.
    let note = status(&a, "CVE-2026-42897").config_note.clone().unwrap();
    assert!(note.contains("M2.1.0"), "{note}");
}

#[test]
fn fixed_builds_say_which_configuration_the_fix_needs() {
    let a = assess("15.1.2507.72", "2026-11-27");
    assert_eq!(a.open_cves().count(), 0);
    for (cve, word) in [
        ("CVE-2026-42897", "mitigation"),
        ("CVE-2024-49040", "AddP2FromRegexMatchHeader"),
        ("CVE-2025-59248", "BlockEmailWithMultipleP2FromHeaders"),
        ("CVE-2025-53786", "hybrid"),
        ("CVE-2022-24516", "Extended Protection"),
        ("CVE-2023-36439", "Serialized data signing"),
        ("CVE-2021-34470", "schema"),
    ] {
        let c = status(&a, cve);
        assert_eq!(c.state, CveState::PatchedConfigNeeded, "{cve}");
        let note = c.config_note.as_deref().unwrap();
        assert!(
            note.contains(word) && note.contains("confirm"),
            "{cve}: {note}"
        );
    }
    assert_eq!(a.latest_su_installed, Some(true));
    assert!(
        a.upgrade_path
            .iter()
            .any(|s| s.action.contains("migrate to Exchange Server SE"))
    );
}

#[test]
fn judging_within_sixty_days_of_the_table_has_no_freshness_warning() {
    let t = Table::embedded();
    assert!(t.freshness(t.as_of()).is_none());
    let late = t.as_of() + chrono::Days::new(61);
    assert!(t.freshness(late).unwrap().contains("--builds"));
}

#[test]
fn every_cve_has_a_family_that_is_not_other() {
    let a = assess("15.2.1544.4", "2026-11-27");
    assert!(
        a.cves.iter().all(|c| c.family != "Other" && !c.family.is_empty())
    );
}

const HEADER: &str = "cve,fixed_in,name,cvss,known_exploited,published\n";

// The CVE ids below are hypothetical (CVE-2099-*): a `--cves` file for an
// update newer than the table, not a real CVE.

#[test]
fn cves_file_rows_load_and_bad_rows_name_their_line() {
    let text = format!(
        "{HEADER}\
         CVE-2099-0001,15.2.2562.46,Test RCE,8.8,true,2026-10-13\n\
         CVE-2099-0001,15.2.2562.46,,,,\n\
         CVE-26-1,15.2.2562.46,,,,\n\
         CVE-2099-0002,15.2.x,,,,2026-10-13\n\
         CVE-2099-0003,15.2.2562.99,,,,2026-10-13\n\
         CVE-2099-0004,15.2.2562.46,,,,\n"
    );
    let t = Table::embedded();
    let loaded = t.with_cves("new.csv", &text).unwrap();
    let lines: Vec<u64> = loaded.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7], "{:?}", loaded.errors);
    let msg: Vec<String> =
        loaded.errors.iter().map(|e| e.to_string()).collect();
    assert!(msg[0].starts_with("new.csv line 3: duplicate row"), "{msg:?}");
    assert!(msg[1].contains("unknown CVE id"));
    assert!(msg[2].contains("bad build"));
    assert!(msg[3].contains("not a build of the table"));
    assert!(msg[4].contains("needs `published`"));
    let a = loaded.table.assess("15.2.2562.45", date("2026-11-27")).unwrap();
    let c = status(&a, "CVE-2099-0001");
    assert_eq!(c.state, CveState::Vulnerable);
    assert!(c.known_exploited);
    assert_eq!(loaded.table.as_of(), date("2026-10-13"));
}

#[test]
fn cves_file_without_required_columns_is_refused_with_its_name() {
    let err = Table::embedded().with_cves("x.csv", "cve,name\n").unwrap_err();
    assert_eq!(err.to_string(), "x.csv line 1: missing column(s): fixed_in");
}

#[test]
fn builds_file_bad_rows_are_skipped_and_named() {
    let embedded = include_str!("../data/builds.csv");
    let first = embedded.lines().count() as u64 + 1;
    // A hypothetical SE update newer than the table (no such build is
    // known), then four bad rows.
    let text = format!(
        "{embedded}\
         Exchange Server SE,RTM Oct26SU,15.2.2562.99,15.2.2562,2026-10-13,SU\n\
         Exchange Server 2019,CU15 X,15.2.1748.x,15.2.1748,2025-02-10,SU\n\
         Exchange Server 2019,CU15,15.2.1748.10,15.2.1748,2025-02-10,CU\n\
         Exchange Server 2019,CU15 Y,15.2.1748.60,15.2.1748,2025-13-40,SU\n\
         Exchange Server 2019\n"
    );
    let loaded = Table::load_builds("b.csv", &text).unwrap();
    let lines: Vec<u64> = loaded.errors.iter().map(|e| e.line).collect();
    assert_eq!(
        lines,
        [first + 1, first + 2, first + 3, first + 4],
        "{:?}",
        loaded.errors
    );
    assert!(loaded.errors.iter().all(|e| e.file == "b.csv"));
    assert!(loaded.errors[0].message.contains("bad build"));
    assert!(loaded.errors[1].message.contains("duplicate"));
    assert!(loaded.errors[2].message.contains("bad date"));
    // The good new row loads: the hypothetical SE update is the newest.
    assert_eq!(loaded.table.rows().len(), 330);
    assert_eq!(loaded.table.as_of(), date("2026-10-13"));
    let err = Table::load_builds("b.csv", "product,build\n").unwrap_err();
    assert!(err.message.contains("missing column(s): version_name"), "{err}");
}
