//! History of scan, hunt and server-health runs, and diffs between runs,
//! in an SQLite file (the default) or a PostgreSQL database shared by many
//! scanners.
//!
//! One database holds every run. Writes are batched in short
//! transactions (a few dozen hosts or a fraction of a second), so a crash
//! or Ctrl-C mid-run loses at most the batch in flight and always leaves a
//! consistent database; a run never finished stays marked unfinished.
//! SQLite's WAL mode lets `vigie report`/`diff` read while a scan writes;
//! on PostgreSQL any number of scanners write at once, each run with its
//! own id. Everything here is written once above [`driver`]'s seam; the
//! schema has one text per dialect ([`schema`]).
//!
//! A URL given where a path is expected (`--db postgres://...`) selects
//! PostgreSQL ([`Location::parse`]); its password is never shown.

#![deny(missing_docs)]

mod diff;
mod driver;
mod health;
mod location;
mod notices;
mod pg;
mod schema;
mod sqlite;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use vigie_model::hunt::HuntReport;
use vigie_model::scan::HostResult;

use crate::driver::{Conn, DbError, Row, Value};
use crate::pg::{ConnectError, Pg};
use crate::schema::known;

pub use diff::{Diff, HostChange, diff_runs};
pub use location::{Location, is_postgres_url, redact_url};
pub use notices::{Notice, NoticeState};

/// Identifier of one run in the store.
pub type RunId = i64;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// PostgreSQL failed (or could not be reached).
    #[error("database {db}: {detail}")]
    Postgres {
        /// The database URL, password redacted.
        db: String,
        /// The client's or the server's words (the client's error is
        /// kept as text: its cause chain would repeat it in messages).
        detail: String,
    },
    /// A `postgres://` URL that is not a valid connection string.
    #[error("database {db}: bad PostgreSQL URL: {reason}")]
    BadUrl {
        /// The URL, password redacted.
        db: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The connection stopped, or a column held something the store
    /// never writes there.
    #[error("database {db}: {detail}")]
    Backend {
        /// The database, password redacted.
        db: String,
        /// What happened.
        detail: String,
    },
    /// A stored document could not be read back.
    #[error("database {path}: bad stored record: {source}")]
    Json {
        /// The database file (or URL, password redacted).
        path: PathBuf,
        /// The decoding error.
        source: serde_json::Error,
    },
    /// The file was written by a newer vigie.
    #[error(
        "database {path}: schema {found} is newer than this vigie ({known})"
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Schema version in the file.
        found: i64,
        /// Newest schema this build knows.
        known: i64,
    },
    /// A read-only command was given a database that does not exist
    /// (it is not created: reading must leave no trace).
    #[error(
        "no history database at {path} (vigie scan --db or vigie history \
         --import records one)"
    )]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// The database could not be looked at.
    #[error("database {path}: {source}")]
    Io {
        /// The database file.
        path: PathBuf,
        /// The system error.
        source: std::io::Error,
    },
    /// The file was written by an older vigie and a read-only command
    /// will not upgrade it.
    #[error(
        "database {path}: schema {found} is older than this vigie \
         ({known}); a recording command (vigie history --db FILE \
         --import, vigie scan --db FILE) upgrades it"
    )]
    TooOld {
        /// The database file.
        path: PathBuf,
        /// Schema version in the file.
        found: i64,
        /// Schema this build reads.
        known: i64,
    },
    /// The file has no vigie schema at all (empty, `/dev/null`, some
    /// other SQLite file).
    #[error("{path} is not a vigie history database (schema version 0)")]
    NotHistory {
        /// The file.
        path: PathBuf,
    },
    /// No such run.
    #[error("no run {0} in the database")]
    NoRun(RunId),
    /// A named run joined with another kind or number of parts than it
    /// was started with (two different scans given the same name).
    #[error(
        "database {db}: run {label:?} is a {found} run of {found_parts} \
         part(s), not a {kind} run of {parts}: give this scan another name"
    )]
    RunMismatch {
        /// The database, password redacted.
        db: String,
        /// The run's name.
        label: String,
        /// Kind asked for.
        kind: String,
        /// Parts asked for.
        parts: i64,
        /// Kind stored.
        found: String,
        /// Parts stored.
        found_parts: i64,
    },
    /// Not enough runs to compare.
    #[error("need two scan runs to compare, the database has {0}")]
    TooFewRuns(usize),
}

/// Result alias of the store.
pub type Result<T> = std::result::Result<T, StoreError>;

/// What kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// `vigie scan`.
    Scan,
    /// `vigie hunt`.
    Hunt,
    /// `vigie check --host` (server health).
    Health,
}

