//! `vigie history`: the remediation curve over every stored scan run, and
//! import of JSONL files as runs.

use std::io::Write;
use std::path::PathBuf;

use vigie_report::history::Point;
use vigie_store::{RunKind, Store};

use crate::cmd::report::{db_path, emit, print_errors, read_files};
use crate::exit::Outcome;

/// Arguments of `vigie history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// History database (default: `$XDG_DATA_HOME/vigie/vigie.db`).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Record these scan or hunt JSONL files as runs first (one run per
    /// file).
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
    }
    Ok(errors)
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
        points.push(Point::of(run.id, run.started_at, finished, &hosts));
    }
    Ok(points)
}

/// Run `vigie history`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let mut store = Store::open(&db_path(args.db.as_deref())?)?;
    let errors = import(&mut store, &args.import)?;
    let points = points(&mut store)?;
    let mut out = std::io::stdout().lock();
    out.write_all(vigie_report::history::table(&points).as_bytes())?;
    out.flush()?;
    if let Some(path) = &args.html {
        emit(&vigie_report::history::render(&points), Some(path))?;
        eprintln!("vigie: history chart written to {}", path.display());
    }
    let vulnerable = points.last().is_some_and(|p| p.vulnerable > 0);
    Ok(Outcome::from_flags(vulnerable, errors))
}
