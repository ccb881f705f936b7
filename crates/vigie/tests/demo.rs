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
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("EXCH01"), "the combined report lacks the hunt");
    assert!(
        page.contains("<h2>Server health</h2>"),
        "the combined report lacks the forged server's health"
    );
}
