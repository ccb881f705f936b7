//! Unit tests of the HTML pages: escaping of hostile text, verdict shown.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use vigie_model::hunt::{FamilyVerdict, HuntReport};
use vigie_model::scan::{Evidence, HostResult, HostStatus, Identity};
use vigie_model::{
    Family, Finding, Grade, Severity, SourceRef, ToolInfo, Verdict,
};

use super::*;

const XSS: &str = "<script>alert('x')</script>\"><img src=x onerror=1>";

fn finding() -> Finding {
    let mut details = BTreeMap::new();
    details.insert("user_agent".to_string(), XSS.to_string());
    Finding {
        rule_id: "PL-001".into(),
        title: "ProxyLogon SSRF cookie".into(),
        family: Family::ProxyLogon,
        grade: Grade::Exploited,
        severity: Severity::Critical,
        cves: vec!["CVE-2021-26855".into()],
        attack: vec![],
        timestamp: Some(Utc.with_ymd_and_hms(2021, 3, 3, 4, 5, 6).unwrap()),
        source: SourceRef {
            path: format!("C:/logs/{XSS}.log"),
            line: Some(3),
            record_id: None,
        },
        summary: XSS.into(),
        details,
    }
}

/// A hunt report whose every text field holds an XSS payload.
pub fn hostile_hunt() -> HuntReport {
    HuntReport {
        record: "hunt".into(),
        tool: ToolInfo::current(),
        host: XSS.into(),
        inputs: vec![XSS.into()],
        started_at: Utc.with_ymd_and_hms(2021, 3, 10, 0, 0, 0).unwrap(),
        verdict: Verdict::Exploited,
        families: vec![FamilyVerdict {
            family: Family::ProxyLogon,
            verdict: Verdict::Exploited,
            reason: XSS.into(),
            findings: vec![0],
            window: None,
        }],
        findings: vec![finding()],
        coverage: vec![],
        errors: vec![],
        stats: BTreeMap::new(),
        sigma: None,
    }
}

fn host() -> HostResult {
    HostResult {
        record: "scan".into(),
        schema_version: 1,
        target: XSS.into(),
        ip: "127.0.0.1".into(),
        port: 443,
        scheme: "https".into(),
        scanned_at: Utc.with_ymd_and_hms(2021, 3, 10, 0, 0, 0).unwrap(),
        status: HostStatus::Exchange,
        product: Some(XSS.into()),
        build: Some("15.1.2176.2".into()),
        precision: None,
        assessment: None,
        ssrf_check: None,
        identity: Identity::default(),
        tls: None,
        evidence: vec![Evidence {
            request: "GET /owa/".into(),
            signal: "header:X-OWA-Version".into(),
            value: XSS.into(),
        }],
        error: None,
        elapsed_ms: 3,
    }
}

#[test]
fn escape_covers_quotes_and_controls() {
    assert_eq!(
        escape("<a href='x'>\"&\u{1b}"),
        "&lt;a href=&#39;x&#39;&gt;&quot;&amp;\u{fffd}"
    );
}

#[test]
fn hunt_page_shows_verdict_and_keeps_payload_inert() {
    let html = render_hunt(&hostile_hunt());
    assert!(html.contains("<span class=\"v exploited\">exploited</span>"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)"));
    assert_eq!(html.matches("<script>").count(), 1);
}

#[test]
fn scan_page_has_chart_and_keeps_payload_inert() {
    let html = render_scan(&[host()]);
    assert!(html.contains("<svg"));
    assert!(!html.contains("<img"));
    assert_eq!(html.matches("<script>").count(), 1);
    assert!(html.contains("id=\"hosts\""));
}
