//! Issue 13: many scanners, one PostgreSQL history. Four `vigie scan
//! --shard K/4 --run-name NAME` processes write one database at once,
//! into one run, and together record exactly the hosts one process
//! records alone (and `diff` between that run and a one-process run of
//! the same fleet finds no change); a scanner killed with
//! SIGKILL mid-run leaves its run unfinished and the database consistent,
//! and `diff` passes over it.
//!
//! A private PostgreSQL server is started for the test (`vigie-pgtest`;
//! skipped with a message where PostgreSQL is not installed, failed under
//! `CI=true`). Only loopback is contacted.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use vigie_lab::persona::EXPECTED_AS_OF;
use vigie_lab::{Fleet, FleetConfig};
use vigie_store::Store;

/// A fleet and the runtime that serves it while the binaries run.
struct Lab {
    rt: tokio::runtime::Runtime,
    fleet: Option<Fleet>,
}

impl Lab {
    fn start(base: Ipv4Addr, hosts: usize) -> Lab {
        // thousands of listeners, plus what the scanners open
        let _ = vigie_scan::raise_fd_limit();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fleet = rt
            .block_on(Fleet::start(FleetConfig {
                hosts,
                seed: 13,
                base,
                https_port: 8443,
                http_port: 8080,
                record_requests: false,
                slow_delay: Duration::from_millis(300),
                ..Default::default()
            }))
            .unwrap();
        Lab { rt, fleet: Some(fleet) }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(f) = self.fleet.take() {
            self.rt.block_on(f.shutdown());
        }
    }
}

/// `vigie scan RANGE --db URL` with short timeouts, not yet waited for.
fn spawn_scan(range: &str, db: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["scan", range, "-p", "8443,8080", "--as-of", EXPECTED_AS_OF])
        .args(["--per-subnet", "0", "--no-progress", "--max-inflight", "256"])
        .args(["--connect-timeout", "2", "--tls-timeout", "2"])
        .args(["--request-timeout", "3", "-o", "/dev/null", "--db", db])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait for a scan; it must have found the fleet's vulnerable servers.
fn finished(child: Child) {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("history database:"), "{stderr}");
}

fn vigie(args: &[&str], db: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(args)
        .args(["--db", db])
        .output()
        .unwrap()
}

/// Every host of every run of the database, `key -> state`, with the
/// number of rows read (more rows than keys: a host recorded twice).
fn recorded(db: &str, runs: &[i64]) -> (BTreeMap<String, String>, usize) {
    let mut store = Store::open_read_only(Path::new(db)).unwrap();
    let (mut hosts, mut rows) = (BTreeMap::new(), 0);
    for run in runs {
        for h in store.hosts(*run).unwrap() {
            rows += 1;
            hosts.insert(vigie_store::host_key(&h), h.state().to_string());
        }
    }
    (hosts, rows)
}

fn run_ids(db: &str) -> Vec<(i64, bool)> {
    let mut store = Store::open_read_only(Path::new(db)).unwrap();
    let runs = store.runs().unwrap();
    runs.iter().map(|r| (r.id, r.finished_at.is_some())).collect()
}

#[test]
fn four_shard_processes_record_exactly_what_one_process_records() {
    let Some(sharded) = vigie_pgtest::database("four_shards") else {
        return;
    };
    let single = sharded.another("one_process");
    let lab = Lab::start(Ipv4Addr::new(127, 165, 0, 0), 4096);
    let range = "127.165.0.0/20";
    // Four scanners start together on an empty database: the schema is
    // created once, under the migration lock, while the others wait.
    let shards: Vec<Child> = (1..=4)
        .map(|k| {
            let shard = format!("{k}/4");
            spawn_scan(
                range,
                sharded.url(),
                &["--shard", &shard, "--rate", "0"],
            )
        })
        .collect();
    shards.into_iter().for_each(finished);
    finished(spawn_scan(range, single.url(), &["--rate", "0"]));
    drop(lab);

    let runs = run_ids(sharded.url());
    assert_eq!(runs.len(), 4, "{runs:?}");
    assert!(runs.iter().all(|(_, done)| *done), "{runs:?}");
    let ids: Vec<i64> = runs.iter().map(|(id, _)| *id).collect();
    let (shard_hosts, rows) = recorded(sharded.url(), &ids);
    assert_eq!(rows, shard_hosts.len(), "a host recorded twice");

    let one = run_ids(single.url());
    assert_eq!(one.len(), 1);
    let (one_hosts, one_rows) = recorded(single.url(), &[one[0].0]);
    assert_eq!(one_rows, 4096 * 2, "every address on both ports");
    let keys =
        |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&shard_hosts), keys(&one_hosts), "hosts lost or added");
    // Same judgement too, but for a host that timed out in one of the
    // runs on a loaded machine (an error is not a different answer).
    let differ: Vec<_> = one_hosts
        .iter()
        .filter(|(k, s)| {
            let t = &shard_hosts[*k];
            t != *s && *s != "error" && t != "error"
        })
        .collect();
    assert!(differ.is_empty(), "judged differently: {differ:?}");
}

/// How many hosts the database holds (committed batches only; 0 before
/// the scanner has created the tables).
fn host_rows(db: &vigie_pgtest::TestDb) -> usize {
    let n = db.try_psql("SELECT count(*) FROM hosts").unwrap_or_default();
    n.trim().parse().unwrap_or(0)
}

#[test]
fn a_scanner_killed_mid_run_leaves_a_consistent_database() {
    let Some(db) = vigie_pgtest::database("killed_writer") else {
        return;
    };
    let lab = Lab::start(Ipv4Addr::new(127, 166, 0, 0), 1024);
    let range = "127.166.0.0/22";
    // Paced so that it is surely still running when killed.
    let mut victim = spawn_scan(range, db.url(), &["--rate", "200"]);
    let start = Instant::now();
    while host_rows(&db) < 100 {
        assert!(start.elapsed() < Duration::from_secs(60), "no progress");
        assert!(victim.try_wait().unwrap().is_none(), "finished too soon");
        std::thread::sleep(Duration::from_millis(50));
    }
    victim.kill().unwrap(); // SIGKILL: no chance to clean up
    victim.wait().unwrap();

    // The server rolls the open batch back as the connection drops.
    let start = Instant::now();
    let open = || {
        db.psql(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' \
             AND state LIKE 'idle in transaction%'",
            db.name()
        ))
    };
    while open().trim() != "0" {
        assert!(start.elapsed() < Duration::from_secs(10), "left open");
        std::thread::sleep(Duration::from_millis(50));
    }
    let runs = run_ids(db.url());
    assert_eq!(runs, [(1, false)], "the killed run stays unfinished");
    let (hosts, rows) = recorded(db.url(), &[1]);
    assert_eq!(rows, hosts.len(), "a host recorded twice");
    assert!((100..2048).contains(&rows), "{rows} hosts");

    // `diff` passes over the killed run: one finished run is not enough,
    let out = vigie(&["diff"], db.url());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("skipped unfinished run(s) 1"), "{stderr}");
    // and after two complete scans it compares those two.
    finished(spawn_scan(range, db.url(), &["--rate", "0"]));
    finished(spawn_scan(range, db.url(), &["--rate", "0"]));
    drop(lab);
    let out = vigie(&["diff"], db.url());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("runs 2 -> 3\nnew: 0\ngone: 0\n"), "{text}");
    let out = vigie(&["history"], db.url());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("(unfinished)").count(), 1, "{text}");
    let out = vigie(&["report", "--format", "csv"], db.url());
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.len() > 1000);
}
