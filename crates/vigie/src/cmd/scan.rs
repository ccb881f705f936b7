//! `vigie scan`: read target specs, build the plan, run the engine, write
//! JSON lines and a human summary.
//!
//! Address targets become an interval set (a /8 costs a few bytes); names
//! are resolved when probed. The order is a seeded permutation so shards
//! split one scan across machines, and `--resume` continues an interrupted
//! run from its checkpoint.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use chrono::NaiveDate;
use vigie_scan::checkpoint::Checkpoint;
use vigie_scan::engine::{EngineOptions, Plan, Summary, run as run_engine};
use vigie_scan::http::Timeouts;
use vigie_scan::output::{Format, OutputWriter};
use vigie_scan::probe::{ProbeOptions, Scheme};
use vigie_targets::{
    HostTarget, RangeSet, Shard, Spec, parse_exclusions, parse_ports,
    parse_spec,
};

use crate::cmd::history::RecordingWriter;
use crate::exit::Outcome;

mod demo;
pub use demo::demo;

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
    /// Targets probed at once at most.
    #[arg(long, default_value_t = 512)]
    pub max_inflight: usize,
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
    /// Also record the run in this history database (see `vigie
    /// history`; `--db ''` for the default place).
    #[arg(long)]
    pub db: Option<PathBuf>,
}

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
    let mut input_errors = 0u64;
    let Targets { plan, excluded } = build_plan(&args, &mut input_errors)?;
    let opts = engine_options(&args, &plan, excluded)?;
    if let Some(limit) = vigie_scan::raise_fd_limit()
        && (limit as usize) < opts.max_inflight + 64
    {
        eprintln!(
            "vigie scan: open-file limit {limit} is low for \
             --max-inflight {}: expect per-host errors",
            opts.max_inflight
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let summary = rt.block_on(scan(&args, &plan, opts))?;
    print_summary(&summary, input_errors, args.ssrf_check)?;
    Ok(Outcome::from_flags(
        summary.findings > 0,
        // An interrupted scan did not look at everything: never "clean".
        summary.errors + input_errors > 0 || summary.interrupted,
    ))
}

async fn scan(
    args: &Args,
    plan: &Plan,
    opts: EngineOptions,
) -> anyhow::Result<Summary> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = tx.send(true);
        }
    });
    let bar = progress_bar(args.no_progress);
    let show = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    };
    let resuming = opts.resume.is_some();
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
        sink.recorder = Some(crate::cmd::history::RecordingWriter::new(
            std::io::sink(),
            db,
            kind,
            "vigie scan",
        )?);
    }
    let recording = sink.recorder.as_ref().map(|r| r.run());
    let summary = run_engine(plan, opts, &mut sink, rx, &show).await?;
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
    plan: &Plan,
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
    };
    anyhow::ensure!(
        args.resume.is_none() || args.format == FormatArg::Jsonl,
        "--resume appends to its output: use --format jsonl (then \
         `vigie report` for CSV or HTML)"
    );
    let resume = match &args.resume {
        Some(p) if p.exists() => {
            let cp = Checkpoint::load(p)?;
            let shard_len = plan.order().len();
            cp.check_fits(p, plan.seed, &args.shard, shard_len)?;
            Some(cp)
        }
        _ => None,
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
        max_inflight: args.max_inflight.max(1),
        checkpoint: args.resume.clone(),
        resume,
        excluded: std::sync::Arc::new(excluded),
        per_subnet: args.per_subnet,
    })
}

/// The plan and the exclusions (kept to check resolved names against).
struct Targets {
    plan: Plan,
    excluded: RangeSet,
}

