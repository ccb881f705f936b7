//! `vigie check`: judge Exchange builds from any source.
//!
//! Inputs are build strings, `ExSetup.exe` files (the PE version resource
//! is the authoritative build on a server), `server,build` inventories
//! (CSV or JSON) and files or stdin with one build per line. Each item is
//! judged by `vigie-builds` against the embedded table (or `--builds`), as
//! of `--as-of`; each bad item becomes an error record and the run goes on.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;
use serde::Serialize;
use vigie_builds::Table;
use vigie_model::build::{CveState, PatchAssessment, SupportState};
use vigie_model::{ItemError, ToolInfo, csv_safe, terminal_safe};

use crate::exit::Outcome;

pub mod host;
mod input;
mod json;
mod text;

use input::{Judge, expand};
use json::JsonDocument;
use text::{Summary, write_block};

/// Arguments of `vigie check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Build numbers (`15.1.2176.9`, `15.01.2176.009`, `Version 15.1
    /// (Build 2176.9)`, `15.1.2176`), paths to ExSetup.exe, inventory
    /// files (`server,build` CSV or JSON) or files with one build per
    /// line. `-` (or no input) reads stdin.
    pub inputs: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Judge as of this date (YYYY-MM-DD): only builds and CVEs released
    /// by then count. Default: today.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// Load builds from this CSV instead of the embedded table (same
    /// columns as crates/builds/data/builds.csv). Bad rows are reported
    /// by file and line and skipped.
    #[arg(long, value_name = "FILE")]
    pub builds: Option<PathBuf>,
    /// Add CVE fixes newer than the table from this CSV: columns
    /// `cve,fixed_in` (one row per fixing build) and, for a CVE the table
    /// does not know, `name,cvss,known_exploited,published` (docs/check.md).
    /// Bad rows are reported by file and line and skipped.
    #[arg(long, value_name = "FILE")]
    pub cves: Option<PathBuf>,
    /// Table format: also list patched and not-affected CVEs.
    #[arg(long)]
    pub all: bool,
    /// Whole-server health (`--host PATH...`, `--live`, `--exports DIR`).
    #[command(flatten)]
    pub host: host::HostArgs,
}

/// Output formats of `vigie check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable blocks, one per build.
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// One CSV row per build (spreadsheet-safe).
    Csv,
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))
}

/// One judged build and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    /// Server name, from an inventory.
    pub server: Option<String>,
    /// Where the build was read: `argument`, a file path, `path:line`.
    pub source: String,
    /// The judgement.
    #[serde(flatten)]
    pub assessment: PatchAssessment,
}

impl Checked {
    /// A build that needs action: open CVEs, CVEs whose state cannot be
    /// told from the input (someone must look), or an unsupported CU or
    /// product. A configuration step alone does not count: the build
    /// cannot show whether it was done.
    fn is_finding(&self) -> bool {
        let a = &self.assessment;
        a.open_cves().next().is_some()
            || a.cves.iter().any(|c| c.state == CveState::Unknown)
            || matches!(
                a.support,
                SupportState::CuUnsupported | SupportState::ProductEndOfLife
            )
    }
}

/// One result of the run: a judged build or an item error.
enum Item {
    Checked(Box<Checked>),
    Error(ItemError),
}

/// Run `vigie check`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let (table, table_errors) =
        load_table(args.builds.as_deref(), args.cves.as_deref())?;
    for e in &table_errors {
        eprintln!("vigie check: {}", terminal_safe(&e.to_string()));
    }
    let as_of = args.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
    if args.host.asked() {
        return host::run(&args.host, args.format, &table, as_of);
    }
    let mut inputs = args.inputs.clone();
    if inputs.is_empty() {
        if std::io::stdin().is_terminal() {
            anyhow::bail!(
                "give build numbers, ExSetup.exe paths or inventory files \
                 (or pipe them on stdin); see vigie check --help"
            );
        }
        inputs.push("-".to_string());
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut sink = Sink::new(args.format, args.all, &table, as_of);
    sink.start(&mut out)?;
    let judge = Judge { table: &table, as_of };
    for input in &inputs {
        expand(input, judge, &mut |item| sink.item(&mut out, item))?;
    }
    sink.finish(&mut out)?;
    out.flush()?;
    let input_errors = sink.errors > 0 || !table_errors.is_empty();
    Ok(Outcome::from_flags(sink.findings, input_errors))
}

