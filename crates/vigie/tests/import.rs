//! `vigie import`: a Shadowserver "Vulnerable Exchange Server" sample and
//! a `host,build` list become runs judged by vigie's engine; bad rows are
//! named by file and line and the rest imports; `vigie history` and
//! `vigie diff` merge them with vigie's own runs and show their source.

mod common_report;

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use common_report::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../feeds/tests/fixtures")
        .join(name)
}

const SAMPLE: &str = "2021-03-12-scan_exchange-sample.csv";

#[test]
fn a_shadowserver_sample_imports_and_is_judged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let out = cargo_bin_cmd!("vigie")
        .args(["import", "--as-of", "2021-03-12", "--db"])
        .arg(&db)
        .arg(fixture(SAMPLE))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!("{SAMPLE}:7: bad ip \"not-an-address\"")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{SAMPLE}:8: build \"banana\"")),
        "{stderr}"
    );
    assert!(stdout.contains("run 1, 5 hosts ("), "{stdout}");
    assert!(stdout.contains("1 unknown build), 2 bad rows"), "{stdout}");
    insta::assert_snapshot!(
        "import_stdout",
        stdout.replace(&fixture("").display().to_string(), "FIXTURES/")
    );
    // findings win over bad rows
    assert_eq!(out.status.code(), Some(1), "{stderr}");

    let report = cargo_bin_cmd!("vigie")
        .args(["report", "--format", "csv", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let csv = String::from_utf8(report.stdout).unwrap();
    assert!(csv.contains("scan,192.0.2.10,192.0.2.10,443,"), "{csv}");
    assert!(csv.contains("15.2.721"), "{csv}");

    let history = cargo_bin_cmd!("vigie")
        .args(["history", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8(history.stdout).unwrap();
    assert!(
        text.contains("2021-03-12 00:11:30"),
        "run starts at the earliest row: {text}"
    );
    assert!(
        text.contains("import:shadowserver:"),
        "the source is shown: {text}"
    );
}

#[test]
fn imports_merge_with_vigies_own_runs_in_diff() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    // vigie's own scan two days before Shadowserver's: the same address
    let mut own = host(443, "15.2.721.2", 10);
    own.target = "192.0.2.10".into();
    own.ip = "192.0.2.10".into();
    let day1 = dir.path().join("day1.jsonl");
    write_jsonl(&day1, &[own], "");
    cargo_bin_cmd!("vigie")
        .args(["history", "--db"])
        .arg(&db)
        .arg("--import")
        .arg(&day1)
        .assert()
        .code(1);
    cargo_bin_cmd!("vigie")
        .args(["import", "--as-of", "2021-03-12", "--db"])
        .arg(&db)
        .arg(fixture(SAMPLE))
        .assert()
        .code(1);
    let out = cargo_bin_cmd!("vigie")
        .args(["diff", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("runs 1 -> 2\nrun 2 source: import:shadowserver:"),
        "{text}"
    );
    assert!(
        text.contains("changed build: 1\n  192.0.2.10:443  15.2.721.2"),
        "{text}"
    );
    assert!(text.contains("new: 4\n"), "{text}");
    assert!(text.contains("gone: 0\n"), "{text}");
}

#[test]
fn host_build_lists_import_and_a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let out = cargo_bin_cmd!("vigie")
        .args([
            "import",
            "--as-of",
            "2021-03-12",
            "--format",
            "hostbuild",
            "--db",
        ])
        .arg(&db)
        .arg(fixture("hostbuild-sample.txt"))
        .arg(dir.path().join("missing.csv"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stdout.contains("run 1, 3 hosts"), "{stdout}");
    assert!(stderr.contains("hostbuild-sample.txt:6: bad host"), "{stderr}");
    assert!(stderr.contains("missing.csv"), "{stderr}");
}
