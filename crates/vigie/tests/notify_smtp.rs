//! `vigie notify --smtp --send` against a real SMTP server on loopback
//! (Python's aiosmtpd, started by the test; `tests/smtp/capture.py`):
//! each message is parsed back and checked (recipients, the CSV
//! attachment's rows, hostile server text escaped in the HTML), and a
//! run killed mid-way then run again mails each owner exactly once.
//!
//! Without aiosmtpd the test is skipped with a message, except under
//! `CI=true`, where it fails (`.ci/packages` installs it).

mod common_report;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin_cmd;
use common_report::*;

fn under_ci() -> bool {
    std::env::var("CI")
        .is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn have_aiosmtpd() -> bool {
    Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The capture server; killed when dropped.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/smtp/capture.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("capture.py prints its port");
        Server { child, port, dir: dir.to_path_buf() }
    }

    /// Every message received so far, parsed back.
    fn messages(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                serde_json::from_str(&std::fs::read_to_string(p).unwrap())
                    .unwrap()
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const OWNERS: &str =
    "owner,contact,cidr_or_domain\nAlpha,soc@alpha.test,mail1.example.test\n";

/// RIR data: Beta's network through a role, Gamma's mailbox directly,
/// Delta's IPv6 network through its organisation.
const RPSL: &str = "\
inetnum:        192.0.2.0 - 192.0.2.255
netname:        BETA-NET
abuse-c:        BA1-TEST

inetnum:        198.51.100.0 - 198.51.100.255
netname:        GAMMA-NET
abuse-mailbox:  abuse@gamma.test

inet6num:       2001:db8::/32
netname:        DELTA-V6
org:            ORG-DE1-TEST

role:           Beta Abuse
nic-hdl:        BA1-TEST
abuse-mailbox:  abuse@beta.test

organisation:   ORG-DE1-TEST
abuse-c:        DC1-TEST

role:           Delta CSIRT
nic-hdl:        DC1-TEST
abuse-mailbox:  csirt@delta.test
";

fn at(
    port: u16,
    build: &str,
    target: &str,
    ip: &str,
) -> vigie_model::scan::HostResult {
    let mut h = host(port, build, 12);
    h.target = target.into();
    h.ip = ip.into();
    h
}

/// A fleet of five servers of four owners, recorded in a history
/// database; one Beta server carries hostile text in every field.
fn setup(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut hostile = hostile(12);
    hostile.ip = "192.0.2.11".into();
    let hosts = vec![
        at(443, OLD, "mail1.example.test", "203.0.113.1"),
        at(443, OLD, "192.0.2.10", "192.0.2.10"),
        hostile,
        at(443, NEW, "198.51.100.7", "198.51.100.7"),
        at(443, OLD, "2001:db8::5", "2001:db8::5"),
    ];
    let jsonl = dir.join("fleet.jsonl");
    write_jsonl(&jsonl, &hosts, "");
    let db = dir.join("h.db");
    cargo_bin_cmd!("vigie")
        .args(["history", "--db"])
        .arg(&db)
        .arg("--import")
        .arg(&jsonl)
        .assert()
        .code(1);
    let owners = dir.join("owners.csv");
    std::fs::write(&owners, OWNERS).unwrap();
    let rpsl = dir.join("ripe.db");
    std::fs::write(&rpsl, RPSL).unwrap();
    (db, owners, rpsl)
}

fn notify(
    db: &Path,
    owners: &Path,
    rpsl: &Path,
    out: &Path,
    port: u16,
) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("vigie"));
    cmd.arg("notify")
        .arg("--db")
        .arg(db)
        .arg("--owners")
        .arg(owners)
        .arg("--rpsl")
        .arg(rpsl)
        .arg("-o")
        .arg(out)
        .arg("--smtp")
        .arg(format!("smtp://127.0.0.1:{port}"))
        .args([
            "--from",
            "CERT Test <cert@cert.test>",
            "--reply-to",
            "desk@cert.test",
        ])
        .args(["--rate", "60/min"])
        .env_remove("VIGIE_SMTP_USER")
        .env_remove("VIGIE_SMTP_PASSWORD");
    cmd
}

