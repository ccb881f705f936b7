//! CLI tests of `vigie scan` against loopback only.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;

use assert_cmd::Command;

/// A plain-HTTP stand-in for an Exchange 2019 front end on loopback.
fn exchange_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nX-OWA-Version: 15.2.1118.7\r\n\
                  X-FEServer: EX\x1b[31m01\r\nContent-Length: 0\r\n\r\n",
            );
        }
    });
    port
}

fn vigie() -> Command {
    Command::cargo_bin("vigie").unwrap()
}

#[test]
fn scan_reports_build_and_exits_one_on_open_cves() {
    let port = exchange_server();
    let out = vigie()
        .args(["scan", &format!("127.0.0.1:{port}"), "--scheme", "http"])
        .args(["--as-of", "2025-06-01", "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(v["status"], "exchange");
    assert_eq!(v["build"], "15.2.1118.7");
    assert_eq!(v["precision"], "exact");
    assert_eq!(v["product"], "Exchange Server 2019");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("exchange 1"), "{stderr}");
}

#[test]
fn shards_split_a_range_without_overlap() {
    let mut all = Vec::new();
    for k in ["1/3", "2/3", "3/3"] {
        let out = vigie()
            .args(["scan", "127.0.0.0/28", "-p", "1", "--seed", "9"])
            .args(["--shard", k, "--no-progress", "--connect-timeout", "1"])
            .output()
            .unwrap();
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            all.push(v["ip"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(all.len(), 16);
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 16);
}

#[test]
fn bad_list_lines_are_named_and_exit_three() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("targets.txt");
    std::fs::write(&list, "# fleet\n127.0.0.1\nnot a target\n").unwrap();
    let out = vigie()
        .args(["scan", "-i", list.to_str().unwrap(), "-p", "1"])
        .arg("--no-progress")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("targets.txt:3"), "{stderr}");
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
}

#[test]
fn usage_errors_exit_two() {
    for args in [
        vec!["scan"],
        vec!["scan", "127.0.0.1", "--shard", "3/2"],
        vec!["scan", "127.0.0.1", "-p", "http"],
    ] {
        vigie().args(&args).assert().code(2);
    }
}

/// Guards the blocklist: a name resolving into it is never contacted.
#[test]
fn names_resolving_into_exclusions_are_not_probed() {
    let port = exchange_server();
    let out = vigie()
        .args(["scan", &format!("localhost:{port}"), "--scheme", "http"])
        .args(["--exclude", "127.0.0.0/8,::1", "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.contains("resolves to excluded"), "{line}");
    assert!(!line.contains("15.2.1118.7"));
}
