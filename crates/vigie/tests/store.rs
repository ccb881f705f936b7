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
         new: 1\n  mail4.example.test (127.0.0.1:4)  - (-) -> 15.1.2176.2 (vulnerable)\n\
         gone: 1\n  mail3.example.test (127.0.0.1:3)  15.1.2176.9 (patched) -> - (-)\n\
         newly patched: 1\n  mail1.example.test (127.0.0.1:1)  15.1.2176.2 (vulnerable) -> 15.1.2176.9 (patched)\n\
         newly vulnerable: 0\n\
         changed build: 1\n  mail1.example.test (127.0.0.1:1)  15.1.2176.2 (vulnerable) -> 15.1.2176.9 (patched)\n"
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
    let db = dir.path().join("one.db");
    let day1 = dir.path().join("day1.jsonl");
    write_jsonl(&day1, &[host(1, NEW, 10)], "");
    cargo_bin_cmd!("vigie")
        .args(["history", "--db"])
        .arg(&db)
        .arg("--import")
        .arg(&day1)
        .assert()
        .code(0);
    cargo_bin_cmd!("vigie")
        .arg("diff")
        .arg("--db")
        .arg(&db)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("need two scan runs"));
}

/// Add a scan run that never finished (a killed `vigie scan --db`) which
/// reached only one server.
fn killed_run(db: &Path) {
    use chrono::TimeZone;
    let mut store = vigie_store::Store::open(db).unwrap();
    let at = chrono::Utc.with_ymd_and_hms(2021, 3, 12, 8, 0, 0).unwrap();
    let run =
        store.begin_run_at(vigie_store::RunKind::Scan, "killed", at).unwrap();
    store.record_host(run, &host(1, NEW, 12)).unwrap();
}

/// Defect 5 (issue 14): `vigie diff` compared against a killed run
/// without saying so, listing every server it never reached as gone.
#[test]
fn diff_skips_an_unfinished_run_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = two_scans(dir.path());
    killed_run(&db);
    let out = cargo_bin_cmd!("vigie")
        .arg("diff")
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("runs 1 -> 2\nskipped unfinished run(s) 3"),
        "{text}"
    );
    assert!(text.contains("gone: 1\n"), "{text}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("skipped unfinished run(s) 3"), "{err}");
    // Named on the command line, it is compared, with a warning, and
    // the exit code says the input was incomplete.
    let out = cargo_bin_cmd!("vigie")
        .args(["diff", "2", "3", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("warning: run(s) 3 did not finish"), "{text}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("run(s) 3 did not finish"), "{err}");
    assert_eq!(out.status.code(), Some(3));
}

/// Every file in `dir`: name, size and a checksum of its bytes.
fn snapshot(dir: &Path) -> Vec<(String, usize, u64)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = std::fs::read(&p).unwrap_or_default();
            let sum = bytes.iter().fold(0u64, |h, &b| {
                h.wrapping_mul(1_099_511_628_211).wrapping_add(u64::from(b))
            });
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, bytes.len(), sum)
        })
        .collect();
    files.sort();
    files
}

/// Defect 5 (issue 14): `history` and `diff` failed on a read-only
/// database ("attempt to write a readonly database"). They now open it
/// read-only: nothing in its folder changes (as root, where permissions
/// do not stop writes, that is what is checked).
#[cfg(unix)]
#[test]
fn history_diff_and_report_read_a_read_only_database() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = two_scans(dir.path());
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let copy = ro.join("history.db");
    std::fs::copy(&db, &copy).unwrap();
    let mode = |p: &Path, m| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m))
    };
    mode(&copy, 0o444).unwrap();
    mode(&ro, 0o555).unwrap();
    let before = snapshot(&ro);
    for args in [&["history"][..], &["diff"], &["report", "--format", "md"]] {
        let out = cargo_bin_cmd!("vigie")
            .args(args)
            .arg("--db")
            .arg(&copy)
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(!err.contains("readonly"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    }
    assert_eq!(snapshot(&ro), before, "the folder is unchanged");
    mode(&ro, 0o755).unwrap();
}

/// Defect 5 (issue 14): `--db` created folders and files (`/dev/null-journal`)
/// for commands that only read.
#[test]
fn read_only_commands_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("sub").join("vigie.db");
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, "").unwrap();
    let journal_existed = Path::new("/dev/null-journal").exists();
    for args in [&["history"][..], &["diff"], &["report"]] {
        let run = |db: &Path| {
            let out = cargo_bin_cmd!("vigie")
                .args(args)
                .arg("--db")
                .arg(db)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?} {db:?}");
            String::from_utf8(out.stderr).unwrap()
        };
        let err = run(&missing);
        assert!(err.contains("no history database at"), "{err}");
        let err = run(&empty);
        assert!(err.contains("empty.db is not a vigie history database"));
        let err = run(Path::new("/dev/null"));
        assert!(err.contains("/dev/null is not a vigie history database"));
    }
    assert!(!dir.path().join("sub").exists());
    assert_eq!(snapshot(dir.path()), vec![("empty.db".to_string(), 0, 0)]);
    if !journal_existed {
        assert!(!Path::new("/dev/null-journal").exists());
    }
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
