//! `vigie scan --resume` (the real binary) interrupted with Ctrl-C in the
//! middle of a lab fleet, then run again with the same command: the two
//! runs' output together holds every target exactly once, each judged as
//! the lab's manifest expects, and the interrupted run says it was
//! interrupted and never exits "clean".
//!
//! Every answer of the fleet is delayed so the scan is still running
//! when it is interrupted. Only loopback is contacted.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use vigie_lab::persona::EXPECTED_AS_OF;
use vigie_lab::{Fleet, FleetConfig, ManifestEntry};

/// Every persona once, and a few drawn from the seed.
const HOSTS: usize = 28;
const BASE: Ipv4Addr = Ipv4Addr::new(127, 65, 0, 1);

fn scan_command(range: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("vigie"));
    cmd.args(["scan", range, "-p", "8443,8080", "--as-of", EXPECTED_AS_OF])
        .args(["--rate", "0", "--per-subnet", "0", "--no-progress"])
        .args(["--max-inflight", "4", "--seed", "17"])
        .args(["--connect-timeout", "2", "--tls-timeout", "1"])
        .args(["--request-timeout", "3", "--resume"])
        .arg(dir.join("scan.checkpoint"))
        .arg("-o")
        .arg(dir.join("scan.jsonl"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// Results by `address:port`; each target exactly once.
fn by_target(path: &Path) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let key = format!("{}:{}", v["ip"].as_str().unwrap(), v["port"]);
        assert!(map.insert(key.clone(), v).is_none(), "{key} twice");
    }
    map
}

fn assert_as_manifest(m: &[ManifestEntry], results: &BTreeMap<String, Value>) {
    for h in m {
        let key = format!("{}:{}", h.address, h.port);
        let r = results.get(&key).unwrap_or_else(|| panic!("{key} lost"));
        let who = format!("{key} {}", h.persona);
        let status = serde_json::to_value(h.expected.status).unwrap();
        assert_eq!(r["status"], status, "{who}");
        assert_eq!(r["build"].as_str(), h.expected.build.as_deref(), "{who}");
        let precision = serde_json::to_value(h.expected.precision).unwrap();
        assert_eq!(r["precision"], precision, "{who}");
    }
}

#[test]
fn interrupted_scan_resumed_gives_every_result_once() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fleet = rt
        .block_on(Fleet::start(FleetConfig {
            hosts: HOSTS,
            seed: 4,
            base: BASE,
            https_port: 8443,
            http_port: 8080,
            record_requests: false,
            slow_delay: Duration::from_millis(300),
            delay: Duration::from_millis(100),
            ..Default::default()
        }))
        .unwrap();
    let manifest = fleet.manifest().to_vec();
    let last = Ipv4Addr::from(u32::from(BASE) + HOSTS as u32 - 1);
    let range = format!("{BASE}-{last}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scan.jsonl");

    // First run: Ctrl-C once some results are on disk.
    let mut child = scan_command(&range, dir.path()).spawn().unwrap();
    let start = Instant::now();
    while lines(&out) < 8 {
        assert!(start.elapsed() < Duration::from_secs(30), "no results");
        assert!(child.try_wait().unwrap().is_none(), "finished too soon");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let first = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("INTERRUPTED (resume with --resume)"), "{stderr}");
    assert_ne!(first.status.code(), Some(0), "{stderr}");
    let done_first = lines(&out);
    assert!(done_first < HOSTS * 2, "the first run was not cut short");

    // Second run: the same command picks up where the first stopped.
    let second = scan_command(&range, dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("INTERRUPTED"), "{stderr}");
    let results = by_target(&out);
    assert_eq!(results.len(), HOSTS * 2, "every address on both ports");
    assert_as_manifest(&manifest, &results);
    // The second run probed only what the first left.
    let probed: usize = stderr
        .split("vigie scan: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert_eq!(probed + done_first, HOSTS * 2, "{stderr}");
    rt.block_on(fleet.shutdown());
}
