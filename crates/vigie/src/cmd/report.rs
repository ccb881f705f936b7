//! `vigie report`: scan or hunt JSONL, `vigie check --host` JSON or JSONL
//! (or a stored run) into one HTML, CSV or Markdown report.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use vigie_report::input::Records;

use crate::exit::Outcome;

/// Output formats of `vigie report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Self-contained HTML page (charts, sortable tables, evidence).
    Html,
    /// One row per host or hunt, safe to open in a spreadsheet.
    Csv,
    /// Markdown summary.
    Md,
}

/// Arguments of `vigie report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scan or hunt JSONL files, or `vigie check --host` JSON/JSONL
    /// (server health; HTML only) (`-` for stdin).
    pub files: Vec<PathBuf>,
    /// Read a stored run instead (see `vigie history`): an SQLite file
    /// or `postgres://user@host/db`.
    #[arg(long, value_name = "FILE|URL")]
    pub db: Option<PathBuf>,
    /// The stored run to report on (default: the latest).
    #[arg(long, requires = "db")]
    pub run: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "html")]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Read JSONL files into records; bad lines become item errors.
pub(crate) fn read_files(files: &[PathBuf]) -> Records {
    let mut records = Records::default();
    for path in files {
        let name = path.display().to_string();
        if path.as_os_str() == "-" {
            records.read(std::io::stdin().lock(), "<stdin>");
            continue;
        }
        match std::fs::File::open(path) {
            Ok(f) => records.read(BufReader::new(f), &name),
            Err(e) => records.errors.push(vigie_model::ItemError::new(
                name,
                vigie_model::ItemErrorKind::Io,
                e.to_string(),
            )),
        }
    }
    records
}

/// Print item errors on stderr, terminal-safe.
pub(crate) fn print_errors(errors: &[vigie_model::ItemError]) {
    for e in errors {
        eprintln!("vigie: {}", vigie_model::terminal_safe(&e.to_string()));
    }
}

/// The database path: given, or the default place.
pub(crate) fn db_path(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    match given {
        Some(p) => Ok(p.to_path_buf()),
        None => vigie_store::default_path().context(
            "no default database place (set XDG_DATA_HOME or use --db)",
        ),
    }
}

fn from_db(path: &Path, run: Option<i64>) -> anyhow::Result<Records> {
    let mut store = vigie_store::Store::open_read_only(path)?;
    let runs = store.runs()?;
    let id = match run {
        Some(id) => id,
        None => runs
            .last()
            .map(|r| r.id)
            .context("the database has no runs yet")?,
    };
    if runs.iter().any(|r| r.id == id && r.finished_at.is_none()) {
        eprintln!(
            "vigie: run {id} did not finish (interrupted or still running): \
             the report shows only the servers it reached"
        );
    }
    Ok(Records {
        hosts: store.hosts(id)?,
        hunts: store.hunts(id)?,
        health: store.health(id)?,
        errors: Vec::new(),
    })
}

/// Render records in a format.
pub(crate) fn render(records: &Records, format: Format) -> String {
    let (hosts, hunts) = (&records.hosts, &records.hunts);
    match format {
        Format::Html => {
            vigie_report::html::render_all(hosts, hunts, &records.health)
        }
        Format::Csv => vigie_report::text::csv(hosts, hunts),
        Format::Md => vigie_report::text::markdown(hosts, hunts),
    }
}

/// Whether the records hold something to act on.
pub(crate) fn has_findings(records: &Records) -> bool {
    let host = |h| vigie_report::html::host_state(h) == "vulnerable";
    records.hosts.iter().any(host)
        || records
            .hunts
            .iter()
            .any(|r| r.verdict > vigie_model::Verdict::Inconclusive)
        || records.health.iter().any(|s| s.needs_action())
}

/// Write text to a file or to stdout.
pub(crate) fn emit(text: &str, output: Option<&Path>) -> anyhow::Result<()> {
    match output {
        Some(p) => std::fs::write(p, text)
            .with_context(|| format!("cannot write {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            Ok(out.flush()?)
        }
    }
}

/// Run `vigie report`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let records = match &args.db {
        Some(db) => from_db(db, args.run)?,
        None if args.files.is_empty() => {
            anyhow::bail!("give JSONL files to report on, or --db")
        }
        None => read_files(&args.files),
    };
    print_errors(&records.errors);
    emit(&render(&records, args.format), args.output.as_deref())?;
    if let Some(p) = &args.output {
        eprintln!("vigie: report written to {}", p.display());
    }
    Ok(Outcome::from_flags(has_findings(&records), !records.errors.is_empty()))
}

/// The demo section of `report`: every result file of the demo in one
/// HTML page.
pub fn demo(ctx: &mut crate::cmd::demo::DemoContext) -> anyhow::Result<()> {
    writeln!(ctx.out, "== vigie report: one page for everything above")?;
    let records = read_files(&ctx.results);
    for e in &records.errors {
        writeln!(
            ctx.out,
            "  skipped {}",
            vigie_model::terminal_safe(&e.to_string())
        )?;
    }
    let path = ctx.dir.join("report.html");
    std::fs::write(&path, render(&records, Format::Html))?;
    writeln!(
        ctx.out,
        "  {} hosts, {} hunts, {} server health -> {}",
        records.hosts.len(),
        records.hunts.len(),
        records.health.len(),
        path.display()
    )?;
    Ok(())
}