type LoadedTable =
    (std::borrow::Cow<'static, Table>, Vec<vigie_builds::TableError>);

/// The embedded table, or one with `--builds` and `--cves` applied; bad
/// rows of those files come back as errors (file and line), the rest loads.
fn load_table(
    builds: Option<&Path>,
    cves: Option<&Path>,
) -> anyhow::Result<LoadedTable> {
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))
    };
    let mut errors = Vec::new();
    let mut table = std::borrow::Cow::Borrowed(Table::embedded());
    if let Some(path) = builds {
        let name = path.display().to_string();
        let loaded = Table::load_builds(&name, &read(path)?)
            .with_context(|| format!("loading build table {name}"))?;
        errors.extend(loaded.errors);
        table = std::borrow::Cow::Owned(loaded.table);
    }
    if let Some(path) = cves {
        let name = path.display().to_string();
        let loaded = table
            .with_cves(&name, &read(path)?)
            .with_context(|| format!("loading CVE table {name}"))?;
        errors.extend(loaded.errors);
        table = std::borrow::Cow::Owned(loaded.table);
    }
    Ok((table, errors))
}

/// Writes items as they come, in the chosen format.
struct Sink<'t> {
    format: Format,
    all: bool,
    table: &'t Table,
    as_of: NaiveDate,
    json: JsonDocument,
    summary: Summary,
    findings: bool,
    checked: usize,
    flagged: usize,
    errors: usize,
}

/// A `--format jsonl` line.
#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    schema_version: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

/// The first `--format jsonl` line: who wrote it, which table, which date.
#[derive(Serialize)]
struct RunInfo {
    tool: ToolInfo,
    table_as_of: NaiveDate,
    as_of: NaiveDate,
}

const CSV_HEADER: [&str; 19] = [
    "server",
    "input",
    "source",
    "build",
    "precision",
    "product",
    "cu",
    "su",
    "release_date",
    "support",
    "latest_su_installed",
    "days_behind",
    "open_cves",
    "unknown_cves",
    "config_needed_cves",
    "upgrade_path",
    "match_note",
    "error",
    "table_as_of",
];

impl<'t> Sink<'t> {
    fn new(
        format: Format,
        all: bool,
        table: &'t Table,
        as_of: NaiveDate,
    ) -> Self {
        Sink {
            format,
            all,
            table,
            as_of,
            json: JsonDocument::default(),
            summary: Summary::default(),
            findings: false,
            checked: 0,
            flagged: 0,
            errors: 0,
        }
    }

    fn start(&mut self, out: &mut dyn Write) -> anyhow::Result<()> {
        let table_as_of = self.table.as_of();
        match self.format {
            Format::Table => {
                writeln!(
                    out,
                    "vigie check: build table as of {table_as_of}, judged as of {}",
                    self.as_of
                )?;
                if let Some(f) = self.table.freshness(self.as_of) {
                    writeln!(out, "WARNING: {f}")?;
                }
                writeln!(out)?;
            }
            Format::Jsonl => {
                let info = RunInfo {
                    tool: ToolInfo::current(),
                    table_as_of,
                    as_of: self.as_of,
                };
                write_jsonl(out, "run", &info)?;
            }
            Format::Csv => {
                write_csv_row(out, CSV_HEADER.iter().map(|s| s.to_string()))?
            }
            Format::Json => self.json.start(out, table_as_of, self.as_of)?,
        }
        Ok(())
    }

