//! The one seam between the store and its two databases: a connection is
//! SQLite (rusqlite) or PostgreSQL (the `postgres` crate, on its own
//! thread, see [`crate::pg`]), and both run the same SQL text with the
//! same owned values in and out. Everything above this module is written
//! once.
//!
//! SQL is written for SQLite with `?N` placeholders; for PostgreSQL each
//! `?` becomes `$` (no query of the store holds a literal `?`). Tables
//! read in insertion order have a column named `rowid` on PostgreSQL (an
//! identity), so `ORDER BY rowid` means the same on both.

use std::time::Duration;

use rusqlite::types::ValueRef;

use crate::pg::Pg;

/// A value bound to or read from a query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// SQL NULL (bound as a text NULL).
    Null,
    /// An integer (`INTEGER` / `BIGINT`).
    Int(i64),
    /// Text.
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Value::Null, Value::from)
    }
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row(pub(crate) Vec<Value>);

impl Row {
    fn at(&self, i: usize) -> Result<&Value, DbError> {
        self.0.get(i).ok_or(DbError::Column(format!("no column {i}")))
    }

    /// Column `i` as an integer.
    pub(crate) fn int(&self, i: usize) -> Result<i64, DbError> {
        match self.at(i)? {
            Value::Int(v) => Ok(*v),
            v => Err(DbError::Column(format!(
                "column {i}: {v:?}, not a number"
            ))),
        }
    }

    /// Column `i` as text, NULL as `None`.
    pub(crate) fn opt_text(
        &self,
        i: usize,
    ) -> Result<Option<String>, DbError> {
        match self.at(i)? {
            Value::Text(v) => Ok(Some(v.clone())),
            Value::Null => Ok(None),
            v => Err(DbError::Column(format!("column {i}: {v:?}, not text"))),
        }
    }

    /// Column `i` as text.
    pub(crate) fn text(&self, i: usize) -> Result<String, DbError> {
        self.opt_text(i)?
            .ok_or_else(|| DbError::Column(format!("column {i}: NULL")))
    }
}

/// What a driver reports.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    /// SQLite failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error(transparent)]
    Postgres(#[from] postgres::Error),
    /// The PostgreSQL connection's thread is gone (it panicked).
    #[error("the PostgreSQL connection stopped")]
    Gone,
    /// A column did not hold what the store wrote there.
    #[error("{0}")]
    Column(String),
}

/// An open database connection.
pub(crate) enum Conn {
    /// An SQLite file.
    Sqlite(rusqlite::Connection),
    /// A PostgreSQL server.
    Postgres(Pg),
}

impl Conn {
    /// Run a statement; the number of rows changed.
    pub(crate) fn execute(
        &mut self,
        sql: &str,
        params: Vec<Value>,
    ) -> Result<u64, DbError> {
        match self {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let n = stmt.execute(rusqlite::params_from_iter(
                    params.iter().map(sqlite_value),
                ))?;
                Ok(n as u64)
            }
            Conn::Postgres(pg) => pg.execute(dollar(sql), params),
        }
    }

    /// Run a query; every row.
    pub(crate) fn query(
        &mut self,
        sql: &str,
        params: Vec<Value>,
    ) -> Result<Vec<Row>, DbError> {
        match self {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let width = stmt.column_count();
                let rows = stmt.query_map(
                    rusqlite::params_from_iter(
                        params.iter().map(sqlite_value),
                    ),
                    |r| {
                        (0..width)
                            .map(|i| r.get_ref(i).map(from_sqlite))
                            .collect::<rusqlite::Result<Vec<_>>>()
                            .map(Row)
                    },
                )?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            }
            Conn::Postgres(pg) => pg.query(dollar(sql), params),
        }
    }

    /// Run statements without parameters (`BEGIN`, `COMMIT`, DDL).
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Postgres(pg) => pg.batch(sql.to_string()),
        }
    }
}

/// How long a writer waits for another's lock before failing (SQLite).
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

fn sqlite_value(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(i) => rusqlite::types::Value::Integer(*i),
        Value::Text(t) => rusqlite::types::Value::Text(t.clone()),
    }
}

fn from_sqlite(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(r) => Value::Text(r.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Value::Text(String::from_utf8_lossy(t).into_owned())
        }
    }
}

/// SQLite's `?N` placeholders as PostgreSQL's `$N`.
fn dollar(sql: &str) -> String {
    sql.replace('?', "$")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars() {
        assert_eq!(
            dollar("INSERT INTO t VALUES (?1,?2) RETURNING id"),
            "INSERT INTO t VALUES ($1,$2) RETURNING id"
        );
    }
}
