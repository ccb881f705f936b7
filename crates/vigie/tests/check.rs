//! CLI tests of `vigie check`: every output format (insta snapshots),
//! every input kind, exit codes. All judged at fixed `--as-of` dates.

use assert_cmd::Command;

/// The week after ProxyLogon's disclosure.
const AS_OF: &str = "2021-03-20";

/// A vulnerable CU, its Mar21SU, a CU-only build, a 2010 rollup, CU9's
/// OWA revision, and garbage.
const CASES: [&str; 6] = [
    "15.1.2176.2",
    "Version 15.1 (Build 2176.9)",
    "15.1.2176",
    "14.3.513.0",
    "15.2.858.2",
    "not-a-build",
];

fn vigie() -> Command {
    Command::cargo_bin("vigie").unwrap()
}

fn check(format: &str) -> (String, i32) {
    let out = vigie()
        .args(["check", "--as-of", AS_OF, "--format", format])
        .args(CASES)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    (String::from_utf8(out.stdout).unwrap(), code)
}

#[test]
fn table_format() {
    let (out, code) = check("table");
    assert_eq!(code, 1);
    insta::assert_snapshot!("check_table", out);
}

#[test]
fn json_format() {
    let (out, code) = check("json");
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["results"].as_array().unwrap().len(), 5);
    assert_eq!(doc["errors"][0]["subject"], "not-a-build");
    insta::assert_snapshot!("check_json", out);
}

#[test]
fn jsonl_format() {
    let (out, code) = check("jsonl");
    assert_eq!(code, 1);
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["schema_version"], 1);
    }
    insta::assert_snapshot!("check_jsonl", out);
}

#[test]
fn csv_format() {
    let (out, code) = check("csv");
    assert_eq!(code, 1);
    insta::assert_snapshot!("check_csv", out);
}

#[test]
fn fully_patched_supported_build_exits_zero() {
    vigie()
        .args(["check", "--as-of", "2021-03-10", "15.1.2176.9"])
        .assert()
        .code(0);
}

#[test]
fn only_errors_exit_three_and_name_the_item() {
    let out = vigie()
        .args(["check", "--as-of", AS_OF, "99.1.2.3", "15.1.x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("error  99.1.2.3"));
    assert!(text.contains("error  15.1.x"));
}

#[test]
fn exsetup_pe_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("ExSetup.exe");
    let image = vigie_builds::pe::synthetic_image([15, 2, 792, 10]);
    std::fs::write(&exe, &image).unwrap();
    let truncated = dir.path().join("Truncated.exe");
    std::fs::write(&truncated, &image[..0x150]).unwrap();
    let not_pe = dir.path().join("notes.exe");
    std::fs::write(&not_pe, "hello").unwrap();
    let out = vigie()
        .args(["check", "--as-of", AS_OF, "--format", "jsonl"])
        .args([&exe, &truncated, &not_pe])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[1]["build"], "15.2.792.10");
    assert_eq!(lines[1]["su"], "Mar21SU");
    assert_eq!(lines[2]["type"], "error");
    assert_eq!(lines[2]["kind"], "truncated");
    assert!(lines[3]["message"].as_str().unwrap().contains("not a PE"));
    // The good file is judged even though others failed; 2019 CU8
    // Mar21SU was fully patched and supported then, so only errors: 3.
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn inventory_csv_json_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("inv.csv");
    std::fs::write(&csv, "Server,Build\nex1,15.1.2176.9\nex2,\n").unwrap();
    let json = dir.path().join("inv.json");
    std::fs::write(&json, r#"[{"server":"ex3","build":"15.2.792.10"}]"#)
        .unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "host,version\nex4,15.1.2176.9\n").unwrap();
    let out = vigie()
        .args(["check", "--as-of", "2021-03-10", "--format", "csv"])
        .args([&csv, &json, &bad])
        .arg("-")
        .write_stdin("# from a script\n15.1.2176.9\n")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("ex1,15.1.2176.9"));
    assert!(text.contains("ex3,15.2.792.10"));
    assert!(text.contains("missing build column value"));
    assert!(text.contains("needs a header with `server` and `build`"));
    assert!(text.contains("stdin:2"));
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn csv_cells_are_neutralised() {
    let out = vigie()
        .args(["check", "--as-of", AS_OF, "--format", "csv"])
        .arg("=cmd|' /C calc'!A0")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("'=cmd"), "{text}");
}

#[test]
fn newer_builds_table_is_loaded_and_bad_one_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("builds.csv");
    let mut table = String::from(
        "product,version_name,build,build_short,release_date,kind\n",
    );
    let embedded = include_str!("../../builds/data/builds.csv");
    for line in embedded.lines().skip(1) {
        table.push_str(line);
        table.push('\n');
    }
    table.push_str(
        "Exchange Server SE,RTM Sep26SU,15.2.2562.50,15.2.2562,2026-09-08,SU\n",
    );
    std::fs::write(&good, table).unwrap();
    let out = vigie()
        .args(["check", "--as-of", "2026-09-10", "--format", "json"])
        .arg("--builds")
        .arg(&good)
        .arg("15.2.2562.50")
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["table_as_of"], "2026-09-08");
    assert_eq!(doc["results"][0]["su"], "Sep26SU");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "nope\n1\n").unwrap();
    vigie()
        .args(["check", "15.1.2176.9", "--builds"])
        .arg(&bad)
        .assert()
        .code(2);
}

#[test]
fn terminal_control_characters_in_inputs_are_neutralised() {
    let out = vigie()
        .args(["check", "--as-of", AS_OF, "\u{1b}[2Jgone"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("[2Jgone"));
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn bad_as_of_date_is_a_usage_error() {
    vigie()
        .args(["check", "--as-of", "2021-02-30", "15.1.2176.9"])
        .assert()
        .code(2);
}

/// Issue 9: bad rows of `--builds`/`--cves` files are named by file and
/// line on stderr and skipped; the rest loads (exit 3: inputs had errors).
#[test]
fn bad_rows_of_builds_and_cves_files_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cves = dir.path().join("cves.csv");
    std::fs::write(
        &cves,
        "cve,fixed_in,name,published\n\
         CVE-2026-70571,15.2.2562.46,Test fix,2026-10-13\n\
         CVE-2026-70571,15.2.2562.46,,\n\
         not-a-cve,15.2.2562.46,,\n\
         CVE-2026-70572,15.2.x,,2026-10-13\n",
    )
    .unwrap();
    let out = vigie()
        .args(["check", "--as-of", "2026-11-27", "--format", "json"])
        .arg("--cves")
        .arg(&cves)
        .arg("15.2.2562.46")
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    let name = cves.display().to_string();
    assert!(err.contains(&format!("{name} line 3: duplicate row")), "{err}");
    assert!(err.contains(&format!("{name} line 4: unknown CVE id")), "{err}");
    assert!(err.contains(&format!("{name} line 5: bad build")), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cve = doc["results"][0]["cves"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cve"] == "CVE-2026-70571")
        .unwrap()
        .clone();
    assert_eq!(cve["state"], "patched");
    assert_eq!(doc["table_as_of"], "2026-10-13");
    assert_eq!(out.status.code(), Some(3));
    let missing = dir.path().join("missing.csv");
    std::fs::write(&missing, "cve,name\nCVE-2026-1,x\n").unwrap();
    let out = vigie()
        .args(["check", "15.2.2562.46", "--cves"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("missing column(s): fixed_in"), "{err}");
}