    fn item(&mut self, out: &mut dyn Write, item: Item) -> anyhow::Result<()> {
        match item {
            Item::Checked(c) => {
                self.checked += 1;
                if c.is_finding() {
                    self.findings = true;
                    self.flagged += 1;
                }
                match self.format {
                    Format::Table => {
                        write_block(out, &c, self.all)?;
                        self.summary.add(&c);
                    }
                    Format::Jsonl => write_jsonl(out, "result", &*c)?,
                    Format::Csv => write_csv_row(out, csv_cells(&c))?,
                    Format::Json => self.json.result(out, &c)?,
                }
            }
            Item::Error(e) => {
                self.errors += 1;
                match self.format {
                    Format::Table => writeln!(
                        out,
                        "error  {}: {}\n",
                        terminal_safe(&e.subject),
                        terminal_safe(&e.message)
                    )?,
                    Format::Jsonl => write_jsonl(out, "error", &e)?,
                    Format::Csv => write_csv_row(out, error_cells(&e))?,
                    Format::Json => self.json.error(&e)?,
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write) -> anyhow::Result<()> {
        match self.format {
            Format::Table => {
                self.summary.write(out)?;
                writeln!(
                    out,
                    "{} build(s) checked: {} need action (open or \
                     unknown CVEs, or unsupported), {} error(s)",
                    self.checked, self.flagged, self.errors
                )?;
            }
            Format::Json => self.json.finish(out)?,
            Format::Jsonl | Format::Csv => {}
        }
        Ok(())
    }
}

fn write_jsonl<T: Serialize>(
    out: &mut dyn Write,
    kind: &'static str,
    body: &T,
) -> anyhow::Result<()> {
    let line =
        Line { schema_version: vigie_model::SCHEMA_VERSION, kind, body };
    // As an io::Error, a closed pipe is recognised by exit.rs.
    serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

fn write_csv_row(
    out: &mut dyn Write,
    cells: impl IntoIterator<Item = String>,
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cells.into_iter().map(|c| csv_safe(&c)))?;
    out.write_all(&w.into_inner()?)?;
    Ok(())
}

fn snake<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn cves_in(a: &PatchAssessment, state: CveState) -> String {
    a.cves
        .iter()
        .filter(|c| c.state == state)
        .map(|c| c.cve.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn path_text(a: &PatchAssessment) -> String {
    a.upgrade_path
        .iter()
        .map(|s| format!("{} ({})", s.action, s.build))
        .collect::<Vec<_>>()
        .join("; ")
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_default()
}

fn csv_cells(c: &Checked) -> Vec<String> {
    let a = &c.assessment;
    vec![
        opt(&c.server),
        a.input.clone(),
        c.source.clone(),
        a.build.clone(),
        snake(&a.precision),
        opt(&a.product),
        opt(&a.cu),
        opt(&a.su),
        opt(&a.release_date),
        snake(&a.support),
        opt(&a.latest_su_installed),
        opt(&a.days_behind),
        cves_in(a, CveState::Vulnerable),
        cves_in(a, CveState::Unknown),
        cves_in(a, CveState::PatchedConfigNeeded),
        path_text(a),
        a.match_note.clone(),
        String::new(),
        opt(&a.table_as_of),
    ]
}

fn error_cells(e: &ItemError) -> Vec<String> {
    let mut cells = vec![String::new(); CSV_HEADER.len()];
    cells[1] = e.subject.clone();
    cells[17] = e.message.clone();
    cells
}

/// The demo date: today as this demo was written (the table is older,
/// so the freshness warning shows), with ESU-only updates for 2016/2019.
const DEMO_AS_OF: &str = "2026-11-27";

/// The demo section of `check`.
pub fn demo(ctx: &mut crate::cmd::demo::DemoContext) -> anyhow::Result<()> {
    let as_of = parse_date(DEMO_AS_OF).map_err(anyhow::Error::msg)?;
    let table = Table::embedded();
    writeln!(
        ctx.out,
        "== vigie check: builds judged as of {DEMO_AS_OF} (table as of {})",
        table.as_of()
    )?;
    if let Some(f) = table.freshness(as_of) {
        writeln!(ctx.out, "WARNING: {f}")?;
    }
    writeln!(ctx.out)?;
    let exe = ctx.dir.join("ExSetup.exe");
    let image = vigie_builds::pe::synthetic_image([15, 2, 2562, 37]);
    std::fs::write(&exe, image)
        .with_context(|| format!("writing {}", exe.display()))?;
    let exe = exe.display().to_string();
    let inputs = [
        (
            "2019 CU14 as released in February 2024, never updated",
            "15.2.1544.4",
        ),
        (
            "2016 CU23 with Aug26SU (ESU-only): configuration still matters",
            "15.1.2507.72",
        ),
        ("ExSetup.exe (synthetic, SE RTM Feb26SU)", exe.as_str()),
        ("CU-level only (OWA path)", "15.2.1748"),
    ];
    let judge = Judge { table, as_of };
    for (label, input) in inputs {
        writeln!(ctx.out, "-- {label}")?;
        expand(input, judge, &mut |item| {
            match item {
                Item::Checked(c) => write_block(&mut ctx.out, &c, false)?,
                Item::Error(e) => writeln!(ctx.out, "error  {e}")?,
            }
            Ok(())
        })?;
    }
    Ok(())
}
