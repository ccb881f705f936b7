//! Table-level tests: every row classifies to itself, and the verdicts
//! named in the reference notes (ProxyLogon builds from Microsoft's nmap
//! script, HealthChecker's wrong CU8/CU9 Mar21SU builds, CU9 `858.2`,
//! 2010 rollups, RTM builds, builds past the table).

use chrono::NaiveDate;
use vigie_model::build::{CveState, PatchAssessment, Precision, SupportState};

use crate::Table;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn assess(build: &str, as_of: &str) -> PatchAssessment {
    Table::embedded().assess(build, date(as_of)).unwrap()
}

fn state(a: &PatchAssessment, cve: &str) -> CveState {
    a.cves
        .iter()
        .find(|c| c.cve == cve)
        .unwrap_or_else(|| panic!("{cve} missing for {}", a.input))
        .state
}

#[test]
fn embedded_table_loads_and_has_every_product() {
    let t = Table::embedded();
    assert_eq!(t.rows().len(), 329);
    assert!(t.rows().iter().any(|r| r.esu_only && r.name == "CU23 Aug26SU"));
    assert_eq!(t.as_of(), date("2026-08-20"));
    for p in ["2010", "2013", "2016", "2019", "SE"] {
        let name = format!("Exchange Server {p}");
        assert!(t.rows().iter().any(|r| r.product == name), "{p}");
    }
}

#[test]
fn every_row_classifies_to_itself() {
    let t = Table::embedded();
    for row in t.rows() {
        let a = t.assess(&row.build, t.as_of()).unwrap();
        assert_eq!(a.product.as_deref(), Some(row.product.as_str()));
        assert_eq!(a.precision, Precision::Exact, "{}", row.build);
        assert_eq!(a.release_date, Some(row.release_date), "{}", row.build);
        let name = match &a.su {
            Some(su) => format!("{} {su}", a.cu.as_deref().unwrap()),
            None => a.cu.clone().unwrap(),
        };
        assert_eq!(name, row.name, "{}", row.build);
        // Padded form and AdminDisplayVersion form agree.
        let parts: Vec<&str> = row.build.split('.').collect();
        let padded = format!(
            "{}.{:0>2}.{:0>4}.{:0>3}",
            parts[0], parts[1], parts[2], parts[3]
        );
        let b = t.assess(&padded, t.as_of()).unwrap();
        assert_eq!((b.cu, b.su), (a.cu, a.su), "{padded}");
    }
}

/// Fixed builds from Microsoft's `http-vuln-cve2021-26855.nse`
/// description (css-exchange.md §2), plus the Mar21SU builds of old CUs.
#[test]
fn proxylogon_verdicts_match_microsofts_fixed_builds() {
    let cases = [
        ("15.0.1497.12", CveState::Patched),
        ("15.0.1497.10", CveState::Vulnerable),
        ("15.1.2106.13", CveState::Patched),
        ("15.1.2106.2", CveState::Vulnerable),
        ("15.1.2176.9", CveState::Patched),
        ("15.1.2176.2", CveState::Vulnerable),
        ("15.2.721.13", CveState::Patched),
        ("15.2.721.2", CveState::Vulnerable),
        ("15.2.792.10", CveState::Patched),
        ("15.2.792.3", CveState::Vulnerable),
        // Mar21SU for out-of-support CUs (KB5000871).
        ("15.1.1415.10", CveState::Patched),
        ("15.1.1466.16", CveState::Patched),
        ("15.1.1913.12", CveState::Patched),
        ("15.1.1913.10", CveState::Vulnerable),
        ("15.2.221.18", CveState::Patched),
        ("15.2.221.12", CveState::Vulnerable),
        ("15.0.847.64", CveState::Patched),
        ("15.0.1395.12", CveState::Patched),
        // CUs too old to get Mar21SU, and the first CUs with the fix.
        ("15.1.1261.35", CveState::Vulnerable),
        ("15.0.1367.3", CveState::Vulnerable),
        ("15.1.2242.4", CveState::Patched),
        ("15.2.858.5", CveState::Patched),
        // Exchange 2010 is not affected by the SSRF.
        ("14.3.496.0", CveState::NotAffected),
    ];
    for (build, want) in cases {
        let a = assess(build, "2021-03-20");
        assert_eq!(state(&a, "CVE-2021-26855"), want, "{build}");
    }
}

