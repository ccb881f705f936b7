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
    // A hypothetical SE update newer than the table (no such build is known).
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
/// CVE-2099-* ids are hypothetical.
#[test]
fn bad_rows_of_builds_and_cves_files_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cves = dir.path().join("cves.csv");
    std::fs::write(
        &cves,
        "cve,fixed_in,name,published\n\
         CVE-2099-0001,15.2.2562.46,Test fix,2026-10-13\n\
         CVE-2099-0001,15.2.2562.46,,\n\
         not-a-cve,15.2.2562.46,,\n\
         CVE-2099-0002,15.2.x,,2026-10-13\n",
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
        .find(|c| c["cve"] == "CVE-2099-0001")
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

/// Run `vigie check --format jsonl` on `args`; the parsed lines after the
/// run line, and the exit code.
fn jsonl(args: &[&std::ffi::OsStr]) -> (Vec<serde_json::Value>, i32) {
    let out = vigie()
        .args(["check", "--as-of", AS_OF, "--format", "jsonl"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, out.status.code().unwrap())
}

/// Defect 2 (issue 14): results are streamed, so the table format keeps
/// only a bounded summary; past 10,000 builds it says how many it left
/// out instead of holding them all. (Memory itself is shown by
/// bench/check/memory.sh, not timed here.)
#[test]
fn table_summary_is_bounded_on_huge_inventories() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("big.json");
    let mut text = String::from("[");
    for i in 0..10_003 {
        let sep = if i == 0 { "" } else { ",\n" };
        text.push_str(&format!(
            "{sep}{{\"server\":\"ex{i}\",\"build\":\"15.1.2176.9\"}}"
        ));
    }
    text.push(']');
    std::fs::write(&inv, text).unwrap();
    let out = vigie()
        .args(["check", "--as-of", "2021-03-10"])
        .arg(&inv)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("[ex10002]"), "every build has its block");
    assert!(text.contains("... and 3 more build(s), left out"));
    assert!(text.contains("10003 build(s) checked: 0 need action"));
    assert_eq!(out.status.code(), Some(0));
}

/// Defect 6 (issue 14): a CRLF CSV inventory reported line numbers one
/// too low.
#[test]
fn crlf_csv_inventory_reports_true_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.csv");
    std::fs::write(&inv, "server,build\r\nex1,15.1.2176.9\r\nex2,nope\r\n")
        .unwrap();
    let (lines, _) = jsonl(&[inv.as_os_str()]);
    assert!(lines[0]["source"].as_str().unwrap().ends_with("inv.csv:2"));
    let subject = lines[1]["subject"].as_str().unwrap();
    assert!(subject.ends_with("inv.csv:3 (ex2): nope"), "{subject}");
}

/// Defect 6 (issue 14): one bad UTF-8 byte rejected the whole inventory.
#[test]
fn bad_utf8_byte_fails_one_row_not_the_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.csv");
    std::fs::write(
        &inv,
        b"server,build\nex\xff1,15.1.2176.9\nex2,15.1.2176.9\n",
    )
    .unwrap();
    let list = dir.path().join("builds.txt");
    std::fs::write(&list, b"15.1.2176.9\n15.1.\xc3\n15.1.2176.9\n").unwrap();
    let (lines, code) = jsonl(&[inv.as_os_str(), list.as_os_str()]);
    assert_eq!(lines[0]["type"], "error");
    assert!(lines[0]["subject"].as_str().unwrap().ends_with("inv.csv:2"));
    assert!(lines[0]["message"].as_str().unwrap().contains("UTF-8"));
    assert_eq!(lines[1]["server"], "ex2");
    assert_eq!(lines[2]["type"], "result");
    assert!(lines[3]["subject"].as_str().unwrap().ends_with("builds.txt:2"));
    assert_eq!(lines[4]["type"], "result");
    assert_eq!(lines.len(), 5);
    assert_eq!(code, 3);
}

/// Defect 6 (issue 14): a UTF-16 CSV (PowerShell's `Export-Csv` on
/// Windows PowerShell 5 with `-Encoding Unicode`) was rejected whole.
#[test]
fn utf16_csv_inventory_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.csv");
    let mut bytes = vec![0xFF, 0xFE];
    let text =
        "\"Server\",\"Build\"\r\n\"ex1\",\"15.1.2176.9\"\r\n\"ex2\",\"x\"\r\n";
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(&inv, bytes).unwrap();
    let (lines, code) = jsonl(&[inv.as_os_str()]);
    assert_eq!(lines[0]["server"], "ex1");
    assert_eq!(lines[0]["build"], "15.1.2176.9");
    assert!(
        lines[1]["subject"].as_str().unwrap().ends_with("inv.csv:3 (ex2): x")
    );
    assert_eq!(code, 3);
}

/// Defect 6 (issue 14): a missing file was reported as "not an Exchange
/// build number" instead of the I/O error.
#[test]
fn missing_file_is_an_io_error_not_a_bad_build() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("servers.csv");
    let (lines, code) = jsonl(&[missing.as_os_str(), "servers.csv".as_ref()]);
    for line in &lines {
        assert_eq!(line["kind"], "io", "{line}");
        let message = line["message"].as_str().unwrap();
        assert!(message.contains("No such file"), "{message}");
    }
    assert_eq!(lines.len(), 2);
    assert_eq!(code, 3);
}

/// Defect 6 (issue 14): a FIFO (`<(cat list)`, a named pipe) was not a
/// "file" and was judged as a build string.
#[cfg(unix)]
#[test]
fn fifo_is_read_as_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("builds");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success());
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        std::fs::write(writer_path, "server,build\nex1,15.1.2176.9\n")
    });
    let (lines, code) = jsonl(&[fifo.as_os_str()]);
    writer.join().unwrap().unwrap();
    assert_eq!(lines[0]["server"], "ex1", "{lines:?}");
    assert_eq!(code, 0);
}

/// Defect 6 (issue 14): a 10 MB bad line came back whole in the error.
#[test]
fn ten_megabyte_bad_line_is_not_echoed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = "A".repeat(10 << 20);
    let list = dir.path().join("builds.txt");
    std::fs::write(&list, format!("{garbage}\n15.1.2176.9\n")).unwrap();
    let inv = dir.path().join("inv.json");
    std::fs::write(
        &inv,
        format!("{{\"server\":\"{garbage}\",\"build\":\"x\"}}\n"),
    )
    .unwrap();
    for format in ["table", "jsonl", "csv", "json"] {
        let out = vigie()
            .args(["check", "--as-of", AS_OF, "--format", format])
            .arg(&list)
            .arg(&inv)
            .arg(&garbage[..100_000])
            .output()
            .unwrap();
        // One real result (its CVE list is ~28 KB in JSONL with the full
        // table) and capped errors: far below the 100,000-byte argument.
        assert!(
            out.stdout.len() < 60_000,
            "{format}: {} bytes",
            out.stdout.len()
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("builds.txt:1"), "{text}");
        assert!(text.contains("… (100000 bytes)"), "{text}");
        assert_eq!(out.status.code(), Some(3));
    }
}
