//! `vigie scan`: read target specs, build the plan, run the engine, write
//! JSON lines and a human summary.
//!
//! Address targets become an interval set (a /8 costs a few bytes); names
//! are resolved when probed. Lists are streamed in chunks (see
//! `scan/targets.rs`). The order is a seeded permutation so shards split
//! one scan across machines, and `--resume` continues an interrupted run
//! from its checkpoint.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use chrono::NaiveDate;
use vigie_scan::checkpoint::Checkpoint;
use vigie_scan::engine::{EngineOptions, Plan, Summary, run as run_engine};
use vigie_scan::http::Timeouts;
use vigie_scan::output::{Format, OutputWriter};
use vigie_scan::probe::{ProbeOptions, Scheme};
use vigie_targets::{RangeSet, Spec, parse_exclusions, parse_spec};

use crate::cmd::history::RecordingWriter;
use crate::exit::Outcome;

mod demo;
mod targets;
pub use demo::demo;
use targets::{TargetStream, open_list};

/// Arguments of `vigie scan`.
///
/// Passive by default: plain GETs of /owa/, the OWA logon page and the
/// export tool manifest. `--ssrf-check` adds Microsoft's ProxyLogon cookie
/// probe, an ACTIVE (non-destructive) check.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Targets: address, CIDR, a.b.c.d-e.f.g.h range, hostname,
    /// host:port, [v6]:port.
    pub targets: Vec<String>,
    /// Read targets from FILE, one per line (`-` for stdin; `#` comments).
    /// (`-iL FILE` as in nmap works too.)
    #[arg(short = 'i', long = "input-list", visible_alias = "iL")]
    pub input_list: Vec<PathBuf>,
    /// Exclude addresses, CIDRs or ranges (comma-separated, repeatable).
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Exclude what FILE lists (zmap blocklist: one CIDR per line, #).
    #[arg(long)]
    pub exclude_file: Vec<PathBuf>,
    /// Ports, in order of preference.
    #[arg(short, long, default_value = "443,80")]
    pub ports: String,
    /// auto: HTTP on 80 and 8080, HTTPS elsewhere.
    #[arg(long, value_enum, default_value = "auto")]
    pub scheme: SchemeArg,
    /// Targets started per second at most (0: unpaced).
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    /// Targets probed at once at most [default: 4096, fewer when the
    /// open-file limit is lower]. The rate and --per-subnet are what a
    /// network sees; this window only keeps slow hosts from stalling it.
    #[arg(long)]
    pub max_inflight: Option<usize>,
    /// Targets probed at once within one IPv4 /24 or IPv6 /64 (0: no
    /// limit), so one network is never hit by the whole window at once.
    #[arg(long, default_value_t = 32)]
    pub per_subnet: usize,
    /// TCP connect timeout in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub connect_timeout: f64,
    /// TLS handshake timeout in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub tls_timeout: f64,
    /// Timeout of one request (send and read response) in seconds.
    #[arg(long, default_value_t = 8.0)]
    pub request_timeout: f64,
    /// Time for every request to one host:port together, in seconds
    /// (connects, handshakes, reads and the active probe): a server that
    /// holds each request open costs this at most, not one request
    /// timeout per request.
    #[arg(long, default_value_t = 15.0)]
    pub host_timeout: f64,
    /// Scan only shard K of N (1-based); same --seed on every machine.
    #[arg(long, default_value = "1/1")]
    pub shard: String,
    /// Seed of the scan order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Checkpoint FILE: resumed from when it exists, kept up to date.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Write results to FILE instead of stdout (appended on resume).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Output format (jsonl is the only one --resume can append to).
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: FormatArg,
    /// ACTIVE: also send Microsoft's ProxyLogon (CVE-2021-26855) cookie
    /// probe to Exchange servers.
    #[arg(long)]
    pub ssrf_check: bool,
    /// Judge builds as of this date (YYYY-MM-DD; default today).
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Specs per chunk of a streamed target list (tests set it small).
    #[arg(long, hide = true)]
    pub list_chunk: Option<usize>,
    /// Also record the run in this history database, an SQLite file or
    /// `postgres://user@host/db` shared by many scanners (see `vigie
    /// history`; `--db ''` for the default place).
    #[arg(long, value_name = "FILE|URL")]
    pub db: Option<PathBuf>,
    /// With --db: record into the run NAME, shared by every shard of one
    /// scan (give each `--shard K/N` of the scan the same NAME, e.g.
    /// `2026-w48`): one run in `history`, `diff` and `report`, finished
    /// when all N shards are. Without it each process records a run of
    /// its own.
    #[arg(long, value_name = "NAME", requires = "db")]
    pub run_name: Option<String>,
}