#[test]
fn mar21su_on_old_cu_fixes_proxylogon_but_not_older_cves() {
    let a = assess("15.1.1415.10", "2021-03-20");
    assert_eq!(state(&a, "CVE-2021-26855"), CveState::Patched);
    assert_eq!(state(&a, "CVE-2020-0688"), CveState::Vulnerable);
    assert_eq!(a.support, SupportState::CuUnsupported);
    let steps: Vec<&str> =
        a.upgrade_path.iter().map(|s| s.action.as_str()).collect();
    // CU20 (2021-03-16) is the newest CU on that date and carries the fix.
    assert_eq!(steps, ["install CU20"]);
    assert_eq!(a.upgrade_path[0].build, "15.1.2242.4");
    let a = assess("15.1.1415.10", "2021-03-10");
    let steps: Vec<&str> =
        a.upgrade_path.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(steps, ["install CU19", "install Mar21SU"]);
    assert_eq!(a.upgrade_path[1].build, "15.1.2176.9");
}

#[test]
fn healthchecker_wrong_mar21su_builds_are_not_taken_as_mar21su() {
    for (build, real) in [("15.1.1415.8", "10"), ("15.1.1466.13", "16")] {
        let a = assess(build, "2021-03-20");
        assert_eq!(a.su, None, "{build}");
        assert!(a.match_note.contains("HealthChecker"), "{build}");
        assert!(a.match_note.contains(real));
        assert_eq!(state(&a, "CVE-2021-26855"), CveState::Vulnerable);
    }
}

#[test]
fn cu9_owa_revision_858_2_is_cu9_with_unknown_su() {
    let a = assess("15.2.858.2", "2021-06-01");
    assert_eq!(a.cu.as_deref(), Some("CU9"));
    assert_eq!(a.precision, Precision::CuOnly);
    assert!(a.match_note.contains("396"));
    // CU9 itself carries the ProxyLogon fix; Apr21SU fixes are unknown.
    assert_eq!(state(&a, "CVE-2021-26855"), CveState::Patched);
    assert_eq!(state(&a, "CVE-2021-28480"), CveState::Unknown);
}

#[test]
fn cu_only_builds_never_claim_su_fixed_cves() {
    let a = assess("15.1.2176", "2021-03-20");
    assert_eq!(a.precision, Precision::CuOnly);
    assert_eq!(a.cu.as_deref(), Some("CU19"));
    assert_eq!(state(&a, "CVE-2021-26855"), CveState::Unknown);
    assert_eq!(a.latest_su_installed, None);
    // An old CU that never got the fix is vulnerable whatever its SU.
    let a = assess("15.1.1261", "2021-03-20");
    assert_eq!(state(&a, "CVE-2021-26855"), CveState::Vulnerable);
}

#[test]
fn exchange_2010_rollups() {
    let a = assess("14.3.513.0", "2021-03-20");
    assert_eq!(a.cu.as_deref(), Some("SP3 RU32"));
    assert_eq!(state(&a, "CVE-2021-26857"), CveState::Patched);
    assert_eq!(state(&a, "CVE-2021-26855"), CveState::NotAffected);
    assert_eq!(a.support, SupportState::ProductEndOfLife);
    let a = assess("14.3.509.0", "2021-03-20");
    assert_eq!(state(&a, "CVE-2021-26857"), CveState::Vulnerable);
    assert_eq!(state(&a, "CVE-2020-0688"), CveState::Patched);
    assert_eq!(a.latest_su_installed, Some(false));
    assert_eq!(a.upgrade_path[0].action, "install SP3 RU32");
    // Get-ExchangeBuildNumber's RU16 number is the same rollup.
    let a = assess("14.3.339.0", "2021-03-20");
    assert_eq!(a.cu.as_deref(), Some("SP3 RU16"));
}

