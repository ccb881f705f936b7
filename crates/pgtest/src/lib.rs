//! Test support: a private PostgreSQL server for the tests of the
//! history's PostgreSQL driver, started on demand and stopped when the
//! last test using it is done.
//!
//! The server is Debian's `postgresql` (binaries under
//! `/usr/lib/postgresql/*/bin`, or `initdb` on `PATH`, or the folder in
//! `VIGIE_PG_BIN`): `initdb` into a temporary folder (trust
//! authentication, nothing durable: `fsync=off`), `pg_ctl start` on a
//! free 127.0.0.1 port with its unix socket in the same folder, and
//! `pg_ctl stop -m immediate` on drop. PostgreSQL refuses to run as
//! root, so as root the server runs as the `postgres` user (`runuser`).
//! Each test gets a database of its own on the shared server.
//!
//! Where PostgreSQL is not installed, [`database`] prints why the test is
//! skipped and returns `None`; under `CI=true` it panics instead, so CI
//! can never pass without having run these tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// A running private server.
pub struct Server {
    bin: PathBuf,
    /// Holds the data folder, socket and log; removed after the stop.
    dir: tempfile::TempDir,
    port: u16,
    run_as: Option<String>,
}

/// A fresh database on the shared server; the server stops when the
/// last of these is dropped.
pub struct TestDb {
    url: String,
    name: String,
    server: Arc<Server>,
}

impl TestDb {
    /// `postgres://postgres@127.0.0.1:PORT/NAME`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its name on the server.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Run SQL with `psql` on this database (tests look at what the
    /// store wrote, independently of it); stdout, unaligned, tuples only.
    pub fn psql(&self, sql: &str) -> String {
        self.server.psql(&self.name, sql)
    }

    /// [`TestDb::psql`], with the error (table missing...) as a value.
    pub fn try_psql(&self, sql: &str) -> Result<String, String> {
        self.server.try_psql(&self.name, sql)
    }

    /// Another fresh database on the same server.
    pub fn another(&self, label: &str) -> TestDb {
        create(&self.server, label)
    }
}

static SHARED: Mutex<Weak<Server>> = Mutex::new(Weak::new());
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database for test `label`; `None` (after saying so on
/// stderr) where PostgreSQL is not installed, a panic under `CI=true`.
pub fn database(label: &str) -> Option<TestDb> {
    let server = {
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        match shared.upgrade() {
            Some(s) => s,
            None => {
                let s = Arc::new(Server::start(label)?);
                *shared = Arc::downgrade(&s);
                s
            }
        }
    };
    Some(create(&server, label))
}

fn create(server: &Arc<Server>, label: &str) -> TestDb {
    let clean: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = format!("t{}_{n}_{clean}", std::process::id());
    server.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
    TestDb {
        url: format!("postgres://postgres@127.0.0.1:{}/{name}", server.port),
        name,
        server: server.clone(),
    }
}

/// The folder holding `initdb`, `pg_ctl` and `psql`, if any.
pub fn binaries() -> Option<PathBuf> {
    let has =
        |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(d) = std::env::var_os("VIGIE_PG_BIN") {
        return Some(PathBuf::from(d)).filter(|d| has(d));
    }
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| has(d))
        .collect();
    // newest major version first ("9.6" < "15" by number, not by text)
    debian.sort_by_key(|d| {
        let v =
            d.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str());
        v.and_then(|v| v.split('.').next()?.parse::<u32>().ok())
    });
    if let Some(d) = debian.pop() {
        return Some(d);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|d| has(d))
}

fn missing(why: &str) -> Option<Server> {
    let msg = format!(
        "PostgreSQL tests need Debian's `postgresql` package \
         (apt-get install postgresql): {why}"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg} (CI=true: not skipped)");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn check(what: &str, out: std::io::Result<Output>) -> Result<Output, String> {
    match out {
        Ok(o) if o.status.success() => Ok(o),
        Ok(o) => Err(format!(
            "{what} failed ({}): {}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

impl Server {
    fn start(label: &str) -> Option<Server> {
        let Some(bin) = binaries() else {
            return missing("no initdb/pg_ctl found");
        };
        let run_as = is_root().then(|| "postgres".to_string());
        let dir =
            tempfile::Builder::new().prefix("vigie-pg").tempdir().ok()?;
        if run_as.is_some() {
            // the server's user must own its folder
            let chown = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .output();
            if let Err(e) = check("chown postgres", chown) {
                return missing(&e);
            }
        }
        let mut server = Server { bin, dir, port: 0, run_as };
        let init = server
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8"])
            .args(["--locale=C", "--no-sync", "-D"])
            .arg(server.data())
            .output();
        if let Err(e) = check("initdb", init) {
            return missing(&e);
        }
        // A free port can be taken between the probe and the start:
        // try a few.
        let mut last = String::new();
        for _ in 0..5 {
            server.port = free_port();
            match server.pg_ctl_start() {
                Ok(()) => {
                    eprintln!(
                        "{label}: private PostgreSQL on 127.0.0.1:{} ({})",
                        server.port,
                        server.dir.path().display()
                    );
                    return Some(server);
                }
                Err(e) => last = e,
            }
        }
        panic!("PostgreSQL is installed but would not start: {last}");
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A command of the server's binaries, as the server's user.
    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        }
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off \
             -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let out = self
            .command("pg_ctl")
            .args(["-w", "-t", "60", "-l"])
            .arg(self.dir.path().join("log"))
            .arg("-D")
            .arg(self.data())
            .args(["-o", &options, "start"])
            .output();
        check("pg_ctl start", out).map(|_| ()).map_err(|e| {
            let log = std::fs::read_to_string(self.dir.path().join("log"));
            format!("{e}\n{}", log.unwrap_or_default())
        })
    }

    fn psql(&self, db: &str, sql: &str) -> String {
        self.try_psql(db, sql).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let psql = self.bin.join("psql");
        let psql = if psql.is_file() { psql } else { PathBuf::from("psql") };
        let out = Command::new(psql)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string())
            .args(["-d", db, "-c", sql])
            .output();
        check(&format!("psql {sql}"), out)
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-w", "-m", "immediate", "-D"])
            .arg(self.data())
            .arg("stop")
            .output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(55432)
}
