//! CLI test of `vigie demo`, the first command a new user runs: it must
//! run every section on built-in examples (loopback only), say what it
//! found, and leave every report it announces on disk.

use assert_cmd::Command;

#[test]
fn demo_runs_every_section_and_writes_its_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let run = Command::cargo_bin("vigie")
        .unwrap()
        .args(["demo", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    for section in
        ["== vigie check", "== vigie scan", "== vigie hunt", "== vigie report"]
    {
        assert!(stdout.contains(section), "{section} missing:\n{stdout}");
    }
    // The forged compromised server and the clean one keep their verdicts.
    assert!(stdout.contains("EXCH01: compromised"), "{stdout}");
    assert!(stdout.contains("EXCH02: clean"), "{stdout}");
    assert!(!stdout.contains("Some("), "{stdout}\n{stderr}");
    for file in [
        "report.html",
        "hunt/reports/EXCH01.html",
        "hunt/reports/EXCH01.timeline.csv",
        "hunt/reports/EXCH02.html",
    ] {
        assert!(out.join(file).is_file(), "{file} not written");
    }
    // What the intruder kept on EXCH01 after ProxyLogon: an OWASSRF
    // request, the forwarding inbox rule it created and a rogue
    // transport agent, each reported; EXCH02's stock agents and routine
    // cmdlets leave Persistence clean.
    let hunts = std::fs::read_to_string(out.join("hunt/hunts.jsonl")).unwrap();
    let reports: Vec<serde_json::Value> =
        hunts.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let rules = |i: usize| -> Vec<String> {
        reports[i]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule_id"].as_str().unwrap().to_string())
            .collect()
    };
    for id in ["VG-RPS-001", "VG-CMD-001", "VG-TA-002"] {
        assert!(rules(0).iter().any(|r| r == id), "{id} missing on EXCH01");
    }
    assert!(rules(1).is_empty(), "{:?}", rules(1));
    for line in ["OWASSRF", "Persistence"] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(line)),
            "{line} family missing:\n{stdout}"
        );
    }
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("EXCH01"), "the combined report lacks the hunt");
    assert!(
        page.contains("<h2>Server health</h2>"),
        "the combined report lacks the forged server's health"
    );
}