#[test]
fn rtm_builds_are_named_rtm() {
    for (build, name) in [
        ("15.1.225.42", "RTM"),
        ("15.0.516.32", "RTM"),
        ("15.2.221.12", "RTM"),
    ] {
        assert_eq!(assess(build, "2021-03-20").cu.as_deref(), Some(name));
    }
}

#[test]
fn builds_past_the_table_are_flagged_not_guessed() {
    let a = assess("15.2.1748.99", "2026-09-01");
    assert!(a.match_note.contains("newer than every CU15 build"));
    assert_eq!(a.cu.as_deref(), Some("CU15"));
    assert_eq!(a.su, None);
    let a = assess("15.2.2700.1", "2026-09-01");
    assert_eq!(a.product.as_deref(), Some("Exchange Server SE"));
    assert_eq!(a.cu, None);
    assert!(a.match_note.contains("newer than every"));
    assert!(a.upgrade_path.is_empty());
    let a = assess("15.1.2200.1", "2026-09-01");
    assert!(a.match_note.contains("not a published CU"));
    assert!(a.cves.iter().all(|c| {
        matches!(c.state, CveState::Unknown | CveState::NotAffected)
    }));
}

#[test]
fn as_of_hides_later_cves_and_builds() {
    let a = assess("15.1.2176.4", "2021-03-01");
    assert!(a.cves.iter().all(|c| c.cve != "CVE-2021-26855"));
    assert_eq!(a.support, SupportState::Supported);
    assert_eq!(a.latest_su_installed, Some(true));
    let a = assess("15.1.2176.4", "2021-03-03");
    assert_eq!(state(&a, "CVE-2021-26855"), CveState::Vulnerable);
    assert_eq!(a.days_behind, Some(1));
    // Days behind count from the first missed SU (Feb21SU, 2021-02-09).
    let a = assess("15.1.2176.2", "2021-03-03");
    assert_eq!(a.days_behind, Some(22));
    assert_eq!(a.upgrade_path[0].name, "CU19 Mar21SU");
}

#[test]
fn a_build_contains_its_fixes_whatever_the_date() {
    // SE is newer than the table and than SE RTM (2025), judged in 2024.
    let a = assess("15.2.2700.1", "2024-06-01");
    assert_eq!(a.open_cves().count(), 0);
    // CU20 (2021-03-16) judged on 2021-03-10 still carries the fixes.
    let a = assess("15.1.2242.4", "2021-03-10");
    assert_eq!(a.open_cves().count(), 0);
    assert!(a.cves.iter().all(|c| c.state != CveState::Unknown));
}

#[test]
fn cu_only_build_before_its_su_existed_is_vulnerable() {
    let a = assess("15.1.2176", "2021-03-05");
    assert_eq!(state(&a, "CVE-2021-26855"), CveState::Unknown);
    // ProxyNotShell was public five weeks before Nov22SU fixed it.
    let a = assess("15.2.1118", "2022-10-01");
    assert_eq!(state(&a, "CVE-2022-41040"), CveState::Vulnerable);
    assert_eq!(
        a.cves.iter().find(|c| c.cve == "CVE-2022-41040").unwrap().fixed_in,
        None
    );
}

#[test]
fn extended_protection_cves_need_configuration() {
    let a = assess("15.1.2507.39", "2024-06-01");
    assert_eq!(state(&a, "CVE-2024-21410"), CveState::PatchedConfigNeeded);
    let c = a.cves.iter().find(|c| c.cve == "CVE-2024-21410").unwrap();
    assert!(c.config_note.as_deref().unwrap().contains("Extended"));
    // 2019 CU14 turns Extended Protection on at install, unless setup was
    // told not to: the build alone cannot show it (issue 9; was `Patched`).
    let a = assess("15.2.1544.4", "2024-06-01");
    assert_eq!(state(&a, "CVE-2024-21410"), CveState::PatchedConfigNeeded);
}

#[test]
fn fully_patched_supported_build_has_nothing_open() {
    let a = assess("15.2.1748.49", "2026-08-20");
    assert_eq!(a.open_cves().count(), 0);
    assert_eq!(a.latest_su_installed, Some(true));
    assert_eq!(a.days_behind, Some(0));
}

