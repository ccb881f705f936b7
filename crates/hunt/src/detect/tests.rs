//! Detector unit tests on small inline logs (fixed dates only).

use std::io::Write;
use std::path::{Path, PathBuf};

use vigie_model::Grade;
use vigie_model::hunt::LogSource;

use super::*;

const HP_HEADER: &str = "DateTime,RequestId,UrlStem,AuthenticatedUser,\
AnchorMailbox,UserAgent,ClientIpAddress,HttpStatus,BackEndCookie,Method";

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::File::create(&p).unwrap().write_all(body.as_bytes()).unwrap();
    p
}

fn hp(lines: &[&str]) -> LogScanResult {
    let dir = tempfile::tempdir().unwrap();
    let body = format!("#Fields: {HP_HEADER}\r\n{}\r\n", lines.join("\r\n"));
    let p = write(dir.path(), "HttpProxy/Ecp/HttpProxy_1.log", &body);
    scan_log(&p, LogSource::HttpProxy, &LogScanOptions::default())
}

#[test]
fn classify_by_path() {
    let c = |s: &str| classify_log(Path::new(s));
    assert_eq!(
        c("V15/Logging/HttpProxy/Owa/HttpProxy_2021030301-1.LOG"),
        Some(LogSource::HttpProxy)
    );
    assert_eq!(
        c(r"C:\inetpub\logs\W3SVC1\u_ex210302.log"),
        Some(LogSource::Iis)
    );
    assert_eq!(c("x/Security.evtx"), Some(LogSource::Evtx));
    assert_eq!(c("notes.txt"), None);
}

#[test]
fn serverinfo_anchor_answered_is_exploited() {
    let r = hp(&["2021-03-03T07:25:46.123Z,1,/ecp/y.js,,\
ServerInfo~a]@ex.lab:444/mapi/emsmdb?,ExchangeServicesClient/0.0.0.0,\
192.0.2.7,241,,POST"]);
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!(f.rule_id, "VG-PL-001");
    assert_eq!(f.grade, Grade::Exploited);
    assert_eq!(f.details["client_ip"], "192.0.2.7");
    assert_eq!(f.source.line, Some(2));
    assert_eq!(r.coverage.records, 1);
}

#[test]
fn noise_test_proxylogon_drops_is_graded_not_dropped() {
    let r = hp(&[
        "2021-03-05T01:00:00Z,2,/owa/auth/x.js,,\
ServerInfo~localhost/ecp/default.flt?,nmap,192.0.2.8,500,,GET",
        "2021-03-05T01:00:01Z,3,/ecp/y.js,,\
ServerInfo~a]@ex.lab:444/autodiscover/autodiscover.xml?#,x,192.0.2.8,200,,POST",
    ]);
    let grades: Vec<_> = r.findings.iter().map(|f| f.grade).collect();
    assert_eq!(grades, [Grade::Probe, Grade::Attempt]);
}

#[test]
fn backend_cookie_variant_test_proxylogon_misses() {
    let r = hp(&["2021-03-03T07:25:46Z,4,/ecp/a.js,,,x,192.0.2.9,200,\
Server~ex.lab/ews/exchange.asmx?~1942062522,GET"]);
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].grade, Grade::Exploited);
}

#[test]
fn reset_virtual_directory_is_27065() {
    let r = hp(&["2021-03-03T07:30:00Z,5,/ecp/y.js,,\
ServerInfo~a]@ex.lab:444/ecp/DDI/DDIService.svc/SetObject?\
schema=ResetOABVirtualDirectory&msExchEcpCanary=x#,x,192.0.2.9,200,,POST"]);
    assert_eq!(r.findings[0].rule_id, "VG-PL-002");
    assert_eq!(r.findings[0].details["cmdlet"], "ResetOABVirtualDirectory");
    // The exact form Test-ProxyLogon matches (ends with `#`).
    let r = hp(&["2021-03-03T07:30:00Z,5,/ecp/y.js,,\
ServerInfo~a]@ex.lab:444/ecp/x?schema=ResetOABVirtualDirectory#,x,\
192.0.2.9,200,,POST"]);
    assert_eq!(r.findings[0].rule_id, "VG-PL-002");
}

#[test]
fn clean_log_has_no_findings_and_coverage() {
    let r = hp(&[
        "2020-12-01T00:00:00Z,6,/owa/,a@b,a@b,Mozilla,192.0.2.1,200,,GET",
        "2021-03-01T00:00:00Z,7,/owa/,a@b,a@b,Mozilla,192.0.2.1,200,,GET",
    ]);
    assert!(r.findings.is_empty());
    assert_eq!(r.coverage.records, 2);
    assert_eq!(r.coverage.days, 2);
    assert_eq!(
        r.days.span().map(|(a, _)| a.to_string()).unwrap(),
        "2020-12-01"
    );
}

