//! `vigie check`: judge Exchange builds from any source.
//!
//! Inputs are build strings, `ExSetup.exe` files (the PE version resource
//! is the authoritative build on a server), `server,build` inventories
//! (CSV or JSON) and files or stdin with one build per line. Each item is
//! judged by `vigie-builds` against the embedded table (or `--builds`), as
//! of `--as-of`; each bad item becomes an error record and the run goes on.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;
use serde::Serialize;
use vigie_builds::Table;
use vigie_builds::inventory::{looks_like_inventory, parse_inventory};
use vigie_model::build::{CveState, PatchAssessment, SupportState};
use vigie_model::{
    ItemError, ItemErrorKind, ToolInfo, csv_safe, terminal_safe,
};

use crate::exit::Outcome;

pub mod host;
mod text;

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
    /// columns as crates/builds/data/builds.csv).
    #[arg(long, value_name = "FILE")]
    pub builds: Option<PathBuf>,
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
    let table = load_table(args.builds.as_deref())?;
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
    for input in &inputs {
        for item in expand(input, &table, as_of) {
            sink.item(&mut out, item)?;
        }
    }
    sink.finish(&mut out)?;
    out.flush()?;
    Ok(Outcome::from_flags(sink.findings, sink.errors > 0))
}

fn load_table(
    path: Option<&Path>,
) -> anyhow::Result<std::borrow::Cow<'static, Table>> {
    let Some(path) = path else {
        return Ok(std::borrow::Cow::Borrowed(Table::embedded()));
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading build table {}", path.display()))?;
    let table = Table::with_builds(&text)
        .with_context(|| format!("loading build table {}", path.display()))?;
    Ok(std::borrow::Cow::Owned(table))
}

/// Largest file read whole: ExSetup.exe is about 50 MB, and a 1 GiB
/// inventory would be millions of servers.
const MAX_FILE: u64 = 1 << 30;

/// Turn one command-line input into judged items.
fn expand(input: &str, table: &Table, as_of: NaiveDate) -> Vec<Item> {
    if input == "-" {
        let mut text = String::new();
        return match std::io::stdin().read_to_string(&mut text) {
            Ok(_) => from_text("stdin", &text, table, as_of),
            Err(e) => vec![io_error("stdin", &e)],
        };
    }
    let path = Path::new(input);
    if path.is_file() {
        let size = path.metadata().map(|m| m.len()).unwrap_or(0);
        if size > MAX_FILE {
            return vec![Item::Error(ItemError::new(
                input,
                ItemErrorKind::Limit,
                format!(
                    "file is {size} bytes; ExSetup.exe and inventories are \
                     far below the {MAX_FILE}-byte limit"
                ),
            ))];
        }
        return match std::fs::read(path) {
            Ok(bytes) => from_file(input, &bytes, table, as_of),
            Err(e) => vec![io_error(input, &e)],
        };
    }
    vec![one_build(None, "argument", input, table, as_of)]
}

fn io_error(subject: &str, e: &std::io::Error) -> Item {
    Item::Error(ItemError::new(subject, ItemErrorKind::Io, e.to_string()))
}

fn one_build(
    server: Option<&str>,
    source: &str,
    build: &str,
    table: &Table,
    as_of: NaiveDate,
) -> Item {
    match table.assess(build, as_of) {
        Ok(assessment) => Item::Checked(Box::new(Checked {
            server: server.map(str::to_string),
            source: source.to_string(),
            assessment,
        })),
        Err(e) => {
            let subject = match server {
                Some(s) => format!("{source} ({s}): {build}"),
                None if source == "argument" => build.to_string(),
                None => format!("{source}: {build}"),
            };
            Item::Error(ItemError::new(
                subject,
                ItemErrorKind::Parse,
                e.to_string(),
            ))
        }
    }
}

fn is_exe_name(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".exe") || lower.ends_with(".dll")
}

/// `.csv` and `.json` files are inventories even when their header is
/// wrong, so the error says which columns are missing.
fn is_inventory_name(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".csv", ".json", ".jsonl"].iter().any(|e| lower.ends_with(e))
}

fn from_file(
    path: &str,
    bytes: &[u8],
    table: &Table,
    as_of: NaiveDate,
) -> Vec<Item> {
    if bytes.starts_with(b"MZ") || is_exe_name(path) {
        return vec![from_pe(path, bytes, table, as_of)];
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if is_inventory_name(path) => {
            from_inventory(path, text, table, as_of)
        }
        Ok(text) => from_text(path, text, table, as_of),
        Err(_) => vec![Item::Error(ItemError::new(
            path,
            ItemErrorKind::Parse,
            "neither a PE file (ExSetup.exe) nor a text list of builds",
        ))],
    }
}

fn from_pe(path: &str, bytes: &[u8], table: &Table, as_of: NaiveDate) -> Item {
    match vigie_builds::pe::exe_build(bytes) {
        Ok(parsed) => Item::Checked(Box::new(Checked {
            server: None,
            source: format!("ExSetup file version: {path}"),
            assessment: table.assess_parsed(path, &parsed, as_of),
        })),
        Err(e) => {
            let kind = if e.to_string().contains("truncated") {
                ItemErrorKind::Truncated
            } else {
                ItemErrorKind::Parse
            };
            Item::Error(ItemError::new(path, kind, e.to_string()))
        }
    }
}