impl RunKind {
    fn as_str(self) -> &'static str {
        match self {
            RunKind::Scan => "scan",
            RunKind::Hunt => "hunt",
            RunKind::Health => "health",
        }
    }
}

/// A run as listed by [`Store::runs`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// Its id.
    pub id: RunId,
    /// `scan` or `hunt`.
    pub kind: String,
    /// Free text given at start (command line, source file).
    pub meta: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished; `None` when interrupted or still running.
    pub finished_at: Option<DateTime<Utc>>,
    /// Hosts (scan), hunt reports or server health records recorded.
    pub items: u64,
}

/// Hosts written before the open transaction is committed.
const BATCH_ROWS: u32 = 64;
/// Longest time a written host waits before its commit.
const BATCH_AGE: Duration = Duration::from_millis(500);

/// An open history database.
pub struct Store {
    conn: Conn,
    /// Where it is, shown redacted in every error.
    location: Location,
    /// The redacted location, as the `path` of errors.
    path: PathBuf,
    pending: u32,
    batch_started: Option<Instant>,
    /// PostgreSQL: the batch's rows, sent as one multi-row INSERT per
    /// table when it is committed (one round trip per batch, not per
    /// host: a scanner records as fast as it scans).
    queued: Vec<Queued>,
}

/// A row waiting for its batch.
struct Queued {
    /// `INSERT INTO table (columns)`.
    insert: &'static str,
    values: Vec<Value>,
}

/// `?{from+1},...,?{from+n}`.
fn placeholders(from: usize, n: usize) -> String {
    let marks: Vec<String> =
        (from + 1..=from + n).map(|i| format!("?{i}")).collect();
    marks.join(",")
}

/// The default database path: `$XDG_DATA_HOME/vigie/vigie.db`
/// (`~/.local/share/vigie/vigie.db`) on Unix,
/// `%LOCALAPPDATA%\vigie\vigie.db` on Windows.
pub fn default_path() -> Option<PathBuf> {
    let base = if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA").map(PathBuf::from)
    } else {
        std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(|h| PathBuf::from(h).join(".local/share"))
            })
    };
    base.map(|b| b.join("vigie").join("vigie.db"))
}

/// How a scanned host is judged: `vulnerable`, `patched`, `unknown`,
/// `not_exchange`, `closed` or `error`.
pub fn host_state(host: &HostResult) -> &'static str {
    host.state()
}

/// The key that tells one server from another across runs.
pub fn host_key(host: &HostResult) -> String {
    format!("{}|{}:{}", host.target, host.ip, host.port)
}

/// What makes a history out of an open connection: the schema check of
/// a read-only open.
fn check_version(found: i64, path: &Path) -> Result<()> {
    let (known, path) = (known(), path.to_path_buf());
    if found > known {
        return Err(StoreError::TooNew { path, found, known });
    }
    if found == 0 {
        return Err(StoreError::NotHistory { path });
    }
    if found < known {
        return Err(StoreError::TooOld { path, found, known });
    }
    Ok(())
}

