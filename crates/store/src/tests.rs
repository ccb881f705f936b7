//! Store tests: crash safety, migrations, and run diffs.

use chrono::{NaiveDate, TimeZone, Utc};
use vigie_model::build::{
    CveState, CveStatus, PatchAssessment, Precision, SupportState,
};
use vigie_model::scan::{HostResult, HostStatus, Identity};

use std::path::Path;

use super::*;

fn host(port: u16, build: &str, vulnerable: bool) -> HostResult {
    let state =
        if vulnerable { CveState::Vulnerable } else { CveState::Patched };
    HostResult {
        record: "scan".into(),
        schema_version: 1,
        target: "127.0.0.1".into(),
        ip: "127.0.0.1".into(),
        port,
        scheme: "https".into(),
        scanned_at: Utc.with_ymd_and_hms(2021, 3, 10, 0, 0, 0).unwrap(),
        status: HostStatus::Exchange,
        product: Some("Exchange Server 2016".into()),
        build: Some(build.into()),
        precision: Some(Precision::Exact),
        assessment: Some(PatchAssessment {
            input: build.into(),
            build: build.into(),
            precision: Precision::Exact,
            product: None,
            cu: None,
            su: None,
            release_date: None,
            match_note: String::new(),
            support: SupportState::Supported,
            latest_su_installed: None,
            latest_update: None,
            days_behind: None,
            cves: vec![CveStatus {
                cve: "CVE-2021-26855".into(),
                family: "ProxyLogon".into(),
                impact: "Remote code execution".into(),
                name: "ProxyLogon".into(),
                cvss: None,
                known_exploited: true,
                state,
                fixed_in: None,
                config_note: None,
            }],
            upgrade_path: vec![],
            as_of: NaiveDate::from_ymd_opt(2021, 3, 10).unwrap(),
            table_as_of: None,
            freshness: None,
        }),
        ssrf_check: None,
        identity: Identity::default(),
        tls: None,
        evidence: vec![],
        error: None,
        elapsed_ms: 1,
    }
}

/// Runs `f` on an SQLite file and on a fresh PostgreSQL database (when
/// PostgreSQL is installed; see `vigie-pgtest`), each given as `--db`
/// would be, with a way to set the schema version behind the store's back.
fn each_driver(label: &str, f: impl Fn(&Path, &dyn Fn(i64))) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sub/vigie.db");
    let set_file = |v: i64| {
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.pragma_update(None, "user_version", v).unwrap();
    };
    f(&file, &set_file);
    if let Some(db) = vigie_pgtest::database(label) {
        let set_pg = |v: i64| {
            db.psql(&format!("UPDATE vigie_schema SET version = {v}"));
        };
        f(Path::new(db.url()), &set_pg);
    }
}

#[test]
fn dropped_store_keeps_hosts_and_leaves_run_unfinished() {
    each_driver("dropped", |path, _| {
        {
            let mut store = Store::open(path).unwrap();
            let run = store.begin_run(RunKind::Scan, "test").unwrap();
            for port in 0..100 {
                store
                    .record_host(run, &host(port, "15.1.2176.2", true))
                    .unwrap();
            }
            // dropped without finish_run, as on Ctrl-C
        }
        let mut store = Store::open(path).unwrap();
        let runs = store.runs().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].items, 100);
        assert!(runs[0].finished_at.is_none());
        let hosts = store.hosts(runs[0].id).unwrap();
        let ports: Vec<u16> = hosts.iter().map(|h| h.port).collect();
        assert_eq!(ports, (0..100).collect::<Vec<_>>(), "in order written");
    });
}

#[test]
fn reader_sees_committed_batches_while_writer_is_open() {
    each_driver("reader", |path, _| {
        let mut writer = Store::open(path).unwrap();
        let run = writer.begin_run(RunKind::Scan, "live").unwrap();
        for port in 0..BATCH_ROWS as u16 {
            writer.record_host(run, &host(port, "15.1.2176.2", true)).unwrap();
        }
        let mut reader = Store::open_read_only(path).unwrap();
        assert_eq!(reader.hosts(run).unwrap().len(), BATCH_ROWS as usize);
        assert!(reader.runs().unwrap()[0].finished_at.is_none());
        writer.finish_run(run).unwrap();
        assert!(reader.runs().unwrap()[0].finished_at.is_some());
    });
}

