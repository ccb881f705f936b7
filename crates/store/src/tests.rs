//! Store tests: crash safety, migrations, and run diffs.

use chrono::{NaiveDate, TimeZone, Utc};
use vigie_model::build::{
    CveState, CveStatus, PatchAssessment, Precision, SupportState,
};
use vigie_model::scan::{HostResult, HostStatus, Identity};

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

#[test]
fn dropped_store_keeps_hosts_and_leaves_run_unfinished() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/vigie.db");
    {
        let mut store = Store::open(&path).unwrap();
        let run = store.begin_run(RunKind::Scan, "test").unwrap();
        for port in 0..100 {
            store.record_host(run, &host(port, "15.1.2176.2", true)).unwrap();
        }
        // dropped without finish_run, as on Ctrl-C
    }
    let mut store = Store::open(&path).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].items, 100);
    assert!(runs[0].finished_at.is_none());
    assert_eq!(store.hosts(runs[0].id).unwrap().len(), 100);
}

#[test]
fn reader_sees_committed_batches_while_writer_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigie.db");
    let mut writer = Store::open(&path).unwrap();
    let run = writer.begin_run(RunKind::Scan, "live").unwrap();
    for port in 0..BATCH_ROWS as u16 {
        writer.record_host(run, &host(port, "15.1.2176.2", true)).unwrap();
    }
    let mut reader = Store::open(&path).unwrap();
    assert_eq!(reader.hosts(run).unwrap().len(), BATCH_ROWS as usize);
    writer.finish_run(run).unwrap();
    assert!(reader.runs().unwrap()[0].finished_at.is_some());
}

#[test]
fn schema_version_is_set_and_newer_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigie.db");
    drop(Store::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    let v: i64 =
        conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(v, MIGRATIONS.len() as i64);
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::TooNew { found: 99, .. })
    ));
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