fn from_text(
    source: &str,
    text: &str,
    table: &Table,
    as_of: NaiveDate,
) -> Vec<Item> {
    if looks_like_inventory(text) {
        return from_inventory(source, text, table, as_of);
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim().starts_with('#'))
        .map(|(i, l)| {
            let at = format!("{source}:{}", i + 1);
            one_build(None, &at, l.trim(), table, as_of)
        })
        .collect()
}

fn from_inventory(
    source: &str,
    text: &str,
    table: &Table,
    as_of: NaiveDate,
) -> Vec<Item> {
    let rows = match parse_inventory(text) {
        Ok(rows) => rows,
        Err(e) => {
            let err =
                ItemError::new(source, ItemErrorKind::Parse, e.to_string());
            return vec![Item::Error(err)];
        }
    };
    rows.into_iter()
        .map(|row| match row {
            Ok(r) => {
                let at = format!("{source}:{}", r.line);
                one_build(Some(&r.server), &at, &r.build, table, as_of)
            }
            Err(e) => Item::Error(ItemError::new(
                format!("{source}:{}", e.line),
                ItemErrorKind::Parse,
                e.message,
            )),
        })
        .collect()
}

/// Writes items as they come, in the chosen format.
struct Sink<'t> {
    format: Format,
    all: bool,
    table: &'t Table,
    as_of: NaiveDate,
    results: Vec<Checked>,
    summary: Summary,
    error_list: Vec<ItemError>,
    findings: bool,
    checked: usize,
    flagged: usize,
    errors: usize,
}

/// The JSON document of `--format json`.
#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: ToolInfo,
    table_as_of: NaiveDate,
    as_of: NaiveDate,
    results: &'a [Checked],
    errors: &'a [ItemError],
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

const CSV_HEADER: [&str; 18] = [
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
            results: Vec::new(),
            summary: Summary::default(),
            error_list: Vec::new(),
            findings: false,
            checked: 0,
            flagged: 0,
            errors: 0,
        }
    }

    fn start(&mut self, out: &mut dyn Write) -> anyhow::Result<()> {
        let table_as_of = self.table.as_of();
        match self.format {
            Format::Table => writeln!(
                out,
                "vigie check: build table as of {table_as_of}, judged as of {}\n",
                self.as_of
            )?,
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
            Format::Json => {}
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
                    Format::Json => self.results.push(*c),
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
                    Format::Json => self.error_list.push(e),
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
            Format::Json => {
                let doc = Document {
                    schema_version: vigie_model::SCHEMA_VERSION,
                    tool: ToolInfo::current(),
                    table_as_of: self.table.as_of(),
                    as_of: self.as_of,
                    results: &self.results,
                    errors: &self.error_list,
                };
                serde_json::to_writer_pretty(&mut *out, &doc)
                    .map_err(std::io::Error::from)?;
                writeln!(out)?;
            }
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
    ]
}

fn error_cells(e: &ItemError) -> Vec<String> {
    let mut cells = vec![String::new(); CSV_HEADER.len()];
    cells[1] = e.subject.clone();
    cells[17] = e.message.clone();
    cells
}

/// The demo date: the week after ProxyLogon's disclosure and CU20's
/// release, so the cases read as they did to admins in March 2021.
const DEMO_AS_OF: &str = "2021-03-20";

/// The demo section of `check`.
pub fn demo(ctx: &mut crate::cmd::demo::DemoContext) -> anyhow::Result<()> {
    let as_of = parse_date(DEMO_AS_OF).map_err(anyhow::Error::msg)?;
    let table = Table::embedded();
    writeln!(
        ctx.out,
        "== vigie check: builds judged as of {DEMO_AS_OF} (table as of {})\n",
        table.as_of()
    )?;
    let exe = ctx.dir.join("ExSetup.exe");
    let image = vigie_builds::pe::synthetic_image([15, 2, 792, 10]);
    std::fs::write(&exe, image)
        .with_context(|| format!("writing {}", exe.display()))?;
    let exe = exe.display().to_string();
    let inputs = [
        ("2016 CU19 before ProxyLogon's fix", "15.1.2176.2"),
        ("the same CU with Mar21SU", "15.1.2176.9"),
        ("Exchange 2010 SP3 RU31", "14.3.509.0"),
        ("CU-level only (OWA path)", "15.1.2176"),
        ("ExSetup.exe (synthetic, 2019 CU8 Mar21SU)", exe.as_str()),
    ];
    for (label, input) in inputs {
        writeln!(ctx.out, "-- {label}")?;
        for item in expand(input, table, as_of) {
            match item {
                Item::Checked(c) => write_block(&mut ctx.out, &c, false)?,
                Item::Error(e) => writeln!(ctx.out, "error  {e}")?,
            }
        }
    }
    Ok(())
}
