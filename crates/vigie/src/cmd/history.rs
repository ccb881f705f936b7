//! `vigie history`: the remediation curve over every stored scan run,
//! configuration drift between server-health runs (`vigie check --host
//! --db`), and import of JSONL files as runs.

use std::io::Write;
use std::path::PathBuf;

use vigie_report::drift::RunPair;
use vigie_report::history::Point;
use vigie_store::{RunKind, Store};

use crate::cmd::report::{db_path, emit, print_errors, read_files};
use crate::exit::Outcome;

/// Arguments of `vigie history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// History database: an SQLite file (default:
    /// `$XDG_DATA_HOME/vigie/vigie.db`) or `postgres://user@host/db`.
    #[arg(long, value_name = "FILE|URL")]
    pub db: Option<PathBuf>,
    /// Record these scan, hunt or server-health (`vigie check --host`
    /// JSON/JSONL) files as runs first (one run per file and kind).
    #[arg(long, num_args = 1..)]
    pub import: Vec<PathBuf>,
    /// Also write the curve as an HTML page.
    #[arg(long)]
    pub html: Option<PathBuf>,
}

fn import(store: &mut Store, files: &[PathBuf]) -> anyhow::Result<bool> {
    let mut errors = false;
    for file in files {
        let records = read_files(std::slice::from_ref(file));
        print_errors(&records.errors);
        errors |= !records.errors.is_empty();
        let meta = format!("import {}", file.display());
        if !records.hosts.is_empty() {
            let at = records.hosts.iter().map(|h| h.scanned_at).min();
            let run = store.begin_run_at(
                RunKind::Scan,
                &meta,
                at.unwrap_or_default(),
            )?;
            for h in &records.hosts {
                store.record_host(run, h)?;
            }
            store.finish_run(run)?;
            eprintln!(
                "vigie: {meta}: run {run}, {} hosts",
                records.hosts.len()
            );
        }
        if !records.hunts.is_empty() {
            let at = records.hunts.iter().map(|h| h.started_at).min();
            let run = store.begin_run_at(
                RunKind::Hunt,
                &meta,
                at.unwrap_or_default(),
            )?;
            for h in &records.hunts {
                store.record_hunt(run, h)?;
            }
            store.finish_run(run)?;
            eprintln!(
                "vigie: {meta}: run {run}, {} hunts",
                records.hunts.len()
            );
        }
        if !records.health.is_empty() {
            let run = store.begin_run(RunKind::Health, &meta)?;
            for s in &records.health {
                store.record_health(run, s)?;
            }
            store.finish_run(run)?;
            eprintln!(
                "vigie: {meta}: run {run}, {} server health records",
                records.health.len()
            );
        }
    }
    Ok(errors)
}

/// Drift between each pair of consecutive finished server-health runs,
/// and whether the latest of them has a server needing action.
pub(crate) fn drift(
    store: &mut Store,
) -> anyhow::Result<(Vec<RunPair>, bool)> {
    let mut pairs = Vec::new();
    let mut last: Option<(i64, Vec<vigie_model::health::HealthRecord>)> = None;
    for run in store.runs()? {
        if run.kind != "health" || run.finished_at.is_none() {
            continue;
        }
        let servers = store.health(run.id)?;
        if let Some((from, before)) = &last {
            let changes = vigie_report::drift::changes(before, &servers);
            pairs.push(RunPair { from: *from, to: run.id, changes });
        }
        last = Some((run.id, servers));
    }
    let act = last.is_some_and(|(_, s)| s.iter().any(|s| s.needs_action()));
    Ok((pairs, act))
}

/// The curve points of every scan run.
pub(crate) fn points(store: &mut Store) -> anyhow::Result<Vec<Point>> {
    let mut points = Vec::new();
    for run in store.runs()? {
        if run.kind != "scan" {
            continue;
        }
        let hosts = store.hosts(run.id)?;
        let finished = run.finished_at.is_some();
        let mut point = Point::of(run.id, run.started_at, finished, &hosts);
        point.source = imported_source(&run.meta);
        points.push(point);
    }
    Ok(points)
}

/// The source of a run recorded by `vigie import` (its meta starts with
/// `import:`); `None` for vigie's own runs.
pub(crate) fn imported_source(meta: &str) -> Option<String> {
    meta.starts_with("import:").then(|| meta.to_string())
}

