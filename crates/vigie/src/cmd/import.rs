//! `vigie import`: scan results from others (Shadowserver's Vulnerable
//! Exchange Server report, plain `host,build` lists) into the history,
//! each row judged by vigie's engine.
//!
//! One run per file, recorded as a scan run whose source names the feed
//! and the file (`import:shadowserver:FILE`), so `vigie diff` and `vigie
//! history` compare and chart it with vigie's own scans and show where it
//! came from. The run starts at the earliest row time of the file (a
//! first, cheap pass); rows are then judged and recorded one by one.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use vigie_feeds::{FeedFormat, FeedReader};
use vigie_model::{ItemError, ItemErrorKind};
use vigie_store::{RunKind, Store};

use crate::cmd::report::{db_path, print_errors};
use crate::exit::Outcome;

/// Feed format of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Told from each file's first line.
    Auto,
    /// Shadowserver's Vulnerable Exchange Server report CSV.
    Shadowserver,
    /// `host,build` lines.
    Hostbuild,
}

/// Arguments of `vigie import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Feed files (one run each).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// History database (default: `$XDG_DATA_HOME/vigie/vigie.db`).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Feed format.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FormatArg,
    /// Judge builds as of this date (default: today).
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
}

/// What one file gave.
#[derive(Debug, Default)]
struct Imported {
    run: Option<i64>,
    hosts: u64,
    vulnerable: u64,
    unknown: u64,
    errors: u64,
}

fn open(path: &Path) -> Result<BufReader<File>, ItemError> {
    File::open(path).map(BufReader::new).map_err(|e| {
        ItemError::new(
            path.display().to_string(),
            ItemErrorKind::Io,
            e.to_string(),
        )
    })
}

fn format_of(path: &Path, given: FormatArg) -> Result<FeedFormat, ItemError> {
    Ok(match given {
        FormatArg::Shadowserver => FeedFormat::Shadowserver,
        FormatArg::Hostbuild => FeedFormat::HostBuild,
        FormatArg::Auto => {
            let mut start = Vec::with_capacity(8192);
            open(path)?.take(8192).read_to_end(&mut start).map_err(|e| {
                ItemError::new(
                    path.display().to_string(),
                    ItemErrorKind::Io,
                    e.to_string(),
                )
            })?;
            FeedFormat::detect(&start)
        }
    })
}

/// The earliest row time of a file (first pass; errors are reported by
/// the second).
fn earliest(
    path: &Path,
    name: &str,
    format: FeedFormat,
) -> Option<DateTime<Utc>> {
    let reader = open(path).ok()?;
    FeedReader::new(reader, name, format).filter_map(|r| r.ok()?.seen_at).min()
}

fn import_file(
    store: &mut Store,
    path: &Path,
    given: FormatArg,
    as_of: NaiveDate,
) -> Result<Imported, ItemError> {
    let name = path.display().to_string();
    let format = format_of(path, given)?;
    let source = format!("import:{}:{name}", format.as_str());
    let now = Utc::now();
    let started = earliest(path, &name, format).unwrap_or(now);
    let mut got = Imported::default();
    let store_error = |e: vigie_store::StoreError| {
        ItemError::new(name.clone(), ItemErrorKind::Io, e.to_string())
    };
    for row in FeedReader::new(open(path)?, &name, format) {
        let host = row
            .and_then(|r| vigie_feeds::judge(&r, &source, &name, as_of, now));
        let host = match host {
            Ok(h) => h,
            Err(e) => {
                print_errors(std::slice::from_ref(&e));
                got.errors += 1;
                continue;
            }
        };
        let run = match got.run {
            Some(run) => run,
            None => {
                let run = store
                    .begin_run_at(RunKind::Scan, &source, started)
                    .map_err(store_error)?;
                got.run = Some(run);
                run
            }
        };
        store.record_host(run, &host).map_err(store_error)?;
        got.hosts += 1;
        match host.state() {
            "vulnerable" => got.vulnerable += 1,
            "unknown" => got.unknown += 1,
            _ => {}
        }
    }
    if let Some(run) = got.run {
        store.finish_run(run).map_err(store_error)?;
    }
    Ok(got)
}

/// Run `vigie import`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let path = db_path(args.db.as_deref())?;
    let mut store = Store::open(&path)?;
    let as_of = args.as_of.unwrap_or_else(|| Utc::now().date_naive());
    let mut out = std::io::stdout().lock();
    let (mut findings, mut errors) = (false, false);
    for file in &args.files {
        let got = match import_file(&mut store, file, args.format, as_of) {
            Ok(got) => got,
            Err(e) => {
                print_errors(std::slice::from_ref(&e));
                errors = true;
                continue;
            }
        };
        findings |= got.vulnerable > 0;
        errors |= got.errors > 0;
        let run = got.run.map_or("-".to_string(), |r| r.to_string());
        let name = vigie_model::terminal_safe(&file.display().to_string());
        writeln!(
            out,
            "{name}: run {run}, {} hosts ({} vulnerable, {} unknown build), {} bad rows",
            got.hosts, got.vulnerable, got.unknown, got.errors
        )?;
    }
    out.flush()?;
    eprintln!("vigie: imported into {}", path.display());
    Ok(Outcome::from_flags(findings, errors))
}
