//! CLI tests of `vigie check --host`: a folder of two forged servers (one
//! with the demo's four weaknesses), table and JSON output, exit codes,
//! a missing input, and `--live` refused with a clear message.

use assert_cmd::Command;
use vigie_health::sample::{Weaknesses, write_server};

fn vigie() -> Command {
    Command::cargo_bin("vigie").unwrap()
}

/// Two servers in one folder; exports in `ex/<server>`.
fn forge() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let servers = dir.path().join("servers");
    let ex = dir.path().join("ex");
    for (name, weak) in
        [("EXCH01", Weaknesses::all()), ("EXCH02", Weaknesses::default())]
    {
        let (_, exports) = write_server(&servers, name, weak).unwrap();
        std::fs::rename(&exports, ex.join(name))
            .or_else(|_| {
                std::fs::create_dir_all(&ex)?;
                std::fs::rename(&exports, ex.join(name))
            })
            .unwrap();
    }
    dir
}

#[test]
fn table_groups_judgements_and_exit_code_says_findings() {
    let dir = forge();
    let out = vigie()
        .args(["check", "--as-of", "2026-09-01", "--host"])
        .arg(dir.path().join("servers"))
        .arg("--exports")
        .arg(dir.path().join("ex"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    for want in [
        "build and CVEs",
        "security configuration",
        "mitigations",
        "operating system",
        "FAIL    ep.vdir                    Default Web Site/ECP: None but Require expected",
        "CVE-2025-53782 - Disabled By Override",
        "FAIL    mitigation.rewrite         CVE-2026-42897",
        "IisTelemetryHelper: module not shipped by IIS or Exchange",
        "2 server(s) judged: 1 need action, 0 input error(s)",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn json_holds_every_judgement_with_evidence() {
    let dir = forge();
    let out = vigie()
        .args(["check", "--as-of", "2026-09-01", "--format", "json", "--host"])
        .arg(dir.path().join("servers/EXCH02"))
        .arg("--exports")
        .arg(dir.path().join("ex"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let server = &doc["servers"][0];
    assert_eq!(server["server"], "EXCH02");
    let js = server["judgements"].as_array().unwrap();
    let ep = js.iter().find(|j| j["id"] == "ep").unwrap();
    assert_eq!(ep["status"], "ok");
    assert!(
        ep["evidence"][0]["source"]
            .as_str()
            .unwrap()
            .ends_with("applicationHost.config")
    );
    assert!(js.iter().all(|j| j["status"] != "fail"));
}

#[test]
fn missing_input_and_live_are_named() {
    let out = vigie()
        .args(["check", "--host", "/nonexistent/vigie-host"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("/nonexistent/vigie-host: no such file or folder")
    );
    // Off Windows, --live is refused before anything is read (on Windows
    // it is tested under Wine: scripts/wine-tests.sh).
    for cmd in ["check", "hunt"] {
        let out = vigie().args([cmd, "--live"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("reads the Windows server vigie runs on")
                && err.contains("give its path instead"),
            "{cmd}: {err}"
        );
    }
}