#[test]
fn product_end_of_life_suggests_migration() {
    let a = assess("15.0.1497.48", "2026-08-20");
    assert_eq!(a.support, SupportState::ProductEndOfLife);
    let last = a.upgrade_path.last().unwrap();
    assert_eq!(last.action, "migrate to Exchange Server SE");
}

#[test]
fn loading_a_broken_table_names_the_line() {
    let err = Table::with_builds(
        "product,version_name,build,build_short,release_date,kind\n\
         Exchange Server 2016,CU1,15.1.x,15.1.x,2016-01-01,CU\n",
    )
    .unwrap_err();
    assert_eq!(err.line, 2);
}

mod properties {
    use chrono::{Days, NaiveDate};
    use proptest::prelude::*;
    use vigie_model::build::{CveState, Precision};

    use crate::Table;

    proptest! {
        /// Any build of a known product on any date is judged without
        /// panicking, and a build without its revision never gets a
        /// verdict that needs the revision.
        #[test]
        fn any_build_on_any_date_is_judged(
            major_minor in prop::sample::select(
                vec![(14u32, 3u32), (15, 0), (15, 1), (15, 2)]),
            build in 0u32..3000,
            rev in prop::option::of(0u32..120),
            days in 0u64..6000,
        ) {
            let (major, minor) = major_minor;
            let text = match rev {
                Some(r) => format!("{major}.{minor}.{build}.{r}"),
                None => format!("{major}.{minor}.{build}"),
            };
            let start = NaiveDate::from_ymd_opt(2012, 1, 1).unwrap();
            let as_of = start.checked_add_days(Days::new(days)).unwrap();
            let a = Table::embedded().assess(&text, as_of).unwrap();
            if a.precision != Precision::Exact {
                prop_assert_eq!(a.latest_su_installed, None);
            }
            for c in &a.cves {
                if c.state == CveState::PatchedConfigNeeded {
                    prop_assert!(c.config_note.is_some());
                }
            }
        }

        #[test]
        fn any_text_parses_or_errors(text in "\\PC{0,40}") {
            let _ = crate::parse_build(&text);
        }
    }
}

/// Microsoft's Get-ExchangeBuildNumber list must agree with our table on
/// every build both have, compared as integers (it pads some builds).
#[test]
fn microsofts_own_build_list_agrees_with_the_table() {
    let text =
        include_str!("../data/sources/microsoft-ExchangeBuildNumbers.csv");
    let t = Table::embedded();
    let mut checked = 0;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    for record in reader.records() {
        let r = record.unwrap();
        let (product, build, day) = (&r[0], &r[1], &r[2]);
        let Ok(parsed) = crate::parse_build(build) else { continue };
        if product.contains("Preview") {
            continue;
        }
        let day = NaiveDate::parse_from_str(day, "%m/%d/%Y").unwrap();
        let v = parsed.full().unwrap();
        match t.row_index(v) {
            Some(i) => {
                assert_eq!(t.rows[i].date, day, "{build}");
                checked += 1;
            }
            // Known disagreements (data/README.md), kept as extras.
            None => {
                assert!(t.extra.contains_key(&v), "{product} {build} missing")
            }
        }
    }
    assert!(checked > 240, "only {checked} builds compared");
}

#[test]
fn active_directory_preparation_cves_need_configuration() {
    let a = assess("15.1.2308.14", "2021-08-01");
    assert_eq!(state(&a, "CVE-2021-34470"), CveState::PatchedConfigNeeded);
    let a = assess("15.1.2308.8", "2021-08-01");
    assert_eq!(state(&a, "CVE-2021-34470"), CveState::Vulnerable);
    let a = assess("15.2.986.26", "2022-06-01");
    assert_eq!(state(&a, "CVE-2022-21978"), CveState::PatchedConfigNeeded);
    let c = a.cves.iter().find(|c| c.cve == "CVE-2022-21978").unwrap();
    assert!(c.config_note.as_deref().unwrap().contains("PrepareDomain"));
}
