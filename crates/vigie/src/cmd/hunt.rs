//! `vigie hunt`: look for evidence of compromise on an Exchange server's
//! disk, a mounted image, a triage copy, or loose logs.
//!
//! This module turns arguments into [`HuntOptions`], runs the engine of
//! `vigie-hunt` (progress on stderr when it is a terminal), and writes the
//! result: a human summary, one JSON document or finding lines on stdout,
//! and with `--out` the per-host files (findings, timeline JSONL and
//! Timesketch CSV, HTML report, JSON document). Evidence is read-only:
//! `--out` and `--db` may not point inside a hunted path.
//!
//! Exit codes: 0 clean; 1 findings (suspicious or worse); 3 no findings but
//! the verdict is inconclusive or some inputs had errors; 2 fatal.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use vigie_hunt::discover::{absolute, file_stem};
use vigie_hunt::engine::{
    HuntOptions, HuntOutput, MAX_THREADS, Progress, hunt,
};
use vigie_hunt::files::FileIntelOptions;
use vigie_hunt::timeline::{CsvSink, JsonlSink, write_all};
use vigie_model::hunt::HuntReport;
use vigie_model::{Finding, Verdict};

use crate::exit::Outcome;

mod demo;
mod text;

pub use demo::demo;

/// Arguments of `vigie hunt`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Evidence: a mounted image or triage folder (Program Files, inetpub,
    /// Windows\System32\winevt\Logs are found wherever they sit, any
    /// case), the Exchange install folder, or loose log/EVTX/JSON files.
    #[arg(value_name = "PATH", required_unless_present = "live")]
    pub paths: Vec<PathBuf>,
    /// Hunt this machine (Windows): the Exchange install folder (from the
    /// registry's MsiInstallPath, else %ExchangeInstallPath%, else the
    /// default path), inetpub and every IIS log folder applicationHost.config
    /// names, the event logs, Temp, ProgramData, Temporary ASP.NET Files.
    #[arg(long)]
    pub live: bool,
    /// The Exchange install folder (`...\V15`), when discovery cannot
    /// find it.
    #[arg(long, value_name = "DIR")]
    pub exchange_root: Option<PathBuf>,
    /// Ignore log records before DATE (YYYY-MM-DD or RFC 3339, UTC); every
    /// family's exposure window then starts at DATE instead of its first
    /// known exploitation.
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,
    /// Ignore log records after DATE (a bare date means its end).
    #[arg(long, value_name = "DATE", value_parser = parse_until)]
    pub until: Option<DateTime<Utc>>,
    /// The server's name (default: from the logs, else the folder name).
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Extra YARA rule folder (repeatable).
    #[arg(long, value_name = "DIR")]
    pub yara: Vec<PathBuf>,
    /// Leave vigie's embedded web shell rules out.
    #[arg(long)]
    pub no_embedded_yara: bool,
    /// Known-bad hash list, `HASH;COMMENT` per line (repeatable).
    #[arg(long, value_name = "FILE")]
    pub hashes: Vec<PathBuf>,
    /// Filename IOC list, `REGEX;SCORE[;FP_REGEX]` (repeatable).
    #[arg(long, value_name = "FILE")]
    pub filename_iocs: Vec<PathBuf>,
    /// Folder of Sigma rules (SigmaHQ format; `.yml`/`.yaml` below it, or
    /// one rule file) evaluated over every log record (repeatable). Rules
    /// that cannot load are listed with the reason; see docs/sigma.md.
    #[arg(long, value_name = "DIR")]
    pub sigma: Vec<PathBuf>,
    /// Write <host>.findings.jsonl, .timeline.jsonl, .timeline.csv
    /// (Timesketch), .html and .json into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also record the hunt in this history database (an SQLite file or
    /// `postgres://user@host/db`).
    #[arg(long, value_name = "FILE|URL")]
    pub db: Option<PathBuf>,
    /// Worker threads (0: one per core; at most 256).
    #[arg(long, default_value_t = 0, value_parser = parse_threads)]
    pub threads: usize,
    /// No progress display.
    #[arg(long)]
    pub no_progress: bool,
}