/// Read every spec; bad lines are reported on stderr and counted.
fn build_plan(args: &Args, errors: &mut u64) -> anyhow::Result<Targets> {
    let ports = parse_ports(&args.ports).context("--ports")?;
    let shard = Shard::parse(&args.shard).context("--shard")?;
    let mut set = RangeSet::new();
    let mut hosts: Vec<HostTarget> = Vec::new();
    let mut add = |spec: &str, origin: &str| match parse_spec(spec) {
        Ok(Spec::Range(a, b)) => set.insert(a, b),
        Ok(Spec::Host(h)) => hosts.push(h),
        Err(e) => {
            *errors += 1;
            eprintln!("vigie scan: {origin}: {e}");
        }
    };
    for t in &args.targets {
        add(t, "argument");
    }
    for file in &args.input_list {
        read_list(file, &mut add)?;
    }
    set.normalise();
    hosts.sort_by(|a, b| (&a.host, a.port).cmp(&(&b.host, b.port)));
    hosts.dedup();
    let mut excluded = exclusions(args)?;
    excluded.normalise();
    set.subtract(&excluded);
    hosts.retain(|h| {
        h.host.parse().map(|ip| !excluded.contains(ip)).unwrap_or(true)
    });
    anyhow::ensure!(
        !set.is_empty() || !hosts.is_empty(),
        "no targets: give addresses, CIDRs, ranges or names, or -i FILE"
    );
    Ok(Targets {
        plan: Plan { set, hosts, ports, seed: args.seed, shard },
        excluded,
    })
}

/// Longest target or exclusion line accepted (a hostname is at most 253
/// bytes; the rest is room for ports and comments).
const MAX_LINE: usize = 4096;

/// Feed each spec of a list file to `add`, one bounded line at a time:
/// a huge or binary file costs at most one line of memory, and a bad line
/// is named (`file:line`) and skipped.
fn read_list(
    file: &Path,
    add: &mut dyn FnMut(&str, &str),
) -> anyhow::Result<()> {
    let mut skip = |spec: &str, origin: &str| add(spec, origin);
    for_each_line(file, &mut |line, origin| match line {
        Ok(text) => {
            let spec = text.split('#').next().unwrap_or("").trim();
            if !spec.is_empty() {
                skip(spec, origin);
            }
        }
        // Not a spec at all: `add` reports it like any bad spec.
        Err(why) => skip(&format!("<{why}>"), origin),
    })
}

/// Calls `f` with each line of `file` (`-`: stdin) and its origin
/// `file:line`; lines longer than [`MAX_LINE`] or not UTF-8 come as
/// `Err(what was wrong)`.
fn for_each_line(
    file: &Path,
    f: &mut dyn FnMut(Result<&str, &str>, &str),
) -> anyhow::Result<()> {
    let mut reader: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        Box::new(BufReader::new(
            std::fs::File::open(file)
                .with_context(|| format!("{}", file.display()))?,
        ))
    };
    let mut buf = Vec::with_capacity(256);
    for n in 1.. {
        buf.clear();
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("{}: reading", file.display()))?;
        if read == 0 {
            break;
        }
        let origin = format!("{}:{n}", file.display());
        if buf.len() > MAX_LINE && !buf.ends_with(b"\n") {
            skip_rest_of_line(&mut reader)
                .with_context(|| format!("{}: reading", file.display()))?;
            f(Err("line longer than 4096 bytes"), &origin);
            continue;
        }
        match std::str::from_utf8(&buf) {
            Ok(text) => f(Ok(text.trim_end_matches(['\n', '\r'])), &origin),
            Err(_) => f(Err("not UTF-8 text"), &origin),
        }
    }
    Ok(())
}

fn skip_rest_of_line(reader: &mut dyn BufRead) -> std::io::Result<()> {
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let len = chunk.len();
                reader.consume(len);
            }
        }
    }
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
        let mut bad = None;
        for_each_line(file, &mut |line, origin| {
            if bad.is_some() {
                return;
            }
            let spec = match line {
                Ok(l) => l.split('#').next().unwrap_or("").trim(),
                Err(why) => {
                    bad = Some(format!("{origin}: {why}"));
                    return;
                }
            };
            match parse_spec(spec) {
                _ if spec.is_empty() => {}
                Ok(Spec::Range(a, b)) => set.insert(a, b),
                _ => {
                    bad = Some(format!(
                        "{origin}: {spec:?} is not an address, CIDR or \
                         range"
                    ));
                }
            }
        })?;
        if let Some(e) = bad {
            anyhow::bail!("exclusion list {e}");
        }
    }
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