fn wait_for(server: &Server, n: usize) {
    let start = Instant::now();
    while server.messages().len() < n {
        assert!(start.elapsed() < Duration::from_secs(60), "no message {n}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn notices_reach_the_smtp_server_once_each_also_after_a_crash() {
    if !have_aiosmtpd() {
        assert!(
            !under_ci(),
            "CI=true: aiosmtpd is required (.ci/packages installs it)"
        );
        eprintln!(
            "SKIPPED: python3 with aiosmtpd not found (pip install aiosmtpd)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (db, owners, rpsl) = setup(dir.path());
    let server = Server::start(&dir.path().join("mailbox"));
    let out = dir.path().join("notices");

    // the default is a dry run: .eml files, nothing mailed
    let dry = notify(&db, &owners, &rpsl, &out, server.port).output().unwrap();
    assert_eq!(
        dry.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(String::from_utf8_lossy(&dry.stderr).contains("dry run"));
    let emls = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref().unwrap().path().extension().is_some_and(|x| x == "eml")
        })
        .count();
    assert_eq!(emls, 4);
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.messages().is_empty(), "a dry run mails nothing");

    // killed after the second message, while waiting for the third
    let mut first = notify(&db, &owners, &rpsl, &out, server.port)
        .arg("--send")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&server, 2);
    std::thread::sleep(Duration::from_millis(300));
    first.kill().unwrap();
    first.wait().unwrap();
    let after_crash = server.messages().len();
    assert!(after_crash < 4, "the run was cut short");

    let rerun = notify(&db, &owners, &rpsl, &out, server.port)
        .arg("--send")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&rerun.stderr);
    assert_eq!(rerun.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "mailed {} notice(s); {after_crash} sent before",
            4 - after_crash
        )),
        "{err}"
    );

    let again = notify(&db, &owners, &rpsl, &out, server.port)
        .arg("--send")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("mailed 0 notice(s); 4 sent before"), "{err}");

    let messages = server.messages();
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for m in &messages {
        for r in m["rcpt_tos"].as_array().unwrap() {
            *count.entry(r.as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    let once: BTreeMap<String, usize> = [
        "abuse@beta.test",
        "abuse@gamma.test",
        "csirt@delta.test",
        "soc@alpha.test",
    ]
    .into_iter()
    .map(|r| (r.to_string(), 1))
    .collect();
    assert_eq!(count, once, "each owner exactly once");

    let beta = messages
        .iter()
        .find(|m| m["rcpt_tos"][0] == "abuse@beta.test")
        .unwrap();
    assert_eq!(beta["mail_from"], "cert@cert.test");
    assert_eq!(beta["reply_to"], "desk@cert.test");
    assert_eq!(beta["content_type"], "multipart/mixed");
    let text = beta["text"].as_str().unwrap();
    assert!(text.contains("vigie hunt"), "{text}");
    let html = beta["html"].as_str().unwrap();
    assert!(!html.contains("<img"), "hostile text stays text: {html}");
    assert!(html.contains("&lt;img src=x onerror="), "{html}");
    assert!(!html.contains("<script"), "{html}");
    let attachments = beta["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0]["content_type"], "text/csv");
    let csv = attachments[0]["content"].as_str().unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "header and Beta's two servers: {csv}");
    assert!(rows[0].starts_with("record,host,ip,port,state"), "{csv}");
    assert!(rows.iter().any(|r| r.contains("192.0.2.10")), "{csv}");
    assert!(csv.contains("\"'=HYPERLINK("), "formula neutralised: {csv}");
    let delta = messages
        .iter()
        .find(|m| m["rcpt_tos"][0] == "csirt@delta.test")
        .unwrap();
    assert!(
        delta["attachments"][0]["content"]
            .as_str()
            .unwrap()
            .contains("2001:db8::5")
    );
    let alpha = messages
        .iter()
        .find(|m| m["rcpt_tos"][0] == "soc@alpha.test")
        .unwrap();
    assert!(alpha["to"].as_str().unwrap().contains("Alpha"));
}

#[test]
fn send_refuses_credentials_in_the_url_and_needs_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let (db, owners, rpsl) = setup(dir.path());
    let out = cargo_bin_cmd!("vigie")
        .arg("notify")
        .arg("--db")
        .arg(&db)
        .arg("--owners")
        .arg(&owners)
        .arg("--rpsl")
        .arg(&rpsl)
        .args([
            "--smtp",
            "smtp://user:hunter2@127.0.0.1:1",
            "--send",
            "--from",
            "c@c.test",
        ])
        .arg("-o")
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("credentials in the URL are refused"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let out = cargo_bin_cmd!("vigie")
        .arg("notify")
        .arg("--owners")
        .arg(&owners)
        .args(["--smtp", "smtp://127.0.0.1:1", "--send", "--from", "c@c.test"])
        .arg(dir.path().join("fleet.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--send reads the hosts from --db")
    );
}