/// Output formats of `vigie hunt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Verdict, families, top evidence, coverage, for people.
    Table,
    /// One JSON document: the whole hunt report.
    Json,
    /// One finding per line (with the host).
    Jsonl,
}

fn parse_date(text: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        format!("{text:?} is not a date (YYYY-MM-DD or RFC 3339)")
    })?;
    let time = if end_of_day {
        NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999)
    } else {
        Some(NaiveTime::MIN)
    };
    Ok(day.and_time(time.unwrap_or(NaiveTime::MIN)).and_utc())
}

/// `--threads`: a count up to [`MAX_THREADS`], checked while parsing so
/// a typo (`--threads 10000`) is a usage error before any file is read,
/// not ten thousand threads being started.
fn parse_threads(text: &str) -> Result<usize, String> {
    let n: usize =
        text.parse().map_err(|_| format!("{text:?} is not a thread count"))?;
    if n > MAX_THREADS {
        return Err(format!(
            "{n} threads is more than the limit of {MAX_THREADS}"
        ));
    }
    Ok(n)
}

fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    parse_date(text, false)
}

fn parse_until(text: &str) -> Result<DateTime<Utc>, String> {
    parse_date(text, true)
}

/// Run `vigie hunt`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    if let (Some(s), Some(u)) = (args.since, args.until) {
        anyhow::ensure!(s <= u, "--since is after --until");
    }
    if args.live {
        super::live::ensure_supported("vigie hunt")?;
    }
    let sigma = load_sigma(&args.sigma)?;
    let mut opts = options(&args);
    opts.sigma = sigma;
    if args.live {
        opts.live = Some(super::live::layout("vigie hunt"));
    }
    let file_db = args
        .db
        .as_ref()
        .filter(|d| !d.to_str().is_some_and(vigie_store::is_postgres_url));
    for target in [args.out.as_ref(), file_db].into_iter().flatten() {
        refuse_inside_evidence(target, &opts)?;
    }
    let bar = progress_bar(args.no_progress);
    let show = |p: Progress| {
        if let Some(b) = &bar {
            b.set_message(match p {
                Progress::Files { done } => format!("{done} files checked"),
                Progress::Logs { done, total } => {
                    format!("logs {done}/{total}")
                }
            });
        }
    };
    let output = hunt(&opts, &show)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if args.live
        && let Some(note) = super::live::rights_note(
            "vigie hunt",
            super::live::elevated(),
            &output.report.errors,
        )
    {
        eprintln!("{note}");
    }
    print(&output, args.format)?;
    if let Some(dir) = &args.out {
        let files = write_out(&output, dir)?;
        eprintln!(
            "vigie hunt: wrote {}",
            files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(db) = &args.db {
        record(&output.report, db)?;
    }
    Ok(outcome(&output.report))
}

/// Load the `--sigma` rules; a folder that cannot be read is fatal, a
/// rule that cannot load is listed in the report.
fn load_sigma(
    dirs: &[PathBuf],
) -> anyhow::Result<Option<std::sync::Arc<vigie_sigma::RuleSet>>> {
    if dirs.is_empty() {
        return Ok(None);
    }
    let set = vigie_sigma::RuleSet::load(dirs)?;
    let sum = set.summary();
    eprintln!(
        "vigie hunt: Sigma: {} rule(s) loaded ({} for sources vigie \
         reads), {} skipped",
        sum.rules_loaded, sum.rules_applicable, sum.rules_skipped
    );
    Ok(Some(std::sync::Arc::new(set)))
}

/// The exit outcome of a hunt: findings win; "inconclusive" is not
/// clean, and is reported like item errors (exit 3).
pub fn outcome(report: &HuntReport) -> Outcome {
    let findings = report.verdict >= Verdict::Suspicious;
    let incomplete =
        report.verdict == Verdict::Inconclusive || !report.errors.is_empty();
    Outcome::from_flags(findings, incomplete)
}

fn options(args: &Args) -> HuntOptions {
    HuntOptions {
        inputs: args.paths.clone(),
        exchange_root: args.exchange_root.clone(),
        live: None,
        since: args.since,
        until: args.until,
        hostname: args.hostname.clone(),
        intel: FileIntelOptions {
            yara_dirs: args.yara.clone(),
            no_embedded_yara: args.no_embedded_yara,
            hash_files: args.hashes.clone(),
            filename_ioc_files: args.filename_iocs.clone(),
        },
        threads: args.threads,
        // Not read from the evidence yet: windows end at the last record.
        fixed_on: Default::default(),
        sigma: None,
    }
}

/// Reports written into the evidence would modify it.
pub(crate) fn refuse_inside_evidence(
    target: &Path,
    opts: &HuntOptions,
) -> anyhow::Result<()> {
    let t = absolute(target);
    let live: Vec<PathBuf> = opts
        .live
        .iter()
        .flat_map(vigie_hunt::discover::live_roots)
        .map(|r| r.walk)
        .collect();
    let inputs = opts.inputs.iter().chain(opts.exchange_root.as_ref());
    for input in inputs.chain(&live) {
        let i = absolute(input);
        let dir = if i.is_file() {
            i.parent().map(Path::to_path_buf).unwrap_or(i)
        } else {
            i
        };
        anyhow::ensure!(
            !t.starts_with(&dir),
            "{} is inside the evidence {}: vigie never writes there",
            t.display(),
            dir.display()
        );
    }
    Ok(())
}

fn progress_bar(disabled: bool) -> Option<indicatif::ProgressBar> {
    if disabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {elapsed_precise} {msg}",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    Some(bar)
}

/// One line of `--format jsonl` and of `<host>.findings.jsonl`.
#[derive(Serialize)]
struct FindingLine<'a> {
    host: &'a str,
    #[serde(flatten)]
    finding: &'a Finding,
}

