//! CLI tests of the run history: two scans of a fleet, some servers
//! upgraded, one gone and one new between them; `vigie diff` lists exactly
//! those changes and `vigie history` shows the curve.
//!
//! The scans are synthetic HostResult JSONL judged by the real build
//! table, imported with `vigie history --import`.

mod common_report;

use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use common_report::*;

fn two_scans(dir: &Path) -> std::path::PathBuf {
    let first = dir.join("day1.jsonl");
    let second = dir.join("day2.jsonl");
    write_jsonl(
        &first,
        &[host(1, OLD, 10), host(2, OLD, 10), host(3, NEW, 10)],
        "",
    );
    write_jsonl(
        &second,
        &[host(1, NEW, 11), host(2, OLD, 11), host(4, OLD, 11)],
        "",
    );
    let db = dir.join("history.db");
    cargo_bin_cmd!("vigie")
        .arg("history")
        .arg("--db")
        .arg(&db)
        .arg("--import")
        .arg(&first)
        .arg(&second)
        .assert()
        .code(1);
    db
}

#[test]
fn diff_lists_exactly_the_fleet_changes() {
    let dir = tempfile::tempdir().unwrap();
    let db = two_scans(dir.path());
    let out = cargo_bin_cmd!("vigie")
        .arg("diff")
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "runs 1 -> 2\n\
         new: 1\n  mail4.example.test|127.0.0.1:4  - (-) -> 15.1.2176.2 (vulnerable)\n\
         gone: 1\n  mail3.example.test|127.0.0.1:3  15.1.2176.9 (patched) -> - (-)\n\
         newly patched: 1\n  mail1.example.test|127.0.0.1:1  15.1.2176.2 (vulnerable) -> 15.1.2176.9 (patched)\n\
         newly vulnerable: 0\n\
         changed build: 1\n  mail1.example.test|127.0.0.1:1  15.1.2176.2 (vulnerable) -> 15.1.2176.9 (patched)\n"
    );
    assert_eq!(out.status.code(), Some(1), "a new vulnerable server");
}

#[test]
fn history_shows_the_curve_and_writes_a_chart() {
    let dir = tempfile::tempdir().unwrap();
    let db = two_scans(dir.path());
    let html = dir.path().join("history.html");
    let out = cargo_bin_cmd!("vigie")
        .arg("history")
        .arg("--db")
        .arg(&db)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "  run  started (UTC)              exchange vulnerable  patched\n\
         \x20   1  2021-03-10 08:00:00               3          2        1\n\
         \x20   2  2021-03-11 08:00:00               3          2        1\n"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<polyline class=\"vulnerable\""));
}

#[test]
fn report_reads_a_stored_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = two_scans(dir.path());
    let out = cargo_bin_cmd!("vigie")
        .args(["report", "--format", "md", "--run", "1", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("**2 of 3 Exchange servers have open CVEs**"));
    assert!(md.contains("mail3.example.test"));
}

#[test]
fn diff_with_too_few_runs_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    cargo_bin_cmd!("vigie")
        .arg("diff")
        .arg("--db")
        .arg(dir.path().join("empty.db"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("need two scan runs"));
}

#[test]
fn scan_with_db_records_the_run_as_it_goes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scan.db");
    // a loopback port with nothing listening: one closed host
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    cargo_bin_cmd!("vigie")
        .args(["scan", "127.0.0.1", "--no-progress", "-p"])
        .arg(port.to_string())
        .arg("--db")
        .arg(&db)
        .assert()
        .stderr(predicates::str::contains("recording run 1"));
    let mut store = vigie_store::Store::open(&db).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].items, 1);
    assert!(runs[0].finished_at.is_some());
    assert_eq!(store.hosts(runs[0].id).unwrap()[0].port, port);
}
