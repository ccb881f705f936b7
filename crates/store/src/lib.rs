//! SQLite history of scan, hunt and server-health runs, and diffs
//! between runs.
//!
//! One database file holds every run. Writes are batched in short
//! transactions (a few dozen hosts or a fraction of a second), so a crash
//! or Ctrl-C mid-run loses at most the batch in flight and always leaves a
//! consistent file; a run never finished stays marked unfinished. WAL
//! mode lets `vigie report`/`diff` read while a scan writes.

#![deny(missing_docs)]

mod diff;
mod health;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use vigie_model::hunt::HuntReport;
use vigie_model::scan::HostResult;

pub use diff::{Diff, HostChange, diff_runs};

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
    /// A stored document could not be read back.
    #[error("database {path}: bad stored record: {source}")]
    Json {
        /// The database file.
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

/// Migrations, one per schema version, applied in order.
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  meta TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE TABLE hosts (
  run INTEGER NOT NULL REFERENCES runs(id),
  key TEXT NOT NULL,
  status TEXT NOT NULL,
  state TEXT NOT NULL,
  build TEXT,
  doc TEXT NOT NULL
);
CREATE INDEX hosts_run ON hosts(run);
CREATE TABLE hunts (
  run INTEGER NOT NULL REFERENCES runs(id),
  host TEXT NOT NULL,
  verdict TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX hunts_run ON hunts(run);
",
    health::MIGRATION,
];

/// Hosts written before the open transaction is committed.
const BATCH_ROWS: u32 = 64;
/// Longest time a written host waits before its commit.
const BATCH_AGE: Duration = Duration::from_millis(500);

/// An open history database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    pending: u32,
    batch_started: Option<Instant>,
}

