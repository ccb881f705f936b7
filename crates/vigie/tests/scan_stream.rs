//! `vigie scan -i` streams its lists in chunks (`--list-chunk`, hidden,
//! set small here): scanning starts before a list ends, shards still
//! cover every target exactly once, and a resume skips the chunks its
//! checkpoint says are done.
//!
//! Targets are loopback ports where nothing listens (each ends as
//! `closed` at once). Only loopback is contacted.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;

/// 40 specs: 30 addresses (`-p 1` gives each one target) and 10
/// literal `address:port` targets.
fn write_list(path: &Path) -> BTreeSet<String> {
    let mut text = String::from("# loopback, nothing listens\n");
    let mut all = BTreeSet::new();
    for i in 1..=30 {
        text.push_str(&format!("127.0.9.{i}\n"));
        all.insert(format!("127.0.9.{i}:1"));
    }
    for i in 1..=10 {
        text.push_str(&format!("127.0.10.{i}:2\n"));
        all.insert(format!("127.0.10.{i}:2"));
    }
    std::fs::write(path, text).unwrap();
    all
}

fn scan(list: &Path, extra: &[&str]) -> Vec<String> {
    let out = Command::new(cargo_bin!("vigie"))
        .args(["scan", "-p", "1", "--no-progress", "--list-chunk", "7"])
        .arg("-i")
        .arg(list)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["status"], "closed");
            format!("{}:{}", v["ip"].as_str().unwrap(), v["port"])
        })
        .collect()
}

#[test]
fn shards_of_a_chunked_list_cover_every_target_once() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.txt");
    let all = write_list(&list);
    let mut seen = Vec::new();
    for k in ["1/3", "2/3", "3/3"] {
        seen.extend(scan(&list, &["--shard", k, "--seed", "5"]));
    }
    assert_eq!(seen.len(), all.len(), "a target twice or lost");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), all);
}

#[test]
fn resume_skips_the_chunks_its_checkpoint_has_done() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.txt");
    let all = write_list(&list);
    // Chunks 0 and 1 (specs 1-14) done, and the first 3 places of 2.
    let cp = dir.path().join("scan.ckpt");
    std::fs::write(
        &cp,
        r#"{"seed":0,"shard":"1/1","total":7,"next":3,"done_above":[],"chunk":2}"#,
    )
    .unwrap();
    let resumed = scan(&list, &["--resume", cp.to_str().unwrap()]);
    assert_eq!(resumed.len(), all.len() - 14 - 3);
    // Chunks 3 and later are complete: specs 22-40.
    for i in 22..=30 {
        assert!(resumed.contains(&format!("127.0.9.{i}:1")), "{i}");
    }
    let back: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cp).unwrap()).unwrap();
    assert_eq!(back["chunk"], 5, "the last chunk, 40 specs / 7");
}

/// Guards streaming: results of the first chunk come out while the list
/// (stdin here) is still open.
#[test]
fn scanning_starts_before_the_list_ends() {
    let mut child = Command::new(cargo_bin!("vigie"))
        .args(["scan", "-i", "-", "-p", "1", "--no-progress"])
        .args(["--list-chunk", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"127.0.11.1\n127.0.11.2\n").unwrap();
    stdin.flush().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    for _ in 0..2 {
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap();
        assert!(line.contains("\"closed\""), "{line}");
    }
    stdin.write_all(b"127.0.11.3\n").unwrap();
    drop(stdin);
    let last = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(last.contains("127.0.11.3"), "{last}");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
