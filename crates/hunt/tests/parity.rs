//! Parity with Microsoft's Test-ProxyLogon: for each of its checks
//! (CSS-Exchange `Security/src/Test-ProxyLogon.ps1`, logic of
//! 2021-03-18) the log detectors run over a fixture and must find exactly
//! the records the script reports, each labelled with that check in
//! `details.test_proxylogon`; the records the script misses (BackEndCookie
//! variant, graded localhost/autodiscover probes, odd file layouts,
//! traversal out of the OAB folder, ...) must be found and carry no label.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use vigie_hunt::detect::{
    LogScanOptions, LogScanResult, classify_log, scan_log,
};
use vigie_model::Grade;

const FIXTURES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/logs");

/// One finding reduced to what parity is about.
#[derive(Debug, PartialEq, Eq)]
struct Hit {
    line: u64,
    rule: &'static str,
    grade: Grade,
    /// `details.test_proxylogon`, empty when the script misses it.
    tpl: &'static str,
}

fn hit(line: u64, rule: &'static str, grade: Grade, tpl: &'static str) -> Hit {
    Hit { line, rule, grade, tpl }
}

/// Scan one file (relative to the fixtures) as the engine would.
fn scan(rel: &str) -> LogScanResult {
    scan_path(&Path::new(FIXTURES).join(rel))
}

fn scan_path(p: &Path) -> LogScanResult {
    let source = classify_log(p).expect("fixture is a known log kind");
    let r = scan_log(p, source, &LogScanOptions::default());
    assert!(r.errors.is_empty(), "{}: {:?}", p.display(), r.errors);
    r
}

