//! Server health (`vigie check --host --db`) in the history: one row per
//! server per run holding its health record as JSON, as hunt reports are
//! kept, so `vigie history` can show configuration drift between runs
//! (a judgement whose status changed) and `vigie report --db` can render
//! a stored run. Its table is schema version 3, in both dialects (`schema.rs`).

use vigie_model::health::HealthRecord;

use crate::{Result, RunId, Store};

impl Store {
    /// Record one server's health in a run.
    pub fn record_health(
        &mut self,
        run: RunId,
        record: &HealthRecord,
    ) -> Result<()> {
        let doc = serde_json::to_string(record).map_err(|e| self.json(e))?;
        self.write(
            "INSERT INTO health (run, server, needs_action, doc)",
            vec![
                run.into(),
                record.server.as_str().into(),
                i64::from(record.needs_action()).into(),
                doc.into(),
            ],
        )
    }

    /// The server health records of one run, in the order written.
    pub fn health(&mut self, run: RunId) -> Result<Vec<HealthRecord>> {
        self.docs("SELECT doc FROM health WHERE run = ?1 ORDER BY rowid", run)
    }
}

#[cfg(test)]
mod tests {
    use vigie_model::health::{Group, JudgementRecord, Status};

    use super::*;
    use crate::RunKind;

    fn record(status: Status) -> HealthRecord {
        HealthRecord {
            server: "EXCH01".into(),
            root: "/cases/EXCH01".into(),
            build: Some("15.2.2562.46".into()),
            judgements: vec![JudgementRecord {
                id: "ep.vdir".into(),
                subject: Some("Default Web Site/ECP".into()),
                group: Group::SecurityConfiguration,
                status,
                summary: "x".into(),
                evidence: vec![],
                why: "w".into(),
                reference: "r".into(),
                settle: None,
            }],
            cves: vec![],
            errors: vec![],
        }
    }

    #[test]
    fn health_records_round_trip_per_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("h.db")).unwrap();
        let run =
            s.begin_run(RunKind::Health, "vigie check --host x").unwrap();
        s.record_health(run, &record(Status::Fail)).unwrap();
        s.finish_run(run).unwrap();
        let runs = s.runs().unwrap();
        assert_eq!((runs[0].kind.as_str(), runs[0].items), ("health", 1));
        assert_eq!(s.health(run).unwrap(), [record(Status::Fail)]);
        assert!(s.hunts(run).unwrap().is_empty());
    }

    /// A database written before the health table existed (schema 2) is
    /// upgraded by a recording command; read-only commands say so.
    #[test]
    fn schema_2_database_gains_the_health_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        drop(Store::open(&path).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("DROP TABLE health; PRAGMA user_version = 2;")
            .unwrap();
        drop(conn);
        let old = Store::open_read_only(&path).err().unwrap();
        assert!(
            matches!(old, crate::StoreError::TooOld { found: 2, .. }),
            "{old}"
        );
        let mut s = Store::open(&path).unwrap();
        let run = s.begin_run(RunKind::Health, "m").unwrap();
        s.record_health(run, &record(Status::Ok)).unwrap();
        assert_eq!(s.health(run).unwrap().len(), 1);
    }
}
