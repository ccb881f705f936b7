//! CLI tests of `vigie hunt`: every output format (insta snapshots, with
//! temporary paths, run times and the version redacted), the per-host
//! files of `--out` and their escaping of attacker text, and exit codes.

use std::path::Path;

use assert_cmd::Command;

const V15: &str = "Program Files/Microsoft/Exchange Server/V15";
const XSS: &str = "<script>alert(1)</script>";

fn vigie() -> Command {
    Command::cargo_bin("vigie").unwrap()
}

fn write(root: &Path, rel: &str, data: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

const PROXY_HEADER: &str = "#Software: Microsoft Exchange Server\n\
     #Fields: DateTime,RequestId,UrlStem,AnchorMailbox,UserAgent,\
     ClientIpAddress,ServerHostName,HttpStatus,Method\n";
const IIS_HEADER: &str = "#Fields: date time s-ip cs-method cs-uri-stem \
     cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Cookie) \
     sc-status\n";

/// The months of a server's logs: 2020-12 to 2023-01.
fn months() -> impl Iterator<Item = (i32, u32)> {
    (0..26u32).map(|i| (2020 + (11 + i as i32) / 12, (11 + i) % 12 + 1))
}

fn days_in(y: i32, m: u32) -> u32 {
    match m {
        2 if y % 4 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A server whose logs hold a record on every day from 2020-12-01 to
/// 2023-01-31 (one HttpProxy and one IIS file a month, named as Exchange
/// and IIS name them); `attacked` adds a ProxyLogon SSRF answered by the
/// back end (2021-03-03) and a failed ProxyShell request whose user
/// agent is a script (2021-08-10).
fn server(root: &Path, attacked: bool) {
    for (y, m) in months() {
        let mut proxy = String::from(PROXY_HEADER);
        let mut iis = String::from(IIS_HEADER);
        for d in 1..=days_in(y, m) {
            proxy.push_str(&format!(
                "{y}-{m:02}-{d:02}T08:00:00Z,1,/owa/,Smtp~a@contoso.local,\
                 Mozilla/5.0,10.0.0.7,EX01,200,GET\n"
            ));
            iis.push_str(&format!(
                "{y}-{m:02}-{d:02} 08:00:00 10.0.0.5 GET /owa/ - 443 a \
                 10.0.0.7 M - 200\n"
            ));
            if attacked && (y, m, d) == (2021, 3, 3) {
                proxy.push_str(
                    "2021-03-03T09:00:00Z,2,/ecp/y.js,\
                     ServerInfo~a]@EX01.contoso.local:444/mapi/emsmdb/?#,\
                     python-requests/2.25.1,203.0.113.9,EX01,200,POST\n",
                );
            }
            if attacked && (y, m, d) == (2021, 8, 10) {
                iis.push_str(&format!(
                    "2021-08-10 09:00:00 10.0.0.5 POST \
                     /autodiscover/autodiscover.json \
                     @x/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@x \
                     443 - 203.0.113.9 {XSS} - 401\n"
                ));
            }
        }
        write(
            root,
            &format!(
                "{V15}/Logging/HttpProxy/Mapi/HttpProxy_{y}{m:02}0100-1.LOG"
            ),
            &proxy,
        );
        let yy = y - 2000;
        write(
            root,
            &format!("inetpub/logs/LogFiles/W3SVC1/u_ex{yy:02}{m:02}.log"),
            &iis,
        );
    }
    write(root, &format!("{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"), "x");
}

struct Run {
    stdout: String,
    code: i32,
}

fn hunt(root: &Path, args: &[&str]) -> Run {
    let out = vigie()
        .arg("hunt")
        .arg(root)
        .args(["--threads", "2"])
        .args(args)
        .output()
        .unwrap();
    Run {
        stdout: String::from_utf8(out.stdout).unwrap(),
        code: out.status.code().unwrap(),
    }
}

/// Temporary paths and the version vary between runs and releases.
fn redact(text: &str, root: &Path) -> String {
    text.replace(&root.display().to_string(), "[EVIDENCE]")
        .replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
}

fn attacked() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("EX01");
    server(&root, true);
    (dir, root)
}

#[test]
fn table_format() {
    let (_dir, root) = attacked();
    let run = hunt(&root, &[]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("vigie hunt: EX01\nVerdict: EXPLOITED"));
    insta::assert_snapshot!("hunt_table", redact(&run.stdout, &root));
}

#[test]
fn json_format() {
    let (_dir, root) = attacked();
    let run = hunt(&root, &["--format", "json"]);
    assert_eq!(run.code, 1);
    let mut doc: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["record"], "hunt");
    assert_eq!(doc["tool"]["schema_version"], 1);
    assert_eq!(doc["verdict"], "exploited");
    assert_eq!(doc["findings"][0]["source"]["line"], 6);
    doc["started_at"] = "[STARTED]".into();
    let text = serde_json::to_string_pretty(&doc).unwrap();
    insta::assert_snapshot!("hunt_json", redact(&text, &root));
}

#[test]
fn jsonl_format() {
    let (_dir, root) = attacked();
    let run = hunt(&root, &["--format", "jsonl"]);
    assert_eq!(run.code, 1);
    for line in run.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["host"], "EX01");
        assert!(v["rule_id"].is_string());
    }
    assert_eq!(run.stdout.lines().count(), 2);
    insta::assert_snapshot!("hunt_jsonl", redact(&run.stdout, &root));
}

