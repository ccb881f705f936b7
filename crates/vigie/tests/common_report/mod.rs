//! Synthetic scan results shared by the report and store CLI tests: a
//! small fleet, judged by the real build table as of a fixed date, with
//! hostile text in every server-controlled field.

#![allow(dead_code)]

use std::path::Path;

use chrono::{NaiveDate, TimeZone, Utc};
use vigie_model::scan::{Evidence, HostResult, HostStatus, Identity};

/// An XSS payload that would mark the page if it ever ran.
pub const XSS: &str =
    "\"'><img src=x onerror=\"document.body.dataset.pwned=1\">";

/// A formula a spreadsheet would run.
pub const FORMULA: &str = "=HYPERLINK(\"http://evil.invalid\")";

/// One Exchange host on 127.0.0.1:`port` with `build`, scanned on `day`
/// of March 2021.
pub fn host(port: u16, build: &str, day: u32) -> HostResult {
    let as_of = NaiveDate::from_ymd_opt(2021, 3, day).unwrap();
    let assessment =
        vigie_builds::Table::embedded().assess(build, as_of).unwrap();
    HostResult {
        record: "scan".into(),
        schema_version: 1,
        target: format!("mail{port}.example.test"),
        ip: "127.0.0.1".into(),
        port,
        scheme: "https".into(),
        scanned_at: Utc.with_ymd_and_hms(2021, 3, day, 8, 0, 0).unwrap(),
        status: HostStatus::Exchange,
        product: assessment.product.clone(),
        build: Some(build.into()),
        precision: Some(assessment.precision),
        assessment: Some(assessment),
        ssrf_check: None,
        identity: Identity::default(),
        tls: None,
        evidence: vec![Evidence {
            request: "GET /owa/".into(),
            signal: "header:X-OWA-Version".into(),
            value: format!("{build} {XSS}"),
        }],
        error: None,
        elapsed_ms: 5,
    }
}

/// A host whose every server-controlled field is hostile.
pub fn hostile(day: u32) -> HostResult {
    let mut h = host(9443, "15.1.2176.2", day);
    h.target = format!("{FORMULA}{XSS}");
    h.product = Some(XSS.into());
    h
}

/// Vulnerable builds before the March 2021 update, patched after.
pub const OLD: &str = "15.1.2176.2";
/// The March 2021 security update of Exchange 2016 CU19.
pub const NEW: &str = "15.1.2176.9";

/// Write hosts as JSONL.
pub fn write_jsonl(path: &Path, hosts: &[HostResult], extra: &str) {
    let mut text = String::new();
    for h in hosts {
        text.push_str(&serde_json::to_string(h).unwrap());
        text.push('\n');
    }
    text.push_str(extra);
    std::fs::write(path, text).unwrap();
}

/// A hunt whose log line, user agent and file name carry the payload.
pub fn hostile_hunt() -> vigie_model::hunt::HuntReport {
    use std::collections::BTreeMap;
    use vigie_model::hunt::{FamilyVerdict, HuntReport};
    use vigie_model::{
        Family, Finding, Grade, Severity, SourceRef, ToolInfo, Verdict,
    };
    let mut details = BTreeMap::new();
    details.insert("user_agent".to_string(), XSS.to_string());
    details.insert("log_line".to_string(), format!("POST /ecp/{XSS}"));
    let finding = Finding {
        rule_id: "webshell.aspx".into(),
        title: "Web shell in the OWA auth folder".into(),
        family: Family::PostExploitation,
        grade: Grade::Compromised,
        severity: Severity::Critical,
        cves: vec![],
        attack: vec!["T1505.003".into()],
        timestamp: Some(Utc.with_ymd_and_hms(2021, 3, 3, 2, 0, 0).unwrap()),
        source: SourceRef {
            path: format!("FrontEnd/HttpProxy/owa/auth/{XSS}.aspx"),
            line: None,
            record_id: None,
        },
        summary: format!("file {XSS}"),
        details,
    };
    HuntReport {
        record: "hunt".into(),
        tool: ToolInfo::current(),
        host: "EXCH01".into(),
        inputs: vec!["/evidence/EXCH01".into()],
        started_at: Utc.with_ymd_and_hms(2021, 3, 12, 9, 0, 0).unwrap(),
        verdict: Verdict::Compromised,
        families: vec![FamilyVerdict {
            family: Family::PostExploitation,
            verdict: Verdict::Compromised,
            reason: "a web shell was found".into(),
            findings: vec![0],
            window: None,
        }],
        findings: vec![finding],
        coverage: vec![],
        errors: vec![],
        stats: BTreeMap::new(),
        sigma: None,
    }
}