/// Targets in flight by default: enough that the tarpits and slow
/// servers of a large range (each holding its slot for a timeout) do not
/// starve the window (a /16 of the lab fleet runs at 2,000+ addresses/s
/// unpaced), at about 120 MiB; politeness is the rate's and
/// --per-subnet's job, which this leaves as they are.
const DEFAULT_INFLIGHT: usize = 4096;

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// One JSON object per host:port and line (streamable, resumable).
    Jsonl,
    /// One JSON document with a `results` array.
    Json,
    /// One row per host:port, safe to open in a spreadsheet.
    Csv,
    /// Aligned columns for people.
    Table,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Json => Format::Json,
            FormatArg::Csv => Format::Csv,
            FormatArg::Table => Format::Table,
        }
    }
}

/// `--scheme` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SchemeArg {
    /// HTTP on 80 and 8080, HTTPS elsewhere.
    Auto,
    /// Always HTTPS.
    Https,
    /// Always HTTP.
    Http,
}

/// Accept nmap's `-iL FILE` for `vigie scan`: clap has no two-letter
/// short options and would read `-iL` as `-i L`, so the exact word `-iL`
/// after the `scan` subcommand (and before `--`) becomes `--input-list`.
/// Nothing else is touched.
pub fn nmap_style_args(
    args: impl IntoIterator<Item = OsString>,
) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut state = ArgvState::Global;
    for (i, arg) in args.into_iter().enumerate() {
        state = match state {
            _ if i == 0 => ArgvState::Global,
            ArgvState::Global if arg == "scan" => ArgvState::Scan,
            ArgvState::Global if arg.to_string_lossy().starts_with('-') => {
                ArgvState::Global
            }
            ArgvState::Global => ArgvState::Other,
            ArgvState::Scan if arg == "--" => ArgvState::Other,
            ArgvState::Scan if arg == "-iL" => {
                out.push(OsString::from("--input-list"));
                continue;
            }
            s => s,
        };
        out.push(arg);
    }
    out
}

/// Where [`nmap_style_args`] is in the command line.
#[derive(Clone, Copy)]
enum ArgvState {
    /// Before the subcommand.
    Global,
    /// Inside `vigie scan`'s options.
    Scan,
    /// Another subcommand, or after `--`.
    Other,
}

/// Run `vigie scan`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let excluded = exclusions(&args)?;
    let mut stream = TargetStream::new(&args, excluded.clone())?;
    // Chunks left empty by bad lines or exclusions hold nothing to do.
    let mut first = stream.next_plan()?;
    while first.as_ref().is_some_and(|p| p.total() == 0) {
        first = stream.next_plan()?;
    }
    anyhow::ensure!(
        first.is_some(),
        "no targets: give addresses, CIDRs, ranges or names, or -i FILE"
    );
    let mut opts = engine_options(&args, excluded)?;
    if let Some(limit) = vigie_scan::raise_fd_limit()
        && (limit as usize) < opts.max_inflight + 64
    {
        if args.max_inflight.is_none() {
            // The default window fits the limit rather than fail hosts.
            opts.max_inflight = (limit as usize).saturating_sub(64).max(16);
        } else {
            eprintln!(
                "vigie scan: open-file limit {limit} is low for \
                 --max-inflight {}: expect per-host errors",
                opts.max_inflight
            );
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let summary = rt.block_on(scan(&args, first, &mut stream, opts))?;
    print_summary(&summary, stream.errors, args.ssrf_check)?;
    Ok(Outcome::from_flags(
        summary.findings > 0,
        // An interrupted scan did not look at everything: never "clean".
        summary.errors + stream.errors > 0 || summary.interrupted,
    ))
}

async fn scan(
    args: &Args,
    first: Option<Plan>,
    stream: &mut TargetStream,
    opts: EngineOptions,
) -> anyhow::Result<Summary> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = tx.send(true);
        }
    });
    let resume = load_checkpoint(args)?;
    let mut sink = open_sink(args, resume.is_some())?;
    let recording = sink.recorder.as_ref().map(|r| r.run());
    let bar = progress_bar(args.no_progress);
    let mut summary = Summary::default();
    let mut before = 0u64;
    let mut plan = first;
    while let Some(p) = plan {
        let chunk = stream.chunks - 1;
        let skip = resume.as_ref().is_some_and(|cp| chunk < cp.chunk);
        if !skip {
            let show = |done: u64, total: u64| {
                if let Some(b) = &bar {
                    b.set_length(before + total);
                    b.set_position(before + done);
                }
            };
            let cp = chunk_checkpoint(args, &p, chunk, resume.as_ref())?;
            let o = EngineOptions { resume: Some(cp), ..opts.clone() };
            let s = run_engine(&p, o, &mut sink, rx.clone(), &show).await?;
            before += p.order().len();
            summary.merge(&s);
            if s.interrupted {
                break;
            }
        }
        plan = stream.next_plan()?;
    }
    let Sink { recorder, out } = sink;
    out.finish().context("writing results")?;
    drop(recorder);
    if let Some(run) = recording
        && !summary.interrupted
    {
        crate::cmd::history::finish_run(&run)?;
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(summary)
}

