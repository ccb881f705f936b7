//! Feed reading on the sample fixtures: every good row kept, every bad
//! row named by file and line.

use super::*;

const SAMPLE: &str =
    include_str!("../../tests/fixtures/2021-03-12-scan_exchange-sample.csv");
const HOSTBUILD: &str =
    include_str!("../../tests/fixtures/hostbuild-sample.txt");

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2021, 3, 12).unwrap()
}

#[test]
fn detects_the_format_from_the_header() {
    assert_eq!(
        FeedFormat::detect(SAMPLE.as_bytes()),
        FeedFormat::Shadowserver
    );
    assert_eq!(
        FeedFormat::detect(HOSTBUILD.as_bytes()),
        FeedFormat::HostBuild
    );
}

#[test]
fn shadowserver_rows_are_read_by_column_name_and_judged() {
    let rows: Vec<_> =
        FeedReader::new(SAMPLE.as_bytes(), "s.csv", FeedFormat::Shadowserver)
            .collect();
    let (good, bad): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(Result::is_ok);
    let good: Vec<FeedRow> = good.into_iter().map(Result::unwrap).collect();
    assert_eq!(good.len(), 6, "{good:#?}");
    let bad: Vec<String> =
        bad.into_iter().map(|e| e.unwrap_err().to_string()).collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].starts_with("s.csv:7: bad ip"), "{bad:?}");
    let first = &good[0];
    assert_eq!(first.line, 2);
    assert_eq!(first.target, "192.0.2.10", "keyed as vigie's scans key it");
    assert_eq!(first.hostname.as_deref(), Some("mail.alpha.example"));
    assert_eq!(first.ip, "192.0.2.10");
    assert_eq!(first.build.as_deref(), Some("15.2.721"));
    assert_eq!(first.servername.as_deref(), Some("ALPHA-EXCH01"));
    assert_eq!(
        first.seen_at.unwrap().to_rfc3339(),
        "2021-03-12T00:11:30+00:00"
    );
    let now = Utc::now();
    let host =
        judge(first, "import:shadowserver:s.csv", "s.csv", as_of(), now)
            .unwrap();
    assert_eq!(host.precision, Some(Precision::CuOnly));
    // a 3-part build cannot show Mar21SU: ProxyLogon is unknown, never
    // called patched
    let a = host.assessment.as_ref().unwrap();
    let proxylogon =
        a.cves.iter().find(|c| c.cve == "CVE-2021-26855").unwrap();
    assert_eq!(proxylogon.state, vigie_model::build::CveState::Unknown);
    assert_eq!(host.product.as_deref(), Some("Exchange Server 2019"));
    // no version: an Exchange server of unknown build
    let unknown = good.iter().find(|r| r.ip == "203.0.113.5").unwrap();
    assert_eq!(unknown.hostname, None);
    let h = judge(unknown, "src", "s.csv", as_of(), now).unwrap();
    assert_eq!(h.state(), "unknown");
    // a version the engine cannot read names the line
    let banana = good.iter().find(|r| r.ip == "2001:db8::25").unwrap();
    let e = judge(banana, "src", "s.csv", as_of(), now).unwrap_err();
    assert_eq!(e.subject, "s.csv:8");
}

#[test]
fn host_build_lists_take_ports_and_v6() {
    let rows: Vec<_> =
        FeedReader::new(HOSTBUILD.as_bytes(), "h.txt", FeedFormat::HostBuild)
            .collect();
    let errors: Vec<String> = rows
        .iter()
        .filter_map(|r| r.as_ref().err().map(ToString::to_string))
        .collect();
    assert_eq!(errors, ["h.txt:6: bad host \"bad host name\""]);
    let good: Vec<&FeedRow> =
        rows.iter().filter_map(|r| r.as_ref().ok()).collect();
    let keys: Vec<(String, String, u16)> = good
        .iter()
        .map(|r| (r.target.clone(), r.ip.clone(), r.port))
        .collect();
    assert_eq!(
        keys,
        [
            ("mail.epsilon.example".into(), String::new(), 443),
            ("192.0.2.140".into(), "192.0.2.140".into(), 8443),
            ("2001:db8::1".into(), "2001:db8::1".into(), 443),
        ]
    );
}

#[test]
fn a_file_without_the_report_header_is_one_error() {
    let text = "a,b,c\n1,2,3\n";
    let rows: Vec<_> =
        FeedReader::new(text.as_bytes(), "x.csv", FeedFormat::Shadowserver)
            .collect();
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .starts_with("x.csv:1: not a Shadowserver")
    );
}

#[test]
fn hostile_cells_are_cut_and_quoted_rows_keep_their_commas() {
    let long = "A".repeat(5000);
    let text = format!(
        "timestamp,ip,port,hostname,version\n\
         2021-03-12 00:00:00,192.0.2.1,443,\"<script>x</script>,{long}\",15.1.2176\n"
    );
    let rows: Vec<_> =
        FeedReader::new(text.as_bytes(), "x.csv", FeedFormat::Shadowserver)
            .collect();
    let row = rows[0].as_ref().unwrap();
    let name = row.hostname.as_deref().unwrap();
    assert!(name.starts_with("<script>x</script>,AAA"));
    assert_eq!(name.chars().count(), MAX_CELL);
}
