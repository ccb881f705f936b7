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

/// A server whose logs reach back to 2020; `attacked` adds a ProxyLogon
/// SSRF answered by the back end and a failed ProxyShell request whose
/// user agent is a script.
fn server(root: &Path, attacked: bool) {
    let mut proxy = String::from(
        "#Software: Microsoft Exchange Server\n\
         #Fields: DateTime,RequestId,UrlStem,AnchorMailbox,UserAgent,\
         ClientIpAddress,ServerHostName,HttpStatus,Method\n\
         2020-12-01T08:00:00Z,1,/owa/,Smtp~a@contoso.local,Mozilla/5.0,\
         10.0.0.7,EX01,200,GET\n",
    );
    let mut iis = String::from(
        "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port \
         cs-username c-ip cs(User-Agent) cs(Cookie) sc-status\n\
         2020-12-01 08:00:00 10.0.0.5 GET /owa/ - 443 a 10.0.0.7 M - 200\n",
    );
    if attacked {
        proxy.push_str(
            "2021-03-03T01:00:00Z,2,/ecp/y.js,\
             ServerInfo~a]@EX01.contoso.local:444/mapi/emsmdb/?#,\
             python-requests/2.25.1,203.0.113.9,EX01,200,POST\n",
        );
        iis.push_str(&format!(
            "2021-08-10 02:00:00 10.0.0.5 POST /autodiscover/autodiscover.json \
             @x/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@x 443 - \
             203.0.113.9 {XSS} - 401\n"
        ));
    }
    write(
        root,
        &format!("{V15}/Logging/HttpProxy/Mapi/HttpProxy_2020120108-1.LOG"),
        &proxy,
    );
    write(root, "inetpub/logs/LogFiles/W3SVC1/u_ex201201.log", &iis);
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
    assert_eq!(doc["findings"][0]["source"]["line"], 4);
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