#[test]
fn out_writes_every_file_and_escapes_attacker_text() {
    let (dir, root) = attacked();
    // A file name an attacker chose, inside a web shell folder.
    #[cfg(unix)]
    write(
        &root,
        &format!("{V15}/FrontEnd/HttpProxy/owa/auth/{XSS}.aspx"),
        "x",
    );
    let out = dir.path().join("reports");
    let run = hunt(&root, &["--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    for ext in
        ["findings.jsonl", "timeline.jsonl", "timeline.csv", "html", "json"]
    {
        let p = out.join(format!("EX01.{ext}"));
        assert!(p.is_file(), "{} missing", p.display());
    }
    let html = std::fs::read_to_string(out.join("EX01.html")).unwrap();
    assert!(html.contains("Verdict"));
    assert!(!html.contains(XSS), "raw script in the HTML report");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let csv = std::fs::read_to_string(out.join("EX01.timeline.csv")).unwrap();
    assert!(csv.starts_with("message,datetime,timestamp_desc"));
    // Header, two log findings, and on Unix the planted page: its
    // finding plus its created and modified times.
    let expected = if cfg!(unix) { 6 } else { 3 };
    assert_eq!(csv.lines().count(), expected, "{csv}");
    let doc = std::fs::read_to_string(out.join("EX01.json")).unwrap();
    assert_eq!(doc.lines().count(), 1, "one line: also a JSONL record");
    let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(v["host"], "EX01");
}

/// The README's and docs/hunt.md's exit-code tables must give an
/// inconclusive hunt the code the binary returns (3): the README once said 1.
#[test]
fn documented_exit_code_of_an_inconclusive_hunt_is_three() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for doc in ["README.md", "docs/hunt.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        let row = |code: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("| {code} |")))
                .unwrap_or_else(|| panic!("{doc}: no exit code {code} row"))
                .to_lowercase()
        };
        assert!(row("3").contains("inconclusive"), "{doc}: code 3 row");
        assert!(!row("1").contains("conclude"), "{doc}: code 1 row");
    }
}