/// The findings as comparable hits (rule ids and labels leaked to
/// `'static` through a fixed list so `Hit` stays `Eq` with literals).
fn hits(r: &LogScanResult) -> Vec<Hit> {
    const RULES: &[&str] = &[
        "VG-PL-001",
        "VG-PL-002",
        "VG-PL-003",
        "VG-PL-004",
        "VG-EV-004",
        "VG-IIS-001",
        "VG-IIS-006",
    ];
    const LABELS: &[&str] = &[
        "",
        "CVE-2021-26855",
        "CVE-2021-26855,CVE-2021-27065",
        "CVE-2021-26857",
        "CVE-2021-26858",
        "CVE-2021-27065",
    ];
    let pick = |list: &[&'static str], s: &str| -> &'static str {
        list.iter().find(|x| **x == s).copied().unwrap_or_else(|| {
            panic!("unexpected value {s:?}");
        })
    };
    r.findings
        .iter()
        .map(|f| Hit {
            line: f.source.line.expect("log findings carry a line"),
            rule: pick(RULES, &f.rule_id),
            grade: f.grade,
            tpl: pick(
                LABELS,
                f.details.get("test_proxylogon").map_or("", String::as_str),
            ),
        })
        .collect()
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Coverage stands in for Test-ProxyLogon's log age: records counted and
/// the span of the oldest and newest record (not file times).
fn assert_span(r: &LogScanResult, records: u64, first: &str, last: &str) {
    assert_eq!(r.coverage.records, records);
    assert_eq!(r.coverage.first, Some(utc(first)));
    assert_eq!(r.coverage.last, Some(utc(last)));
}

const TPL_26855: &str = "CVE-2021-26855";

#[test]
fn cve_26855_anchor_mailbox_serverinfo_rows_match_the_script() {
    let r = scan("cve-2021-26855/HttpProxy/Owa/HttpProxy_2021030307-1.LOG");
    use Grade::*;
    assert_eq!(
        hits(&r),
        [
            hit(8, "VG-PL-001", Exploited, TPL_26855),
            // Autodiscover-only and localhost rows: dropped by the script
            // as noise, kept by vigie as a graded attempt and probe.
            hit(10, "VG-PL-001", Attempt, ""),
            hit(11, "VG-PL-001", Probe, ""),
            hit(12, "VG-PL-001", Exploited, TPL_26855),
            hit(13, "VG-PL-001", Exploited, TPL_26855),
            // Lower-case `serverinfo~`: `-like` ignores case.
            hit(14, "VG-PL-001", Attempt, TPL_26855),
        ]
    );
    // Line 9 (`ServerInfo~host` with no `/`, a health probe) is no hit.
    assert_span(&r, 9, "2021-03-03T07:00:00.012Z", "2021-03-03T07:59:59.999Z");
}

#[test]
fn cve_26857_um_invalid_cast_errors_match_the_script() {
    let r = scan("cve-2021-26857/Application.jsonl");
    use Grade::*;
    assert_eq!(
        hits(&r),
        [
            hit(1, "VG-EV-004", Attempt, "CVE-2021-26857"),
            // Level 3 (warning): the script asks for level 2 only.
            hit(3, "VG-EV-004", Probe, ""),
            // Lower-case message: `-like` ignores case.
            hit(5, "VG-EV-004", Attempt, "CVE-2021-26857"),
        ]
    );
    // Line 2 (no cast) and line 4 (another provider) are no hits.
    assert_span(&r, 5, "2021-03-03T06:10:00Z", "2021-03-03T06:14:00Z");
}

#[test]
fn cve_26858_oab_download_outside_oab_matches_the_script() {
    let r = scan("cve-2021-26858/OABGeneratorLog/OABGenerator_20210303-1.LOG");
    use Grade::*;
    assert_eq!(
        hits(&r),
        [
            hit(7, "VG-PL-003", Exploited, "CVE-2021-26858"),
            hit(9, "VG-PL-003", Exploited, "CVE-2021-26858"),
            // `ClientAccess\OAB\..\..\FrontEnd\...` and `OABackup`
            // start with the script's prefix: it lets both through.
            hit(10, "VG-PL-003", Exploited, ""),
            hit(11, "VG-PL-003", Exploited, ""),
        ]
    );
    let written = r.findings[2].details.get("resolved_path").unwrap();
    assert!(written.ends_with(r"\FrontEnd\HttpProxy\owa\auth\t.aspx"));
    // Line 8 (a temp file inside ClientAccess\OAB) is no hit.
    assert_span(&r, 6, "2021-03-03T08:00:00.101Z", "2021-03-03T08:05:00Z");
}

#[test]
fn cve_27065_ecp_server_set_vdir_with_script_matches_the_script() {
    let r = scan("cve-2021-27065/ECP/Server/ECPServer_20210303-1.LOG");
    use Grade::*;
    assert_eq!(
        hits(&r),
        [
            hit(7, "VG-PL-004", Exploited, "CVE-2021-27065"),
            // No `VirtualDirectory` after the closing tag: the script's
            // regex fails, the script is still in the URL.
            hit(9, "VG-PL-004", Exploited, ""),
        ]
    );
    // Line 8 (a plain https ExternalUrl) is no hit.
    assert_span(&r, 4, "2021-03-03T08:59:00Z", "2021-03-03T09:03:30Z");
}

#[test]
fn cve_27065_ecp_server_chopper_payload_from_encoded_fixture() {
    // The China Chopper line is stored XOR-encoded (repository rule) and
    // materialised where the engine would look for ECP server logs.
    let enc = std::fs::read(
        Path::new(FIXTURES).join("cve-2021-27065/ECPServer_chopper.LOG.xor"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("Logging/ECP/Server");
    std::fs::create_dir_all(&folder).unwrap();
    let p: PathBuf = folder.join("ECPServer_20210303-2.LOG");
    std::fs::write(&p, enc.iter().map(|b| b ^ 0x5A).collect::<Vec<_>>())
        .unwrap();
    let r = scan_path(&p);
    use Grade::*;
    assert_eq!(
        hits(&r),
        [
            hit(7, "VG-PL-004", Exploited, "CVE-2021-27065"),
            hit(9, "VG-PL-004", Exploited, ""),
            hit(11, "VG-PL-004", Exploited, "CVE-2021-27065"),
        ]
    );
    let cmdlet = r.findings[2].details.get("cmdlet").unwrap();
    assert_eq!(cmdlet, "Set-OabVirtualDirectory");
    // The empty line 10 is not a record.
    assert_span(&r, 5, "2021-03-03T08:59:00Z", "2021-03-03T09:10:00Z");
}

#[test]
fn cve_27065_httpproxy_ecp_reset_vdir_matches_the_script() {
    let r = scan("cve-2021-27065/HttpProxy/Ecp/HttpProxy_2021030308-1.LOG");
    use Grade::*;
    assert_eq!(
        hits(&r),
        [
            // A query string after the schema name ends the anchor in
            // `…b5c6d7#`, not `VirtualDirectory#`: only the SSRF check
            // of the script sees it; vigie still calls it the reset.
            hit(8, "VG-PL-002", Exploited, TPL_26855),
            // Reset answered 500: no reset (the script wants 200).
            hit(9, "VG-PL-001", Attempt, TPL_26855),
            hit(10, "VG-PL-001", Exploited, TPL_26855),
            hit(12, "VG-PL-002", Exploited, "CVE-2021-26855,CVE-2021-27065"),
        ]
    );
    // Lines out of time order: the span is the oldest and newest record.
    assert_span(&r, 6, "2021-03-03T08:00:00Z", "2021-03-03T08:40:00Z");
}

#[test]
fn misses_backend_cookie_and_reset_without_hash_are_found_unlabelled() {
    let r = scan("misses/HttpProxy/Ecp/HttpProxy_2021030309-1.LOG");
    use Grade::*;
    assert_eq!(
        hits(&r),
        [
            // `BackEndCookie Server~*/*~*`, empty AnchorMailbox: the
            // variant Test-ProxyLogon never adopted (CSS-Exchange#310).
            hit(8, "VG-PL-001", Exploited, ""),
            // Reset with no `#` at all: the script's reset check misses.
            hit(9, "VG-PL-002", Exploited, TPL_26855),
        ]
    );
    let cookie = r.findings[0].details.get("backend_cookie").unwrap();
    assert!(cookie.starts_with("Server~ex01.lab.example/ews/"));
}

#[test]
fn misses_file_without_leading_header_line_is_found_unlabelled() {
    // Import-Csv names columns from line 1 (`#Software: …` here), so the
    // script has no AnchorMailbox column in this file.
    let r = scan("misses/HttpProxy/Mapi/HttpProxy_2021030310-1.LOG");
    assert_eq!(hits(&r), [hit(7, "VG-PL-001", Grade::Exploited, "")]);
    assert_span(&r, 2, "2021-03-03T10:00:00Z", "2021-03-03T10:04:00Z");
}

#[test]
fn misses_concatenated_file_with_moved_column_is_found_unlabelled() {
    // A second `#Fields:` moves AnchorMailbox to column 2; the script
    // keeps reading column 16 by line 1's names.
    let r = scan("misses/HttpProxy/Owa/HttpProxy_concatenated.LOG");
    assert_eq!(hits(&r), [hit(14, "VG-PL-001", Grade::Exploited, "")]);
    let anchor = r.findings[0].details.get("anchor_mailbox").unwrap();
    assert!(anchor.starts_with("ServerInfo~a]@"));
    assert_span(&r, 3, "2021-03-04T00:00:00Z", "2021-03-04T01:02:03Z");
}

#[test]
fn robust_bom_and_quoted_commas_still_match_the_script() {
    let r = scan("robust/HttpProxy/Owa/HttpProxy_2021030311-1.LOG");
    assert_eq!(hits(&r), [hit(8, "VG-PL-001", Grade::Exploited, TPL_26855)]);
    let f = &r.findings[0];
    assert_eq!(f.details["user_agent"], "python-requests/2.25.1, \"x\"");
    assert_span(&r, 2, "2021-03-03T11:00:00Z", "2021-03-03T11:03:00Z");
}

#[test]
fn misses_iis_exploit_user_agents_are_found_unlabelled() {
    // Test-ProxyLogon reads no IIS log at all.
    let r = scan("iis-user-agents/W3SVC1/u_ex210303.log");
    use Grade::*;
    assert_eq!(
        hits(&r),
        [
            hit(5, "VG-IIS-006", Probe, ""),
            hit(6, "VG-IIS-001", Exploited, ""),
            hit(7, "VG-IIS-006", Attempt, ""),
            hit(8, "VG-IIS-006", Probe, ""),
            hit(9, "VG-IIS-006", Attempt, ""),
            hit(10, "VG-IIS-006", Attempt, ""),
            hit(11, "VG-IIS-006", Probe, ""),
            hit(15, "VG-IIS-006", Probe, ""),
            hit(16, "VG-IIS-006", Attempt, ""),
        ]
    );
    // Lines 12-14: a real EWS client version, python-requests outside
    // /ecp and /owa/auth, a current Chrome: no hits.
    assert_span(&r, 12, "2021-03-03T05:00:00Z", "2021-03-03T05:11:00Z");
}