/// The checkpoint to resume from, when `--resume FILE` exists.
fn load_checkpoint(args: &Args) -> anyhow::Result<Option<Checkpoint>> {
    anyhow::ensure!(
        args.resume.is_none() || args.format == FormatArg::Jsonl,
        "--resume appends to its output: use --format jsonl (then \
         `vigie report` for CSV or HTML)"
    );
    match &args.resume {
        Some(p) if p.exists() => Ok(Some(Checkpoint::load(p)?)),
        _ => Ok(None),
    }
}

/// Where chunk `chunk` starts: the resumed checkpoint for the chunk it
/// was written in (checked against this scan), else from scratch.
fn chunk_checkpoint(
    args: &Args,
    plan: &Plan,
    chunk: u64,
    resume: Option<&Checkpoint>,
) -> anyhow::Result<Checkpoint> {
    let len = plan.order().len();
    match (resume, &args.resume) {
        (Some(cp), Some(path)) if cp.chunk == chunk => {
            cp.check_fits(path, plan.seed, &args.shard, len)?;
            Ok(cp.clone())
        }
        _ => Ok(Checkpoint {
            seed: plan.seed,
            shard: args.shard.clone(),
            total: len,
            chunk,
            ..Checkpoint::default()
        }),
    }
}

/// The output (file or stdout, appended when resuming) and the history
/// recorder (`--db`).
fn open_sink(args: &Args, resuming: bool) -> anyhow::Result<Sink> {
    let inner: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            OpenOptions::new()
                .create(true)
                .append(resuming)
                .write(true)
                .truncate(!resuming)
                .open(path)
                .with_context(|| format!("{}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut sink = Sink {
        recorder: None,
        out: OutputWriter::new(inner, args.format.into(), args.ssrf_check),
    };
    if let Some(db) = &args.db {
        let db = (!db.as_os_str().is_empty()).then_some(db.as_path());
        let kind = vigie_store::RunKind::Scan;
        let shared = match &args.run_name {
            Some(label) => {
                let shard = vigie_targets::Shard::parse(&args.shard)?;
                Some(crate::cmd::history::SharedRun {
                    label,
                    part: format!("{}/{}", shard.index + 1, shard.count),
                    parts: u32::try_from(shard.count)
                        .context("--shard: too many shards")?,
                })
            }
            None => None,
        };
        sink.recorder = Some(crate::cmd::history::RecordingWriter::new(
            std::io::sink(),
            db,
            kind,
            "vigie scan",
            shared,
        )?);
    }
    Ok(sink)
}

/// Where the engine's JSON lines go: the history database (when
/// `--db`) and the chosen output format.
struct Sink {
    recorder: Option<RecordingWriter<std::io::Sink>>,
    out: OutputWriter<Box<dyn Write>>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(r) = &mut self.recorder {
            r.write_all(buf)?;
        }
        self.out.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(r) = &mut self.recorder {
            r.flush()?;
        }
        self.out.flush()
    }
}

