//! CLI tests of `vigie hunt --sigma DIR`: rules written for these tests
//! (never SigmaHQ's) over a small IIS log; the JSON report keeps each
//! finding's rule metadata and the load summary with skipped rules and
//! their reasons; a `high` match makes the host `suspicious` and no more;
//! a missing rule folder is a usage error.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn vigie() -> Command {
    Command::cargo_bin("vigie").unwrap()
}

fn write(root: &Path, rel: &str, data: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

const IIS: &str = "#Fields: date time s-ip cs-method cs-uri-stem \
     cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status\n\
     2021-03-03 08:00:00 10.0.0.5 GET /owa/ - 443 a 10.0.0.7 M 200\n\
     2021-03-03 08:00:01 10.0.0.5 GET /owa/vigie-sigma-probe \
     cmd=whoami 443 - 192.0.2.66 Mozilla/5.0+(VigieTest) 404\n";

fn rule(level: &str) -> String {
    format!(
        "title: Probe for the vigie test page\n\
         id: 6f1c2b52-0000-4000-8000-000000000001\n\
         status: test\n\
         author: vigie tests\n\
         references:\n  - https://example.invalid/vigie-sigma\n\
         tags:\n  - attack.initial-access\n  - attack.t1190\n\
         logsource:\n  category: webserver\n\
         detection:\n  sel:\n    cs-uri-stem|contains: vigie-sigma-probe\n    \
         cs-uri-query|contains: whoami\n  condition: sel\n\
         level: {level}\n"
    )
}

/// Evidence and rules in one temporary folder: `evidence/` and `rules/`.
fn lab(level: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "evidence/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", IIS);
    write(root, "rules/web/probe.yml", &rule(level));
    write(
        root,
        "rules/web/expand.yml",
        "title: Uses expand\nlogsource:\n  category: webserver\n\
         detection:\n  sel:\n    cs-uri-stem|expand: '%p%'\n  \
         condition: sel\n",
    );
    dir
}

fn hunt_json(dir: &Path) -> (Value, i32) {
    let out = vigie()
        .arg("hunt")
        .arg(dir.join("evidence"))
        .arg("--sigma")
        .arg(dir.join("rules"))
        .args(["--format", "json", "--no-progress"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr))
    });
    (doc, out.status.code().unwrap())
}

#[test]
fn sigma_findings_keep_rule_metadata_and_the_summary_lists_skips() {
    let dir = lab("high");
    let (doc, code) = hunt_json(dir.path());
    let sigma = &doc["sigma"];
    assert_eq!(sigma["rules_loaded"], 1);
    assert_eq!(sigma["rules_applicable"], 1);
    assert_eq!(sigma["rules_skipped"], 1);
    assert_eq!(sigma["skipped_by_reason"]["unsupported modifier: expand"], 1);
    assert_eq!(sigma["skipped"][0]["title"], "Uses expand");
    assert_eq!(sigma["matches"], 1);

    let findings = doc["findings"].as_array().unwrap();
    let f = findings
        .iter()
        .find(|f| f["rule_id"].as_str().unwrap().starts_with("SIGMA-"))
        .expect("a Sigma finding");
    assert_eq!(f["rule_id"], "SIGMA-6f1c2b52-0000-4000-8000-000000000001");
    assert_eq!(f["title"], "Probe for the vigie test page");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["attack"][0], "T1190");
    assert_eq!(f["details"]["sigma_author"], "vigie tests");
    assert_eq!(f["details"]["sigma_level"], "high");
    assert_eq!(
        f["details"]["sigma_references"],
        "https://example.invalid/vigie-sigma"
    );
    assert_eq!(f["details"]["record.c-ip"], "192.0.2.66");
    assert_eq!(f["source"]["line"], 3);
    assert!(f["source"]["path"].as_str().unwrap().ends_with("u_ex210303.log"));

    // A high Sigma match: at least suspicious, never a family verdict.
    assert_eq!(doc["verdict"], "suspicious");
    for fam in doc["families"].as_array().unwrap() {
        assert_ne!(fam["verdict"], "suspicious");
    }
    assert_eq!(code, 1);
}

#[test]
fn a_medium_sigma_match_does_not_change_the_verdict() {
    let dir = lab("medium");
    let (doc, code) = hunt_json(dir.path());
    assert_eq!(doc["sigma"]["matches"], 1);
    assert_eq!(doc["verdict"], "inconclusive");
    assert_eq!(code, 3);
}

#[test]
fn the_summary_shows_sigma_counts_and_matches() {
    let dir = lab("critical");
    let out = vigie()
        .arg("hunt")
        .arg(dir.path().join("evidence"))
        .arg("--sigma")
        .arg(dir.path().join("rules"))
        .arg("--no-progress")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Verdict: SUSPICIOUS"), "{text}");
    assert!(
        text.contains(
            "Sigma rules: 1 loaded (1 for sources vigie reads), 1 skipped; \
             1 match(es) from 1 rule(s)"
        ),
        "{text}"
    );
    assert!(text.contains("skipped:     1  unsupported modifier: expand"));
    assert!(text.contains("critical Probe for the vigie test page"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Sigma: 1 rule(s) loaded"), "{err}");
}

#[test]
fn a_missing_rule_folder_is_a_usage_error() {
    let dir = lab("high");
    vigie()
        .arg("hunt")
        .arg(dir.path().join("evidence"))
        .arg("--sigma")
        .arg(dir.path().join("no-such-rules"))
        .arg("--no-progress")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no-such-rules"));
}