#[test]
fn iis_patterns_and_grades() {
    let dir = tempfile::tempdir().unwrap();
    let body = "#Software: Microsoft Internet Information Services 10.0\n\
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port \
cs-username c-ip cs(User-Agent) cs(Cookie) sc-status\n\
2021-03-03 07:00:00 10.0.0.1 POST /ecp/y.js - 443 - 192.0.2.5 \
ExchangeServicesClient/0.0.0.0 X-BEResource=a]@ex:444/x?~1 200\n\
2021-08-10 07:00:00 10.0.0.1 GET /autodiscover/autodiscover.json \
@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com \
443 - 192.0.2.5 python-requests/2.25 - 404\n\
2021-08-10 07:00:01 10.0.0.1 GET /owa/auth/shell.aspx - 443 - 192.0.2.5 \
Mozilla/5.0+(Windows) - 200\n\
2021-08-10 07:00:02 10.0.0.1 GET /owa/ - 443 - 192.0.2.5 Mozilla - 200\n";
    let p = write(dir.path(), "u_ex210303.log", body);
    let opts = LogScanOptions {
        webshell_urls: vec!["/owa/auth/shell.aspx".into()],
        ..Default::default()
    };
    let r = scan_log(&p, LogSource::Iis, &opts);
    let got: Vec<_> =
        r.findings.iter().map(|f| (f.rule_id.as_str(), f.grade)).collect();
    assert_eq!(
        got,
        [
            ("VG-IIS-001", Grade::Exploited),
            ("VG-IIS-002", Grade::Attempt),
            ("VG-IIS-005", Grade::Compromised),
        ]
    );
    assert_eq!(r.findings[2].details["user_agent"], "Mozilla/5.0 (Windows)");
    assert_eq!(r.coverage.records, 4);
    assert!(!r.coverage.covers_window);
}

#[test]
fn binary_and_missing_files_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut junk = vec![0u8, 0xff, b'\n', b','];
    junk.extend((0..5000u32).map(|i| (i * 7919 % 256) as u8));
    let p = dir.path().join("bin.log");
    std::fs::write(&p, &junk).unwrap();
    for s in [LogSource::HttpProxy, LogSource::Iis] {
        let _ = scan_log(&p, s, &LogScanOptions::default());
    }
    let r = scan_log(
        &dir.path().join("missing.log"),
        LogSource::Iis,
        &LogScanOptions::default(),
    );
    assert_eq!(r.errors.len(), 1);
    assert!(r.errors[0].subject.contains("missing.log"));
}

#[test]
fn oab_write_outside_clientaccess_oab_only() {
    let dir = tempfile::tempdir().unwrap();
    let body = "2021-03-03T08:00:00.000Z,x,Download failed and temporary \
file 'C:\\inetpub\\wwwroot\\aspnet_client\\x.aspx' needs to be removed\n\
2021-03-03T08:00:01.000Z,x,Download failed and temporary file \
'C:\\Program Files\\Microsoft\\Exchange Server\\V15\\ClientAccess\\OAB\\\
t.tmp' needs to be removed\n";
    let p = write(dir.path(), "OABGeneratorLog/OAB.log", body);
    assert_eq!(classify_log(&p), Some(LogSource::OabGenerator));
    let r = scan_log(&p, LogSource::OabGenerator, &LogScanOptions::default());
    assert_eq!(r.findings.len(), 1);
    assert_eq!(
        r.findings[0].details["written_path"],
        r"C:\inetpub\wwwroot\aspnet_client\x.aspx"
    );
    assert_eq!(r.coverage.records, 2);
}

#[test]
fn ecp_set_vdir_with_markup_in_url_not_plain_set() {
    let dir = tempfile::tempdir().unwrap();
    let body = "#Fields: TimeStamp,ServerName,EventId,EventData\n\
2021-03-03T09:00:00.000Z,EX1,ECP.Request,\"S:CMD=Set-OabVirtualDirectory.\
ExternalUrl='http://f/#<script language=JScript>x</script>'.Identity='OAB';\
S:USR=lab\\admin;S:BLD=15.1.2176.2\"\n\
2021-03-03T09:00:01.000Z,EX1,ECP.Request,\"S:CMD=Set-OabVirtualDirectory.\
ExternalUrl='https://mail.lab/OAB';S:USR=lab\\admin\"\n";
    let p = write(dir.path(), "ECP/Server/ECPServer1.log", body);
    assert_eq!(classify_log(&p), Some(LogSource::EcpServer));
    let r = scan_log(&p, LogSource::EcpServer, &LogScanOptions::default());
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    let d = &r.findings[0].details;
    assert_eq!(d["cmdlet"], "Set-OabVirtualDirectory");
    assert!(d["payload"].starts_with("<script"));
    assert_eq!(d["user"], r"lab\admin");
}