/// Run `vigie history`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let path = db_path(args.db.as_deref())?;
    // Reading the curve writes nothing: a read-only database (or one on
    // read-only media) is read as it is; only --import opens for writing.
    let (mut store, errors) = if args.import.is_empty() {
        (Store::open_read_only(&path)?, false)
    } else {
        let mut store = Store::open(&path)?;
        let errors = import(&mut store, &args.import)?;
        (store, errors)
    };
    let points = points(&mut store)?;
    let has_health = store.runs()?.iter().any(|r| r.kind == "health");
    let mut out = std::io::stdout().lock();
    // A history of health runs only has no curve to draw.
    let curve = !points.is_empty() || !has_health;
    if curve {
        out.write_all(vigie_report::history::table(&points).as_bytes())?;
    }
    let mut health_action = false;
    if has_health {
        let (pairs, act) = drift(&mut store)?;
        health_action = act;
        let text = vigie_report::drift::table(&pairs);
        let text = if curve { &text } else { text.trim_start() };
        out.write_all(text.as_bytes())?;
    }
    out.flush()?;
    if let Some(path) = &args.html {
        emit(&vigie_report::history::render(&points), Some(path))?;
        eprintln!("vigie: history chart written to {}", path.display());
    }
    let vulnerable = points.last().is_some_and(|p| p.vulnerable > 0);
    Ok(Outcome::from_flags(vulnerable || health_action, errors))
}

/// A writer that passes JSONL through unchanged and records each
/// complete `scan` or `hunt` line in the history database as it goes, so
/// `vigie scan --db FILE` keeps every host written before a crash.
pub(crate) struct RecordingWriter<W: Write> {
    inner: W,
    store: Store,
    run: vigie_store::RunId,
    line: Vec<u8>,
    warned: bool,
    path: PathBuf,
    part: Option<String>,
}

/// A run recorded by a [`RecordingWriter`].
pub(crate) struct RecordedRun {
    path: PathBuf,
    run: vigie_store::RunId,
    /// The part of a named run this process recorded.
    part: Option<String>,
}

/// A named run shared by the shards of one scan (`--run-name`).
pub(crate) struct SharedRun<'a> {
    /// The run's name.
    pub(crate) label: &'a str,
    /// This process's part (`K/N`).
    pub(crate) part: String,
    /// How many parts (N).
    pub(crate) parts: u32,
}

/// Mark a recorded run finished (only when it ran to completion; an
/// interrupted run stays unfinished in `vigie history`); a part of a
/// named run finishes the run only when it was the last part.
pub(crate) fn finish_run(run: &RecordedRun) -> anyhow::Result<()> {
    let mut store = Store::open(&run.path)?;
    match &run.part {
        None => store.finish_run(run.run)?,
        Some(part) => {
            if store.finish_part(run.run, part)? {
                eprintln!("vigie: run {} finished (all parts)", run.run);
            } else {
                eprintln!(
                    "vigie: part {part} of run {} finished; the run waits \
                     for its other parts",
                    run.run
                );
            }
        }
    }
    Ok(())
}

impl<W: Write> RecordingWriter<W> {
    /// Open the database (`None`: the default place) and start a run,
    /// or join the named run `shared`.
    pub(crate) fn new(
        inner: W,
        db: Option<&std::path::Path>,
        kind: RunKind,
        meta: &str,
        shared: Option<SharedRun<'_>>,
    ) -> anyhow::Result<Self> {
        let path = db_path(db)?;
        let mut store = Store::open(&path)?;
        let (run, part) = match shared {
            None => (store.begin_run(kind, meta)?, None),
            Some(s) => {
                let run =
                    store.join_run(kind, s.label, &s.part, s.parts, meta)?;
                (run, Some(s.part))
            }
        };
        // the location shown redacts a PostgreSQL password
        match &part {
            None => {
                eprintln!("vigie: recording run {run} in {}", store.location())
            }
            Some(p) => eprintln!(
                "vigie: recording part {p} of run {run} in {}",
                store.location()
            ),
        }
        Ok(RecordingWriter {
            inner,
            store,
            run,
            line: Vec::new(),
            warned: false,
            path,
            part,
        })
    }

    fn record_line(&mut self) {
        let result =
            match serde_json::from_slice::<serde_json::Value>(&self.line) {
                Ok(v) if v.get("record") == Some(&"scan".into()) => {
                    serde_json::from_value(v)
                        .map_err(anyhow::Error::from)
                        .and_then(|h| {
                            Ok(self.store.record_host(self.run, &h)?)
                        })
                }
                Ok(v) if v.get("record") == Some(&"hunt".into()) => {
                    serde_json::from_value(v)
                        .map_err(anyhow::Error::from)
                        .and_then(|h| {
                            Ok(self.store.record_hunt(self.run, &h)?)
                        })
                }
                _ => Ok(()),
            };
        if let Err(e) = result
            && !self.warned
        {
            self.warned = true;
            eprintln!("vigie: history database: {e}");
        }
    }

    /// The run being recorded, to finish it once the writer is dropped.
    pub(crate) fn run(&self) -> RecordedRun {
        RecordedRun {
            path: self.path.clone(),
            run: self.run,
            part: self.part.clone(),
        }
    }
}

impl<W: Write> Write for RecordingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        for &b in &buf[..n] {
            if b == b'\n' {
                self.record_line();
                self.line.clear();
            } else {
                self.line.push(b);
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.store.flush().map_err(std::io::Error::other)?;
        self.inner.flush()
    }
}