fn write_findings(
    w: &mut dyn Write,
    report: &HuntReport,
) -> anyhow::Result<()> {
    for f in &report.findings {
        serde_json::to_writer(
            &mut *w,
            &FindingLine { host: &report.host, finding: f },
        )?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

fn print(output: &HuntOutput, format: Format) -> anyhow::Result<()> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    match format {
        Format::Table => text::write_summary(&mut out, output)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &output.report)?;
            writeln!(out)?;
        }
        Format::Jsonl => write_findings(&mut out, &output.report)?,
    }
    out.flush()?;
    Ok(())
}

/// Write the per-host files into `dir`; returns their paths.
pub fn write_out(
    output: &HuntOutput,
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let report = &output.report;
    let stem = file_stem(&report.host);
    let path = |ext: &str| dir.join(format!("{stem}.{ext}"));
    let create = |p: &Path| -> anyhow::Result<BufWriter<std::fs::File>> {
        let f = std::fs::File::create(p)
            .with_context(|| format!("writing {}", p.display()))?;
        Ok(BufWriter::new(f))
    };
    let mut written = Vec::new();

    let p = path("findings.jsonl");
    let mut w = create(&p)?;
    write_findings(&mut w, report)?;
    w.flush()?;
    written.push(p);

    let p = path("timeline.jsonl");
    write_all(&mut JsonlSink::new(create(&p)?), &output.timeline)?;
    written.push(p);

    let p = path("timeline.csv");
    write_all(&mut CsvSink::new(create(&p)?, &report.host), &output.timeline)?;
    written.push(p);

    let p = path("html");
    let mut w = create(&p)?;
    w.write_all(vigie_report::html::render_hunt(report).as_bytes())?;
    w.flush()?;
    written.push(p);

    // One line: a JSON document and a record `vigie report` reads.
    let p = path("json");
    let mut w = create(&p)?;
    serde_json::to_writer(&mut w, report)?;
    w.write_all(b"\n")?;
    w.flush()?;
    written.push(p);
    Ok(written)
}

fn record(report: &HuntReport, db: &Path) -> anyhow::Result<()> {
    let given = (!db.as_os_str().is_empty()).then_some(db);
    let path = crate::cmd::report::db_path(given)?;
    let mut store = vigie_store::Store::open(&path)?;
    let meta = format!("vigie hunt {}", report.inputs.join(" "));
    let run = store.begin_run(vigie_store::RunKind::Hunt, &meta)?;
    store.record_hunt(run, report)?;
    store.finish_run(run)?;
    Ok(())
}