/// Regression guard (found by fuzzing): an IIS row shorter than a
/// timestamp whose 11th byte is a space once sliced out of bounds.
#[test]
fn iis_row_shorter_than_a_timestamp_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let body = "#Fields: date time cs-uri-stem\n2021-03-03 x\n\
                2021-03-03 01:02:03\n";
    let p = write(dir.path(), "W3SVC1/u_ex210303.log", body);
    let r = scan_log(&p, LogSource::Iis, &LogScanOptions::default());
    assert_eq!(r.coverage.records, 2);
    assert!(r.findings.is_empty() && r.errors.is_empty());
}

/// Hostile inputs for every log kind: binary noise, invalid UTF-8, a
/// truncated last line, an over-cap line, header-only and empty files.
/// Nothing panics, errors stay capped and name the file, and a line over
/// the cap is reported by its number.
#[test]
fn hostile_inputs_for_every_log_kind_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mut noise = Vec::new();
    let mut x = 7u32;
    for _ in 0..200_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        noise.push((x >> 16) as u8);
    }
    let mut over_cap = b"#Fields: date time cs-uri-stem\n".to_vec();
    over_cap.extend(std::iter::repeat_n(b'Z', vigie_logs::MAX_LINE + 1));
    over_cap.extend_from_slice(b"\n2021-03-03 01:02:03 /ecp/y.js\n");
    let inputs: [(&str, Vec<u8>); 6] = [
        ("noise", noise),
        (
            "utf8",
            b"2021-03-03T01:02:03Z,\xff\xfe\xc0,ServerInfo~\xe9/\n".into(),
        ),
        ("cut", b"DateTime,AnchorMailbox\n2021-03-03T01:0".into()),
        ("over", over_cap),
        ("header", b"#Fields: DateTime,AnchorMailbox\r\n".into()),
        ("empty", Vec::new()),
    ];
    let kinds = [
        ("HttpProxy/Owa/HttpProxy_1.LOG", LogSource::HttpProxy),
        ("W3SVC1/u_ex210303.log", LogSource::Iis),
        ("OABGeneratorLog/OABGenerator_1.LOG", LogSource::OabGenerator),
        ("ECP/Server/ECPServer_1.LOG", LogSource::EcpServer),
        ("events.jsonl", LogSource::EventJson),
        ("Application.evtx", LogSource::Evtx),
    ];
    for (name, data) in &inputs {
        for (rel, source) in kinds {
            let p = dir.path().join(name).join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, data).unwrap();
            let r = scan_log(&p, source, &LogScanOptions::default());
            assert!(r.errors.len() <= 20, "{name} {source:?}");
            assert!(r.errors.iter().all(|e| e.subject.contains(name)));
            if *name == "over" && source != LogSource::Evtx {
                let msg = &r.errors[0].message;
                assert_eq!(msg, "line 2 longer than the line cap, skipped");
            }
        }
    }
}

/// Guard for `events::NEEDLES`: an EVTX record holding none of them is
/// not rendered, so every event rule hit in the real JSON exports (all
/// four rules fire there) must come from a record holding one whole.
#[test]
fn every_rule_needs_a_needle() {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let otrf =
        std::fs::read(real.join("real/otrf-proxylogon/subset.jsonl.xor"))
            .unwrap()
            .iter()
            .map(|b| b ^ 0x5A)
            .collect::<Vec<u8>>();
    let otrf = write(dir.path(), "p.json", &String::from_utf8(otrf).unwrap());
    let um = real.join("logs/cve-2021-26857/Application.jsonl");
    let mut rules = std::collections::BTreeSet::new();
    for p in [otrf, um] {
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let r = scan_log(&p, LogSource::EventJson, &LogScanOptions::default());
        for f in r.findings.iter().filter(|f| f.rule_id.starts_with("VG-EV")) {
            let line = lines[f.source.line.unwrap() as usize - 1];
            let l = line.to_ascii_lowercase();
            assert!(
                events::NEEDLES.iter().any(|n| l.contains(n)),
                "{} on a record without a needle: {line}",
                f.rule_id
            );
            rules.insert(f.rule_id.clone());
        }
    }
    assert_eq!(rules.len(), 4, "{rules:?}");
}