#[test]
fn exit_codes_tell_clean_inconclusive_and_fatal_apart() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("EX02");
    server(&clean, false);
    let run = hunt(&clean, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("Verdict: CLEAN"));
    // No logs at all: not clean.
    let bare = dir.path().join("EX03");
    write(
        &bare,
        &format!("{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"),
        "x",
    );
    let run = hunt(&bare, &[]);
    assert_eq!(run.code, 3);
    assert!(run.stdout.contains("Verdict: INCONCLUSIVE"));
    // Nothing readable: fatal.
    let run = hunt(Path::new("/nonexistent/vigie-hunt"), &[]);
    assert_eq!(run.code, 2);
    // Reports may not be written into the evidence.
    let inside = clean.join("reports");
    let run = hunt(&clean, &["--out", inside.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(!inside.exists());
    // Bad dates are usage errors.
    let run = hunt(&clean, &["--since", "yesterday"]);
    assert_eq!(run.code, 2);
}

#[test]
fn since_moves_the_window_the_logs_must_cover() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("EX04");
    server(&root, false);
    let run = hunt(&root, &["--since", "2020-12-02", "--format", "json"]);
    assert_eq!(run.code, 0);
    let run = hunt(&root, &["--since", "2020-11-01", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["verdict"], "inconclusive");
    assert_eq!(run.code, 3);
}

#[test]
fn db_records_the_hunt() {
    let (dir, root) = attacked();
    let db = dir.path().join("vigie.db");
    let run = hunt(&root, &["--db", db.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let mut store = vigie_store_open(&db);
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(store.hunts(runs[0].id).unwrap()[0].host, "EX01");
}

fn vigie_store_open(p: &Path) -> vigie_store::Store {
    vigie_store::Store::open(p).unwrap()
}

/// Defect 7 of issue 14: `--threads` had no upper bound (10,000 threads
/// were still being started after 30 s). Above the cap it is a usage
/// error, given before any input is read.
#[test]
fn threads_above_the_cap_are_a_usage_error_before_any_io() {
    let out = vigie()
        .args(["hunt", "/nonexistent/vigie-threads", "--threads", "10000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("limit of 256"), "{stderr}");
    assert!(!stderr.contains("cannot read input"), "{stderr}");
    let out = vigie()
        .args(["hunt", "/nonexistent/vigie-threads", "--threads", "256"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no input: fatal, not usage");
}

/// Defect 7 of issue 14: the evtx crate's coloured `WARN` lines reached
/// stderr when it was not a terminal. Its warnings about a file are
/// errors of that file in the report; stderr carries no escape codes.
#[test]
fn evtx_crate_warnings_become_errors_of_their_file() {
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../hunt/tests/fixtures/real/evtx-to-mitre/",
        "ID4756-Exchange_admin_group_change.evtx"
    );
    let mut data = std::fs::read(src).unwrap();
    data[60] ^= 0xFF; // inside the header's CRC32: the crate warns
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Security.evtx");
    std::fs::write(&p, &data).unwrap();
    let out = vigie()
        .args(["hunt", "--format", "json", "--threads", "1"])
        .arg(&p)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains('\x1b'), "{stderr}");
    assert!(!stderr.contains("CRC32"), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = doc["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["message"].as_str().is_some_and(|m| m
            .contains("evtx parser: WARN")
            && m.contains("CRC32"))
            && e["subject"].as_str().unwrap().ends_with("Security.evtx")),
        "{errors:?}"
    );
    assert_eq!(out.status.code(), Some(3));
}

/// A bare server (a web folder to check) with one log file.
fn bare_with(root: &Path, rel: &str, data: &[u8]) {
    write(root, &format!("{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"), "x");
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

fn json_hunt(root: &Path) -> (serde_json::Value, i32) {
    let run = hunt(root, &["--format", "json"]);
    (serde_json::from_str(&run.stdout).unwrap(), run.code)
}

/// Defect 1 of issue 14, "a false CLEAN from one line": an IIS log whose
/// only real record is from 2024-05-01 was INCONCLUSIVE (exit 3); one
/// more line dated 1970-01-01 made it CLEAN (exit 0). The line is now
/// reported and ignored, and the verdict stays inconclusive.
#[test]
fn a_false_clean_from_one_line_iis() {
    let dir = tempfile::tempdir().unwrap();
    for (name, forged) in [("EX05", false), ("EX06", true)] {
        let root = dir.path().join(name);
        let mut log = IIS_HEADER.to_string();
        if forged {
            log.push_str(
                "1970-01-01 00:00:00 10.0.0.5 GET /owa/ - 443 a 10.0.0.7 M - 200\n",
            );
        }
        log.push_str(
            "2024-05-01 08:00:00 10.0.0.5 GET /owa/ - 443 a 10.0.0.7 M - 200\n",
        );
        bare_with(
            &root,
            "inetpub/logs/LogFiles/W3SVC1/u_ex240501.log",
            log.as_bytes(),
        );
        let (doc, code) = json_hunt(&root);
        assert_eq!(doc["verdict"], "inconclusive", "{name}");
        assert_eq!(code, 3, "{name}");
        let iis = &doc["coverage"][3];
        assert_eq!(iis["first"], "2024-05-01T08:00:00Z", "{name}");
        assert_eq!(iis["implausible"], u64::from(forged));
        let errors = doc["errors"].as_array().unwrap();
        assert_eq!(
            errors.iter().any(|e| e["message"]
                .as_str()
                .unwrap()
                .contains("before Exchange Server existed")),
            forged,
            "{errors:?}"
        );
    }
}

/// Defect 1 of issue 14, the same with an HttpProxy log.
#[test]
fn a_false_clean_from_one_line_httpproxy() {
    let dir = tempfile::tempdir().unwrap();
    for (name, forged) in [("EX07", false), ("EX08", true)] {
        let root = dir.path().join(name);
        let mut log = String::from(PROXY_HEADER);
        if forged {
            log.push_str(
                "1970-01-01T00:00:00Z,1,/owa/,Smtp~a@c.local,M,10.0.0.7,EX01,200,GET\n",
            );
        }
        log.push_str(
            "2024-05-01T08:00:00Z,2,/owa/,Smtp~a@c.local,M,10.0.0.7,EX01,200,GET\n",
        );
        bare_with(
            &root,
            &format!("{V15}/Logging/HttpProxy/Owa/HttpProxy_2024050108-1.LOG"),
            log.as_bytes(),
        );
        let (doc, code) = json_hunt(&root);
        assert_eq!(doc["verdict"], "inconclusive", "{name}");
        assert_eq!(code, 3, "{name}");
        let pl = &doc["families"][0];
        assert_eq!(pl["verdict"], "inconclusive");
        assert_eq!(pl["window"]["from"], "2021-01-01");
        assert_eq!(pl["window"]["to"], "2024-05-01");
        assert_eq!(doc["coverage"][0]["implausible"], u64::from(forged));
    }
}

/// Defect 1 of issue 14: days without logs inside the window are a
/// finding of their own (VG-LOG-001) and keep the families they blind
/// inconclusive, even where every other day is covered.
#[test]
fn a_deleted_week_of_logs_is_a_gap_finding() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("EX09");
    server(&root, false);
    let gone = root.join("inetpub/logs/LogFiles/W3SVC1/u_ex2209.log");
    std::fs::remove_file(gone).unwrap();
    let (doc, code) = json_hunt(&root);
    assert_eq!(code, 3);
    assert_eq!(doc["verdict"], "inconclusive");
    let gaps: Vec<&serde_json::Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "VG-LOG-001")
        .collect();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["details"]["from"], "2022-09-01");
    assert_eq!(gaps[0]["details"]["to"], "2022-09-30");
    // ProxyLogon, and since HttpProxy is read for the autodiscover and
    // OWA routes to remote PowerShell, ProxyNotShell and OWASSRF, are
    // still seen through HttpProxy; ProxyShell (IIS only) is not.
    assert_eq!(doc["families"][0]["verdict"], "clean");
    assert_eq!(doc["families"][1]["family"], "proxy_shell");
    assert_eq!(doc["families"][1]["verdict"], "inconclusive");
    assert_eq!(doc["families"][2]["verdict"], "clean");
    assert_eq!(doc["families"][3]["family"], "owassrf");
    assert_eq!(doc["families"][3]["verdict"], "clean");
}

fn utf16le(text: &str, bom: bool) -> Vec<u8> {
    let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
    for u in text.encode_utf16() {
        out.extend(u.to_le_bytes());
    }
    out
}

/// Defect 4 of issue 14: a UTF-16LE HttpProxy log with six SSRF lines
/// gave 0 findings and 0 errors. It is decoded, with a BOM or without.
#[test]
fn utf16le_httpproxy_log_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::from(PROXY_HEADER);
    for i in 0..6 {
        log.push_str(&format!(
            "2021-03-03T01:0{i}:00Z,{i},/ecp/y.js,\
             ServerInfo~a]@EX01.contoso.local:444/mapi/emsmdb/?#,\
             python-requests/2.25.1,203.0.113.9,EX01,200,POST\r\n"
        ));
    }
    for bom in [true, false] {
        let folder = dir.path().join(format!("bom-{bom}/HttpProxy/Ecp"));
        std::fs::create_dir_all(&folder).unwrap();
        let p = folder.join("HttpProxy_2021030301-1.LOG");
        let log = log.replace('\n', "\r\n").replace("\r\r", "\r");
        std::fs::write(&p, utf16le(&log, bom)).unwrap();
        let run = hunt(&p, &["--format", "json"]);
        let doc: serde_json::Value =
            serde_json::from_str(&run.stdout).unwrap();
        let ssrf = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule_id"] == "VG-PL-001")
            .count();
        assert_eq!(ssrf, 6, "bom {bom}: {}", run.stdout);
        assert_eq!(doc["coverage"][0]["records"], 6);
        assert_eq!(run.code, 1);
    }
}

/// Defect 4 of issue 14: a UTF-16LE JSON event export was ignored with no
/// coverage and no error, and a one-line JSON array counted as one
/// record. Both shapes and encodings give every event.
#[test]
fn json_event_exports_in_utf16_and_as_arrays_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let event = |i: u32| {
        format!(
            "{{\"EventID\":4688,\"TimeCreated\":\"2021-03-03T0{i}:00:00Z\",\
             \"ParentProcessName\":\"C:\\\\Windows\\\\System32\\\\inetsrv\\\\w3wp.exe\",\
             \"NewProcessName\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\
             \"CommandLine\":\"cmd /c whoami\"}}"
        )
    };
    let events: Vec<String> = (1..=3).map(event).collect();
    let array = format!("[{}]", events.join(","));
    let lines = events.join("\r\n");
    let root = dir.path().join("EX10");
    let ev = root.join("Windows/System32/winevt/Logs");
    std::fs::create_dir_all(&ev).unwrap();
    std::fs::write(ev.join("array.json"), &array).unwrap();
    std::fs::write(ev.join("utf16.json"), utf16le(&lines, true)).unwrap();
    std::fs::write(ev.join("utf16-array.json"), utf16le(&array, false))
        .unwrap();
    let (doc, code) = json_hunt(&root);
    assert_eq!(code, 1);
    let shells = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "VG-EV-003")
        .count();
    assert_eq!(shells, 9, "{doc:#}");
    assert_eq!(doc["coverage"][5]["files"], 3);
    assert_eq!(doc["coverage"][5]["records"], 9);
}

/// Defect 4 of issue 14: a file that cannot be read as what its name says
/// is an error in the report, never a silent zero.
#[test]
fn an_unreadable_log_is_an_error_not_a_silent_zero() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("HttpProxy/Owa");
    std::fs::create_dir_all(&folder).unwrap();
    let p = folder.join("HttpProxy_2021030301-1.LOG");
    // UTF-32: neither UTF-8 nor UTF-16.
    let text = format!("{PROXY_HEADER}2021-03-03T01:00:00Z,1,/owa/\n");
    let data: Vec<u8> =
        text.chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
    std::fs::write(&p, data).unwrap();
    let run = hunt(&p, &["--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(run.code, 3);
    let errors = doc["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["message"]
            .as_str()
            .unwrap()
            .contains("not the log its name says")),
        "{errors:?}"
    );
}