impl Store {
    /// Open (creating if needed) the database at `path` and bring its
    /// schema up to date. A `postgres://` or `postgresql://` URL in
    /// `path` opens that PostgreSQL database instead of a file (the
    /// database must exist; its tables are created).
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_at(Location::parse(path))
    }

    /// [`Store::open`] for a parsed location.
    pub fn open_at(location: Location) -> Result<Store> {
        let path = PathBuf::from(location.redacted());
        let found = match &location {
            Location::File(file) => {
                let err =
                    |source| StoreError::Sqlite { path: path.clone(), source };
                let mut conn = sqlite::open(file).map_err(err)?;
                let found = sqlite::migrate(&mut conn).map_err(err)?;
                (Conn::Sqlite(conn), found)
            }
            Location::Postgres(url) => {
                let pg = connect(url, false, &location)?;
                let found = pg
                    .migrate(
                        schema::MIGRATIONS
                            .iter()
                            .map(|m| m.postgres)
                            .collect(),
                    )
                    .map_err(|e| db_error(&location, e))?;
                (Conn::Postgres(pg), found)
            }
        };
        let (conn, found) = found;
        if found > known() {
            return Err(StoreError::TooNew { path, found, known: known() });
        }
        Ok(Store::new(conn, location, path))
    }

    /// Open an existing database for reading only (`history`, `diff`,
    /// `report --db`): nothing is created or written, not the file, not
    /// its folder, not a journal, and no migration runs; a database on
    /// read-only media or with read-only permissions is read all the
    /// same. A missing file or an older schema is an error that says so.
    /// (Only while a `-wal` file exists beside it, because a scan is
    /// recording or was killed, may SQLite add the `-shm` file it needs
    /// to read that log.) On PostgreSQL the session is read-only, and a
    /// database without vigie's tables is "missing".
    pub fn open_read_only(path: &Path) -> Result<Store> {
        Store::open_read_only_at(Location::parse(path))
    }

    /// [`Store::open_read_only`] for a parsed location.
    pub fn open_read_only_at(location: Location) -> Result<Store> {
        let path = PathBuf::from(location.redacted());
        let conn = match &location {
            Location::File(file) => {
                match std::fs::metadata(file) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(StoreError::Missing { path });
                    }
                    Err(source) => {
                        return Err(StoreError::Io { path, source });
                    }
                }
                let err =
                    |source| StoreError::Sqlite { path: path.clone(), source };
                let conn = sqlite::open_read_only(file).map_err(err)?;
                check_version(
                    sqlite::user_version(&conn).map_err(err)?,
                    &path,
                )?;
                Conn::Sqlite(conn)
            }
            Location::Postgres(url) => {
                let pg = connect(url, true, &location)?;
                let found =
                    pg.version().map_err(|e| db_error(&location, e))?;
                if found == 0 {
                    return Err(StoreError::Missing { path });
                }
                check_version(found, &path)?;
                Conn::Postgres(pg)
            }
        };
        Ok(Store::new(conn, location, path))
    }

    /// A store over an open connection, nothing queued yet.
    fn new(conn: Conn, location: Location, path: PathBuf) -> Store {
        Store {
            conn,
            location,
            path,
            pending: 0,
            batch_started: None,
            queued: Vec::new(),
        }
    }

    /// Where this database is (display it: the password is redacted).
    pub fn location(&self) -> &Location {
        &self.location
    }

    fn err(&self) -> impl Fn(DbError) -> StoreError + '_ {
        |e| db_error(&self.location, e)
    }

    fn execute(&mut self, sql: &str, params: Vec<Value>) -> Result<u64> {
        let r = self.conn.execute(sql, params);
        r.map_err(self.err())
    }

    fn query(&mut self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>> {
        let r = self.conn.query(sql, params);
        r.map_err(self.err())
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        let r = self.conn.batch(sql);
        r.map_err(self.err())
    }

    /// Start a run; `meta` is free text shown by `vigie history`.
    pub fn begin_run(&mut self, kind: RunKind, meta: &str) -> Result<RunId> {
        self.begin_run_at(kind, meta, Utc::now())
    }

    /// Start a run with a given start time (imports keep the time of the
    /// original scan). The run is committed at once, so it shows (as
    /// unfinished) even if the writer dies before its first batch.
    pub fn begin_run_at(
        &mut self,
        kind: RunKind,
        meta: &str,
        started_at: DateTime<Utc>,
    ) -> Result<RunId> {
        self.flush()?;
        let rows = self.query(
            "INSERT INTO runs (kind, meta, started_at) VALUES (?1,?2,?3) \
             RETURNING id",
            vec![
                kind.as_str().into(),
                meta.into(),
                started_at.to_rfc3339().into(),
            ],
        )?;
        let row = rows.first().ok_or_else(|| StoreError::Backend {
            db: self.location.redacted(),
            detail: "no id returned for a new run".into(),
        })?;
        row.int(0).map_err(self.err())
    }

    fn in_batch(&mut self) -> Result<()> {
        if self.batch_started.is_none() {
            self.batch("BEGIN")?;
            self.batch_started = Some(Instant::now());
        }
        Ok(())
    }

    fn after_write(&mut self) -> Result<()> {
        self.pending += 1;
        let old = self.batch_started.is_some_and(|t| t.elapsed() > BATCH_AGE);
        if self.pending >= BATCH_ROWS || old {
            self.flush()?;
        }
        Ok(())
    }

    /// Commit what has been written so far.
    pub fn flush(&mut self) -> Result<()> {
        if self.batch_started.take().is_none() {
            return Ok(());
        }
        self.pending = 0;
        match self.conn {
            Conn::Sqlite(_) => self.batch("COMMIT"),
            Conn::Postgres(_) => self.send_queued(),
        }
    }

    /// The queued rows, consecutive rows of one table in one statement
    /// (each statement is atomic: a batch is all there or not at all).
    fn send_queued(&mut self) -> Result<()> {
        let queued = std::mem::take(&mut self.queued);
        for group in queued.chunk_by(|a, b| a.insert == b.insert) {
            let width = group[0].values.len();
            let rows: Vec<String> = (0..group.len())
                .map(|i| format!("({})", placeholders(i * width, width)))
                .collect();
            let sql = format!("{} VALUES {}", group[0].insert, rows.join(","));
            let values =
                group.iter().flat_map(|q| q.values.iter().cloned()).collect();
            self.execute(&sql, values)?;
        }
        Ok(())
    }

    /// Write one row in the current batch: SQLite inserts it inside the
    /// batch's open transaction, PostgreSQL queues it for the batch's
    /// one statement (lost, like an open transaction, if the process
    /// dies first).
    fn write(
        &mut self,
        insert: &'static str,
        params: Vec<Value>,
    ) -> Result<()> {
        match self.conn {
            Conn::Sqlite(_) => {
                self.in_batch()?;
                let marks = placeholders(0, params.len());
                self.execute(&format!("{insert} VALUES ({marks})"), params)?;
            }
            Conn::Postgres(_) => {
                self.batch_started.get_or_insert_with(Instant::now);
                self.queued.push(Queued { insert, values: params });
            }
        }
        self.after_write()
    }

    fn json(&self, source: serde_json::Error) -> StoreError {
        StoreError::Json { path: self.path.clone(), source }
    }

    /// Record one scanned host.
    pub fn record_host(
        &mut self,
        run: RunId,
        host: &HostResult,
    ) -> Result<()> {
        let doc = serde_json::to_string(host).map_err(|e| self.json(e))?;
        let status = serde_json::to_value(host.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        self.write(
            "INSERT INTO hosts (run, key, status, state, build, doc)",
            vec![
                run.into(),
                host_key(host).into(),
                status.into(),
                host_state(host).into(),
                host.build.as_deref().into(),
                doc.into(),
            ],
        )
    }

    /// Record one hunt report.
    pub fn record_hunt(
        &mut self,
        run: RunId,
        report: &HuntReport,
    ) -> Result<()> {
        let doc = serde_json::to_string(report).map_err(|e| self.json(e))?;
        self.write(
            "INSERT INTO hunts (run, host, verdict, doc)",
            vec![
                run.into(),
                report.host.as_str().into(),
                report.verdict.as_str().into(),
                doc.into(),
            ],
        )
    }

    /// Join the run named `label` as its part `part` of `parts`
    /// (`vigie scan --shard K/N --run-name NAME`: every shard of one scan
    /// records into one run), creating the run when this part is the
    /// first. The run is unfinished until every part has called
    /// [`Store::finish_part`]; a part that joins again (a shard rerun or
    /// resumed) makes it unfinished until that part finishes again.
    pub fn join_run(
        &mut self,
        kind: RunKind,
        label: &str,
        part: &str,
        parts: u32,
        meta: &str,
    ) -> Result<RunId> {
        self.flush()?;
        let now = Utc::now().to_rfc3339();
        self.execute(
            "INSERT INTO runs (kind, meta, started_at, label, parts) \
             VALUES (?1,?2,?3,?4,?5) \
             ON CONFLICT (label) WHERE label IS NOT NULL DO NOTHING",
            vec![
                kind.as_str().into(),
                meta.into(),
                now.clone().into(),
                label.into(),
                i64::from(parts).into(),
            ],
        )?;
        let rows = self.query(
            "SELECT id, kind, parts FROM runs WHERE label = ?1",
            vec![label.into()],
        )?;
        let row = rows.first().ok_or_else(|| StoreError::Backend {
            db: self.location.redacted(),
            detail: format!("run {label:?} vanished"),
        })?;
        let (id, found, found_parts) =
            (|| Ok::<_, DbError>((row.int(0)?, row.text(1)?, row.int(2)?)))()
                .map_err(self.err())?;
        if found != kind.as_str() || found_parts != i64::from(parts) {
            return Err(StoreError::RunMismatch {
                db: self.location.redacted(),
                label: label.to_string(),
                kind: kind.as_str().to_string(),
                parts: parts.into(),
                found,
                found_parts,
            });
        }
        self.execute(
            "INSERT INTO run_parts (run, part, started_at) VALUES (?1,?2,?3) \
             ON CONFLICT (run, part) DO UPDATE SET finished_at = NULL",
            vec![id.into(), part.into(), now.into()],
        )?;
        self.execute(
            "UPDATE runs SET finished_at = NULL WHERE id = ?1",
            vec![id.into()],
        )?;
        Ok(id)
    }

    /// Mark part `part` of a named run finished (committing everything
    /// written); the run itself is finished once all its parts are.
    /// Returns whether it now is. Safe when the last parts finish at the
    /// same moment: each checks the count after its own commit, so the
    /// last to commit always sees every part.
    pub fn finish_part(&mut self, run: RunId, part: &str) -> Result<bool> {
        self.flush()?;
        let now = Utc::now().to_rfc3339();
        self.execute(
            "UPDATE run_parts SET finished_at = ?1 WHERE run = ?2 AND part = ?3",
            vec![now.clone().into(), run.into(), part.into()],
        )?;
        self.execute(
            "UPDATE runs SET finished_at = ?1 WHERE id = ?2 AND parts <= \
             (SELECT count(*) FROM run_parts \
              WHERE run = ?2 AND finished_at IS NOT NULL)",
            vec![now.into(), run.into()],
        )?;
        let rows = self.query(
            "SELECT finished_at FROM runs WHERE id = ?1",
            vec![run.into()],
        )?;
        let done = rows.first().map(|r| r.opt_text(0)).transpose();
        Ok(done.map_err(self.err())?.flatten().is_some())
    }

    /// Mark a run finished (and commit everything written).
    pub fn finish_run(&mut self, run: RunId) -> Result<()> {
        self.flush()?;
        self.execute(
            "UPDATE runs SET finished_at = ?1 WHERE id = ?2",
            vec![Utc::now().to_rfc3339().into(), run.into()],
        )?;
        Ok(())
    }

    /// Every run, oldest first.
    pub fn runs(&mut self) -> Result<Vec<RunInfo>> {
        self.flush()?;
        let rows = self.query(
            "SELECT id, kind, meta, started_at, finished_at, \
             (SELECT count(*) FROM hosts h WHERE h.run = runs.id) + \
             (SELECT count(*) FROM hunts u WHERE u.run = runs.id) + \
             (SELECT count(*) FROM health s WHERE s.run = runs.id) \
             FROM runs ORDER BY started_at, id",
            Vec::new(),
        )?;
        let info = |r: &Row| -> std::result::Result<RunInfo, DbError> {
            Ok(RunInfo {
                id: r.int(0)?,
                kind: r.text(1)?,
                meta: r.text(2)?,
                started_at: parse_time(&r.text(3)?),
                finished_at: r.opt_text(4)?.as_deref().map(parse_time),
                items: r.int(5)? as u64,
            })
        };
        rows.iter()
            .map(info)
            .collect::<std::result::Result<_, _>>()
            .map_err(self.err())
    }

    /// The hosts of one scan run, in the order written.
    pub fn hosts(&mut self, run: RunId) -> Result<Vec<HostResult>> {
        self.docs("SELECT doc FROM hosts WHERE run = ?1 ORDER BY rowid", run)
    }

    /// The hunt reports of one run.
    pub fn hunts(&mut self, run: RunId) -> Result<Vec<HuntReport>> {
        self.docs("SELECT doc FROM hunts WHERE run = ?1 ORDER BY rowid", run)
    }

    fn docs<T: serde::de::DeserializeOwned>(
        &mut self,
        sql: &str,
        run: RunId,
    ) -> Result<Vec<T>> {
        self.flush()?;
        let exists =
            self.query("SELECT id FROM runs WHERE id = ?1", vec![run.into()])?;
        if exists.is_empty() {
            return Err(StoreError::NoRun(run));
        }
        let rows = self.query(sql, vec![run.into()])?;
        rows.iter()
            .map(|r| {
                let doc = r.text(0).map_err(self.err())?;
                serde_json::from_str(&doc).map_err(|e| self.json(e))
            })
            .collect()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // what was written stays; the run stays marked unfinished
        let _ = self.flush();
    }
}

/// Connect to a PostgreSQL URL, errors naming it redacted.
fn connect(url: &str, read_only: bool, location: &Location) -> Result<Pg> {
    Pg::connect(url, read_only).map_err(|e| match e {
        ConnectError::Url(reason) => {
            StoreError::BadUrl { db: location.redacted(), reason }
        }
        ConnectError::Db(e) => db_error(location, e),
    })
}

/// A driver error as a store error naming the (redacted) database.
fn db_error(location: &Location, e: DbError) -> StoreError {
    match e {
        DbError::Sqlite(source) => StoreError::Sqlite {
            path: PathBuf::from(location.redacted()),
            source,
        },
        DbError::Postgres(e) => StoreError::Postgres {
            db: location.redacted(),
            detail: with_causes(&e),
        },
        DbError::Gone | DbError::Column(_) => StoreError::Backend {
            db: location.redacted(),
            detail: e.to_string(),
        },
    }
}

/// An error and its causes on one line (`db error: FATAL: ...`).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