/// `path` as an SQLite URI (`file:` with everything but unreserved bytes
/// percent-encoded), for the `immutable` fallback.
fn file_uri(path: &Path, query: &str) -> String {
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push('?');
    uri.push_str(query);
    uri
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

impl Store {
    /// Open (creating if needed) the database at `path` and bring its
    /// schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let err =
            |source| StoreError::Sqlite { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        {
            // a missing folder is reported by SQLite below, with the path
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            pending: 0,
            batch_started: None,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Open an existing database for reading only (`history`, `diff`,
    /// `report --db`): nothing is created or written, not the file, not
    /// its folder, not a journal, and no migration runs; a database on
    /// read-only media or with read-only permissions is read all the
    /// same. A missing file or an older schema is an error that says so.
    /// (Only while a `-wal` file exists beside it, because a scan is
    /// recording or was killed, may SQLite add the `-shm` file it needs
    /// to read that log.)
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let err =
            |source| StoreError::Sqlite { path: path.to_path_buf(), source };
        match std::fs::metadata(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::Missing { path: path.to_path_buf() });
            }
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        // Without a `-wal` file every write is in the database file and
        // no writer is at work: read it as immutable, which creates no
        // `-shm`/`-wal` beside it. With one, a scan may be recording or
        // was killed: read through the log as SQLite does.
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let query = if Path::new(&wal).exists() {
            "mode=ro"
        } else {
            "mode=ro&immutable=1"
        };
        let uri = file_uri(path, query);
        let conn = Connection::open_with_flags(&uri, flags).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        let conn = match user_version(&conn) {
            Ok(_) => conn,
            // A WAL database in a folder we cannot write: SQLite cannot
            // make its shared-memory file, so read the file as it is.
            Err(_) => {
                let uri = file_uri(path, "mode=ro&immutable=1");
                Connection::open_with_flags(&uri, flags).map_err(err)?
            }
        };
        let found = user_version(&conn).map_err(err)?;
        let known = MIGRATIONS.len() as i64;
        let path = path.to_path_buf();
        if found > known {
            return Err(StoreError::TooNew { path, found, known });
        }
        if found == 0 {
            return Err(StoreError::NotHistory { path });
        }
        if found < known {
            return Err(StoreError::TooOld { path, found, known });
        }
        Ok(Store { conn, path, pending: 0, batch_started: None })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite { path: self.path.clone(), source }
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(self.err())?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: version,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction().map_err(|source| {
                StoreError::Sqlite { path: self.path.clone(), source }
            })?;
            let next = i as i64 + 1;
            tx.execute_batch(sql)
                .and_then(|()| tx.pragma_update(None, "user_version", next))
                .and_then(|()| tx.commit())
                .map_err(|source| StoreError::Sqlite {
                    path: self.path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Start a run; `meta` is free text shown by `vigie history`.
    pub fn begin_run(&mut self, kind: RunKind, meta: &str) -> Result<RunId> {
        self.begin_run_at(kind, meta, Utc::now())
    }

    /// Start a run with a given start time (imports keep the time of the
    /// original scan).
    pub fn begin_run_at(
        &mut self,
        kind: RunKind,
        meta: &str,
        started_at: DateTime<Utc>,
    ) -> Result<RunId> {
        self.flush()?;
        self.conn
            .execute(
                "INSERT INTO runs (kind, meta, started_at) VALUES (?1,?2,?3)",
                params![kind.as_str(), meta, started_at.to_rfc3339()],
            )
            .map_err(self.err())?;
        Ok(self.conn.last_insert_rowid())
    }

    fn in_batch(&mut self) -> Result<()> {
        if self.batch_started.is_none() {
            self.conn.execute_batch("BEGIN").map_err(self.err())?;
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
        if self.batch_started.take().is_some() {
            self.pending = 0;
            self.conn.execute_batch("COMMIT").map_err(self.err())?;
        }
        Ok(())
    }

    /// Record one scanned host.
    pub fn record_host(
        &mut self,
        run: RunId,
        host: &HostResult,
    ) -> Result<()> {
        let doc = serde_json::to_string(host).map_err(|source| {
            StoreError::Json { path: self.path.clone(), source }
        })?;
        self.in_batch()?;
        let status = serde_json::to_value(host.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        self.conn
            .execute(
                "INSERT INTO hosts (run, key, status, state, build, doc) \
                 VALUES (?1,?2,?3,?4,?5,?6)",
                params![
                    run,
                    host_key(host),
                    status,
                    host_state(host),
                    host.build,
                    doc
                ],
            )
            .map_err(self.err())?;
        self.after_write()
    }

    /// Record one hunt report.
    pub fn record_hunt(
        &mut self,
        run: RunId,
        report: &HuntReport,
    ) -> Result<()> {
        let doc = serde_json::to_string(report).map_err(|source| {
            StoreError::Json { path: self.path.clone(), source }
        })?;
        self.in_batch()?;
        self.conn
            .execute(
                "INSERT INTO hunts (run, host, verdict, doc) \
                 VALUES (?1,?2,?3,?4)",
                params![run, report.host, report.verdict.as_str(), doc],
            )
            .map_err(self.err())?;
        self.after_write()
    }

    /// Mark a run finished (and commit everything written).
    pub fn finish_run(&mut self, run: RunId) -> Result<()> {
        self.flush()?;
        self.conn
            .execute(
                "UPDATE runs SET finished_at = ?1 WHERE id = ?2",
                params![Utc::now().to_rfc3339(), run],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Every run, oldest first.
    pub fn runs(&mut self) -> Result<Vec<RunInfo>> {
        self.flush()?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, kind, meta, started_at, finished_at, \
                 (SELECT count(*) FROM hosts h WHERE h.run = runs.id) + \
                 (SELECT count(*) FROM hunts u WHERE u.run = runs.id) + \
                 (SELECT count(*) FROM health s WHERE s.run = runs.id) \
                 FROM runs ORDER BY started_at, id",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                let started: String = r.get(3)?;
                let finished: Option<String> = r.get(4)?;
                Ok(RunInfo {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    meta: r.get(2)?,
                    started_at: parse_time(&started),
                    finished_at: finished.as_deref().map(parse_time),
                    items: r.get::<_, i64>(5)? as u64,
                })
            })
            .map_err(self.err())?;
        rows.collect::<std::result::Result<_, _>>().map_err(self.err())
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
        let exists: Option<i64> = self
            .conn
            .query_row("SELECT id FROM runs WHERE id = ?1", [run], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err())?;
        if exists.is_none() {
            return Err(StoreError::NoRun(run));
        }
        let mut stmt = self.conn.prepare(sql).map_err(self.err())?;
        let docs: Vec<String> = stmt
            .query_map([run], |r| r.get(0))
            .map_err(self.err())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.err())?;
        docs.iter()
            .map(|d| {
                serde_json::from_str(d).map_err(|source| StoreError::Json {
                    path: self.path.clone(),
                    source,
                })
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

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