#[test]
fn schema_version_is_set_and_newer_or_older_databases_are_refused() {
    each_driver("schema", |path, set_version| {
        drop(Store::open(path).unwrap());
        let store = Store::open_read_only(path);
        assert!(store.is_ok(), "current schema reads");
        drop(store);
        set_version(99);
        assert!(matches!(
            Store::open(path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
        assert!(matches!(
            Store::open_read_only(path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
        set_version(schema::known() - 1);
        if schema::known() > 1 {
            assert!(matches!(
                Store::open_read_only(path),
                Err(StoreError::TooOld { .. })
            ));
        }
    });
}

#[test]
fn read_only_open_of_nothing_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("none/vigie.db");
    assert!(matches!(
        Store::open_read_only(&file),
        Err(StoreError::Missing { .. })
    ));
    assert!(!dir.path().join("none").exists());
    let Some(db) = vigie_pgtest::database("read_only_nothing") else {
        return;
    };
    let err = Store::open_read_only(Path::new(db.url())).err().unwrap();
    assert!(matches!(err, StoreError::Missing { .. }), "{err}");
    let tables =
        db.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'");
    assert_eq!(tables.trim(), "0", "a reader created tables");
}

/// Issue 13: many scanners (shards on several machines) write one
/// PostgreSQL database at once, each starting on a fresh database at the
/// same moment: migrations must not race, run ids must not collide, and
/// no host may be lost or doubled.
#[test]
fn concurrent_writers_on_postgresql_lose_and_duplicate_nothing() {
    let Some(db) = vigie_pgtest::database("concurrent_writers") else {
        return;
    };
    const WRITERS: u16 = 6;
    const HOSTS: u16 = 300;
    let start = std::sync::Barrier::new(WRITERS as usize);
    let runs: Vec<RunId> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (start, url) = (&start, db.url());
                s.spawn(move || {
                    start.wait();
                    let mut store = Store::open(Path::new(url)).unwrap();
                    let run = store.begin_run(RunKind::Scan, "shard").unwrap();
                    for i in 0..HOSTS {
                        let port = w * HOSTS + i;
                        store
                            .record_host(run, &host(port, "15.1.2176.2", true))
                            .unwrap();
                    }
                    store.finish_run(run).unwrap();
                    run
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut unique = runs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), WRITERS as usize, "run ids collide: {runs:?}");
    let mut store = Store::open_read_only(Path::new(db.url())).unwrap();
    let mut ports = Vec::new();
    for (w, run) in runs.iter().enumerate() {
        let hosts = store.hosts(*run).unwrap();
        let first = w as u16 * HOSTS;
        let mine: Vec<u16> = hosts.iter().map(|h| h.port).collect();
        assert_eq!(mine, (first..first + HOSTS).collect::<Vec<_>>());
        ports.extend(mine);
    }
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), (WRITERS * HOSTS) as usize);
    assert!(store.runs().unwrap().iter().all(|r| r.finished_at.is_some()));
    let version = db.psql("SELECT max(version) FROM vigie_schema");
    assert_eq!(version.trim(), schema::known().to_string());
}

/// Issue 13: the shards of one scan, recording at the same time, make
/// one run, finished only when its last shard is.
#[test]
fn shards_joining_a_named_run_make_one_run() {
    each_driver("named_run", |path, _| {
        const PARTS: u16 = 4;
        let start = std::sync::Barrier::new(PARTS as usize);
        let ids: Vec<RunId> = std::thread::scope(|s| {
            let handles: Vec<_> = (1..=PARTS)
                .map(|k| {
                    let start = &start;
                    s.spawn(move || {
                        // all open a new database at once: the SQLite
                        // migration must not race either
                        start.wait();
                        let mut store = Store::open(path).unwrap();
                        let part = format!("{k}/{PARTS}");
                        let run = store
                            .join_run(RunKind::Scan, "w48", &part, 4, "scan")
                            .unwrap();
                        for i in 0..100 {
                            let h = host(k * 100 + i, "15.1.2176.2", true);
                            store.record_host(run, &h).unwrap();
                        }
                        run
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.iter().all(|&id| id == ids[0]), "{ids:?}");
        let run = ids[0];
        let mut store = Store::open(path).unwrap();
        for k in 1..PARTS {
            let done = store.finish_part(run, &format!("{k}/4")).unwrap();
            assert!(!done, "finished before its last part");
        }
        assert!(store.finish_part(run, "4/4").unwrap());
        let runs = store.runs().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].items, 400);
        assert!(runs[0].finished_at.is_some());
        // a part run again makes the run unfinished until it finishes
        store.join_run(RunKind::Scan, "w48", "2/4", 4, "scan").unwrap();
        assert!(store.runs().unwrap()[0].finished_at.is_none());
        assert!(store.finish_part(run, "2/4").unwrap());
        // another scan given the same name is refused
        let err = store.join_run(RunKind::Scan, "w48", "1/2", 2, "x");
        assert!(matches!(err, Err(StoreError::RunMismatch { .. })));
    });
}

/// A password in the URL never appears in an error (it would reach
/// stderr and CI logs).
#[test]
fn errors_never_show_the_password() {
    // nothing listens on port 1: the connection is refused
    let url = "postgres://vigie:s3cret-pw@127.0.0.1:1/hist?connect_timeout=2";
    for result in [
        Store::open(Path::new(url)).err(),
        Store::open_read_only(Path::new(url)).err(),
    ] {
        let text = result.unwrap().to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("vigie:***@127.0.0.1:1/hist"), "{text}");
    }
    let bad = "postgres://vigie:s3cret-pw@127.0.0.1/hist?sslmode=maybe";
    let text = Store::open(Path::new(bad)).err().unwrap().to_string();
    assert!(!text.contains("s3cret"), "{text}");
    assert!(text.contains("bad PostgreSQL URL"), "{text}");
}

#[test]
fn diff_lists_exactly_the_changes() {
    let before = vec![
        host(1, "15.1.2176.2", true),
        host(2, "15.1.2176.2", true),
        host(3, "15.1.2242.4", false),
    ];
    let after = vec![
        host(1, "15.1.2242.4", false),
        host(2, "15.1.2176.2", true),
        host(4, "15.1.2176.2", true),
    ];
    let d = diff_runs(&before, &after);
    let keys = |v: &[HostChange]| -> Vec<String> {
        v.iter().map(|c| c.key.clone()).collect()
    };
    assert_eq!(keys(&d.new), ["127.0.0.1|127.0.0.1:4"]);
    assert_eq!(keys(&d.gone), ["127.0.0.1|127.0.0.1:3"]);
    assert_eq!(keys(&d.newly_patched), ["127.0.0.1|127.0.0.1:1"]);
    assert!(d.newly_vulnerable.is_empty());
    assert_eq!(keys(&d.changed_build), ["127.0.0.1|127.0.0.1:1"]);
}
