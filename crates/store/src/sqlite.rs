//! Opening an SQLite history file, for writing (created and migrated) or
//! for reading only (nothing created, not even a journal).

use std::path::Path;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::driver::BUSY_TIMEOUT;
use crate::schema::{MIGRATIONS, known};

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

/// Open (creating if needed) the file, in WAL mode.
pub(crate) fn open(path: &Path) -> rusqlite::Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // a missing folder is reported by SQLite below, with the path
        let _ = std::fs::create_dir_all(dir);
    }
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Open an existing file read-only. Without a `-wal` file every write is
/// in the database file and no writer is at work: read it as immutable,
/// which creates no `-shm`/`-wal` beside it. With one, a scan may be
/// recording or was killed: read through the log as SQLite does.
pub(crate) fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let query = if Path::new(&wal).exists() {
        "mode=ro"
    } else {
        "mode=ro&immutable=1"
    };
    let conn = Connection::open_with_flags(file_uri(path, query), flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    match user_version(&conn) {
        Ok(_) => Ok(conn),
        // A WAL database in a folder we cannot write: SQLite cannot
        // make its shared-memory file, so read the file as it is.
        Err(_) => Connection::open_with_flags(
            file_uri(path, "mode=ro&immutable=1"),
            flags,
        ),
    }
}

/// The schema version of the file (`PRAGMA user_version`).
pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Apply the migrations the file lacks, in one transaction that holds
/// the write lock from its start and reads the version under it: two
/// processes opening a new file at once (shards started together) would
/// otherwise both create the tables ("table runs already exists").
/// Returns the version found before (newer than known: nothing done).
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<i64> {
    let before = user_version(conn)?;
    if before >= known() {
        return Ok(before);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = user_version(&tx)?;
    for (i, m) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(m.sqlite)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(found)
}
