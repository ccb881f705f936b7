//! The PostgreSQL connection: the synchronous `postgres` client, owned by
//! a thread of its own.
//!
//! The `postgres` crate drives a private tokio runtime and so cannot be
//! called from inside another one, which is where `vigie scan` records
//! its hosts (its engine runs in tokio). A dedicated thread owns the
//! client and runs one request at a time from a channel, so the store
//! stays a plain blocking API wherever it is called from.
//!
//! Many processes may share one database: run ids come from an identity
//! column, migrations run in one transaction under an advisory lock (the
//! first process to start applies them, the others wait and find the
//! schema current), and a killed writer's open batch is rolled back by
//! the server when its connection drops.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls, Statement};

use crate::driver::{DbError, Row, Value};

/// Advisory lock key held while migrating ("vigie" in ASCII).
const MIGRATION_LOCK: i64 = 0x0076_6967_6965;
/// Connection timeout unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// The client and its prepared statements, on the connection's thread.
pub(crate) struct Session {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl Session {
    fn prepared(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

/// A connection to a PostgreSQL server.
pub(crate) struct Pg {
    jobs: Option<mpsc::Sender<Job>>,
    worker: Option<JoinHandle<()>>,
}

/// Why a connection could not be made.
pub(crate) enum ConnectError {
    /// The URL is not a valid connection string (the parser's words,
    /// which never repeat a value).
    Url(String),
    /// The server refused or could not be reached.
    Db(DbError),
}

impl Pg {
    /// Connect to `url`; `read_only` makes every transaction of the
    /// session read-only, so a reading command cannot write even by
    /// mistake.
    pub(crate) fn connect(
        url: &str,
        read_only: bool,
    ) -> Result<Pg, ConnectError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| ConnectError::Url(e.to_string()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("vigie");
        }
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (ready, ready_rx) = mpsc::sync_channel(1);
        let worker = std::thread::Builder::new()
            .name("vigie-postgres".into())
            .spawn(move || {
                let session = config.connect(NoTls).and_then(|mut client| {
                    if read_only {
                        client.batch_execute(
                            "SET SESSION CHARACTERISTICS AS TRANSACTION \
                             READ ONLY",
                        )?;
                    }
                    Ok(Session { client, statements: HashMap::new() })
                });
                let mut session = match session {
                    Ok(s) => {
                        let _ = ready.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                for job in inbox {
                    job(&mut session);
                }
            })
            .map_err(|_| ConnectError::Db(DbError::Gone))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Pg { jobs: Some(jobs), worker: Some(worker) }),
            Ok(Err(e)) => Err(ConnectError::Db(e.into())),
            Err(_) => Err(ConnectError::Db(DbError::Gone)),
        }
    }

    /// Run `f` on the connection's thread and wait for its answer.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, DbError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let jobs = self.jobs.as_ref().ok_or(DbError::Gone)?;
        jobs.send(Box::new(move |s: &mut Session| {
            let _ = tx.send(f(s));
        }))
        .map_err(|_| DbError::Gone)?;
        Ok(rx.recv().map_err(|_| DbError::Gone)??)
    }

    pub(crate) fn execute(
        &self,
        sql: String,
        params: Vec<Value>,
    ) -> Result<u64, DbError> {
        self.call(move |s| {
            let stmt = s.prepared(&sql)?;
            let bound = bind(&params);
            s.client.execute(&stmt, &refs(&bound))
        })
    }

    pub(crate) fn query(
        &self,
        sql: String,
        params: Vec<Value>,
    ) -> Result<Vec<Row>, DbError> {
        let rows = self.call(move |s| {
            let stmt = s.prepared(&sql)?;
            let bound = bind(&params);
            s.client.query(&stmt, &refs(&bound))
        })?;
        rows.iter().map(row).collect()
    }

    pub(crate) fn batch(&self, sql: String) -> Result<(), DbError> {
        self.call(move |s| s.client.batch_execute(&sql))
    }

    /// The schema version (0 when the database holds no vigie schema),
    /// read without creating anything.
    pub(crate) fn version(&self) -> Result<i64, DbError> {
        self.call(|s| {
            let present: bool = s
                .client
                .query_one(
                    "SELECT to_regclass('vigie_schema') IS NOT NULL",
                    &[],
                )?
                .get(0);
            if !present {
                return Ok(0);
            }
            let v: Option<i64> = s
                .client
                .query_one("SELECT max(version) FROM vigie_schema", &[])?
                .get(0);
            Ok(v.unwrap_or(0))
        })
    }

    /// Apply the migrations the database lacks, all in one transaction
    /// under an advisory lock, so processes starting together neither
    /// race nor half-apply. Returns the version found before; when it is
    /// newer than `migrations` knows, nothing is changed.
    pub(crate) fn migrate(
        &self,
        migrations: Vec<&'static str>,
    ) -> Result<i64, DbError> {
        self.call(move |s| {
            let mut tx = s.client.transaction()?;
            tx.execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[&MIGRATION_LOCK],
            )?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS vigie_schema \
                 (version BIGINT NOT NULL)",
            )?;
            let found: Option<i64> = tx
                .query_one("SELECT max(version) FROM vigie_schema", &[])?
                .get(0);
            let found = found.unwrap_or(0);
            let known = migrations.len() as i64;
            if found >= known {
                // current (or newer: the caller refuses it)
                tx.rollback()?;
                return Ok(found);
            }
            for sql in &migrations[found as usize..] {
                tx.batch_execute(sql)?;
            }
            tx.execute("DELETE FROM vigie_schema", &[])?;
            tx.execute("INSERT INTO vigie_schema VALUES ($1)", &[&known])?;
            tx.commit()?;
            Ok(found)
        })
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // closing the channel ends the thread, which closes the
        // connection (the server rolls back anything uncommitted)
        self.jobs.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

type Bound = Vec<Box<dyn ToSql + Sync + Send>>;

fn bind(params: &[Value]) -> Bound {
    params
        .iter()
        .map(|v| -> Box<dyn ToSql + Sync + Send> {
            match v {
                Value::Null => Box::new(None::<String>),
                Value::Int(i) => Box::new(*i),
                Value::Text(t) => Box::new(t.clone()),
            }
        })
        .collect()
}

fn refs(bound: &Bound) -> Vec<&(dyn ToSql + Sync)> {
    bound.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect()
}

fn row(r: &postgres::Row) -> Result<Row, DbError> {
    let mut values = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let t = col.type_();
        let v = if *t == Type::INT8 {
            r.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *t == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)?.map(|v| Value::Int(v.into()))
        } else if *t == Type::INT2 {
            r.try_get::<_, Option<i16>>(i)?.map(|v| Value::Int(v.into()))
        } else if *t == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)?.map(|v| Value::Int(v.into()))
        } else {
            r.try_get::<_, Option<String>>(i)?.map(Value::Text)
        };
        values.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}