fn progress_bar(disabled: bool) -> Option<indicatif::ProgressBar> {
    if disabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} {per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

fn engine_options(
    args: &Args,
    excluded: RangeSet,
) -> anyhow::Result<EngineOptions> {
    let secs = |s: f64, what: &str| {
        anyhow::ensure!(
            s > 0.0 && s < 3600.0,
            "--{what} must be in (0, 3600)"
        );
        Ok(Duration::from_secs_f64(s))
    };
    let timeouts = Timeouts {
        connect: secs(args.connect_timeout, "connect-timeout")?,
        tls: secs(args.tls_timeout, "tls-timeout")?,
        request: secs(args.request_timeout, "request-timeout")?,
        host: secs(args.host_timeout, "host-timeout")?,
    };
    Ok(EngineOptions {
        probe: ProbeOptions {
            timeouts,
            ssrf_check: args.ssrf_check,
            as_of: args
                .as_of
                .unwrap_or_else(|| chrono::Utc::now().date_naive()),
            scheme: match args.scheme {
                SchemeArg::Auto => Scheme::Auto,
                SchemeArg::Https => Scheme::Https,
                SchemeArg::Http => Scheme::Http,
            },
        },
        rate: (args.rate > 0).then_some(args.rate),
        max_inflight: args.max_inflight.unwrap_or(DEFAULT_INFLIGHT).max(1),
        checkpoint: args.resume.clone(),
        resume: None,
        excluded: std::sync::Arc::new(excluded),
        per_subnet: args.per_subnet,
    })
}

fn exclusions(args: &Args) -> anyhow::Result<RangeSet> {
    let mut text = String::new();
    for e in &args.exclude {
        for part in e.split(',') {
            text.push_str(part);
            text.push('\n');
        }
    }
    let mut set = parse_exclusions(&text).context("--exclude")?;
    // A blocklist line that cannot be read is fatal: scanning what the
    // user meant to exclude is worse than not scanning.
    for file in &args.exclude_file {
        let mut reader = open_list(file)?;
        while let Some(line) = reader
            .next_line()
            .with_context(|| format!("{}: reading", file.display()))?
        {
            let spec = match line.spec() {
                Ok(Some(spec)) => spec,
                Ok(None) => continue,
                Err(why) => {
                    anyhow::bail!("exclusion list {}: {why}", line.origin)
                }
            };
            match parse_spec(spec) {
                Ok(Spec::Range(a, b)) => set.insert(a, b),
                _ => anyhow::bail!(
                    "exclusion list {}: {spec:?} is not an address, CIDR \
                     or range",
                    line.origin
                ),
            }
        }
    }
    set.normalise();
    Ok(set)
}

fn print_summary(
    s: &Summary,
    input_errors: u64,
    active: bool,
) -> anyhow::Result<()> {
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "vigie scan: {} probed in {:.1}s ({:.0}/s){}",
        s.probed,
        s.elapsed.as_secs_f64(),
        s.rate(),
        if s.interrupted {
            ", INTERRUPTED (resume with --resume)"
        } else {
            ""
        }
    )?;
    writeln!(
        err,
        "  exchange {}  (vulnerable {}, build unknown {})  \
         not exchange {}  closed {}  errors {}  bad inputs {}",
        s.exchange,
        s.findings,
        s.unknown_build,
        s.not_exchange,
        s.closed,
        s.errors,
        input_errors
    )?;
    if active {
        writeln!(
            err,
            "  ACTIVE ProxyLogon cookie probe (--ssrf-check): vulnerable {}, \
             mitigated {}",
            s.ssrf_vulnerable, s.ssrf_mitigated
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn window(argv: &[&str]) -> usize {
        let cli = Cli::try_parse_from(argv).unwrap();
        engine_options(&cli.args, RangeSet::default()).unwrap().max_inflight
    }

    /// Regression guard: the default window was 512, which the tarpits
    /// and slow hosts of a large range filled, halving the rate.
    #[test]
    fn default_window_is_4096_and_the_flag_wins() {
        assert_eq!(window(&["scan", "10.0.0.0/24"]), 4096);
        assert_eq!(window(&["scan", "10.0.0.0/24", "--max-inflight", "8"]), 8);
    }
}
