//! `vigie lab`: run an emulated Exchange fleet on loopback.
//!
//! Wires `vigie-lab` to the command line: starts the fleet, writes its
//! manifest (what each host is and what a scanner should conclude), streams
//! every request received as JSON lines, and runs until Ctrl-C or
//! `--duration`.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use vigie_lab::persona::Persona;
use vigie_lab::{Fleet, FleetConfig, ManifestEntry, RequestRecord};

use crate::exit::Outcome;

mod shard;

/// Arguments of `vigie lab`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: LabCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LabCommand {
    /// Serve an emulated fleet on 127.x.y.z until Ctrl-C or --duration.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Number of hosts (one loopback address each).
    #[arg(long, default_value_t = 16)]
    hosts: usize,
    /// Seed of the persona choice (same seed, same fleet).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// First address; must be in 127.0.0.0/8.
    #[arg(long, default_value = "127.10.0.1")]
    base: Ipv4Addr,
    /// Port of the HTTPS personas.
    #[arg(long, default_value_t = 8443)]
    https_port: u16,
    /// Port of the plain-HTTP personas.
    #[arg(long, default_value_t = 8080)]
    http_port: u16,
    /// Write the JSON manifest here instead of stdout.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Append every request received as JSON lines to this file.
    #[arg(long, value_name = "FILE")]
    request_log: Option<PathBuf>,
    /// Also print one line per request on stderr.
    #[arg(long)]
    log_stderr: bool,
    /// Wait this many milliseconds before every answer (a simulated
    /// network round trip, for benchmarks).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    delay_ms: u64,
    /// Force host INDEX (0-based, in address order) to wear persona NAME
    /// (repeatable): the same seed with a few hosts overridden is the same
    /// fleet after some servers were upgraded.
    #[arg(long = "persona", value_name = "INDEX=NAME", value_parser = parse_override)]
    overrides: Vec<Override>,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    duration: Option<u64>,
    /// Index of the first host (set on worker processes of a big fleet).
    #[arg(long, default_value_t = 0, hide = true)]
    first_index: u64,
    /// Hosts per worker process (default: what the open-files limit
    /// allows); lets tests exercise the multi-process path.
    #[arg(long, hide = true)]
    hosts_per_process: Option<usize>,
    /// Serve one shard for a parent process (no banner).
    #[arg(long, hide = true)]
    worker: bool,
}

/// One `--persona INDEX=NAME`.
#[derive(Debug, Clone, Copy)]
struct Override {
    index: u64,
    persona: &'static Persona,
}

impl std::fmt::Display for Override {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.index, self.persona.name)
    }
}

fn parse_override(s: &str) -> Result<Override, String> {
    let (index, name) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected INDEX=NAME"))?;
    let index = index
        .trim()
        .parse()
        .map_err(|_| format!("{index:?} is not a host index"))?;
    let persona =
        vigie_lab::persona::by_name(name.trim()).ok_or_else(|| {
            let names: Vec<&str> =
                vigie_lab::PERSONAS.iter().map(|p| p.name).collect();
            format!("no persona {name:?} (known: {})", names.join(", "))
        })?;
    Ok(Override { index, persona })
}

/// Run `vigie lab`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let LabCommand::Serve(args) = args.command;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(serve(args))?;
    Ok(Outcome::Clean)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Workers get every override and use those of their slice.
    let end = args.first_index + args.hosts as u64;
    let outside = args.overrides.iter().find(|o| o.index >= end);
    if let Some(o) = outside.filter(|_| !args.worker) {
        anyhow::bail!(
            "--persona {o}: the fleet has hosts 0 to {}",
            end.saturating_sub(1)
        );
    }
    let per_process = args
        .hosts_per_process
        .unwrap_or_else(vigie_lab::hosts_per_process)
        .max(1);
    if args.hosts > per_process && !args.worker {
        return shard::serve_sharded(&args, per_process).await;
    }
    let record = args.request_log.is_some() || args.log_stderr;
    let fleet = Fleet::start(FleetConfig {
        hosts: args.hosts,
        seed: args.seed,
        base: args.base,
        https_port: args.https_port,
        http_port: args.http_port,
        record_requests: record,
        first_index: args.first_index,
        delay: Duration::from_millis(args.delay_ms),
        overrides: args
            .overrides
            .iter()
            .map(|o| (o.index, o.persona))
            .collect(),
        ..Default::default()
    })
    .await
    .context("starting the lab fleet")?;
    write_manifest(fleet.manifest(), args.manifest.as_ref())?;
    if !args.worker {
        banner(&args);
    }
    run_fleet(fleet, &args).await
}

fn banner(args: &ServeArgs) {
    eprintln!(
        "lab: {} hosts from {} (https {}, http {}); {}",
        args.hosts,
        args.base,
        args.https_port,
        args.http_port,
        match args.duration {
            Some(s) => format!("stopping after {s} s"),
            None => "Ctrl-C to stop".to_string(),
        }
    );
}

async fn run_fleet(fleet: Fleet, args: &ServeArgs) -> anyhow::Result<()> {
    let mut log = match &args.request_log {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("opening {}", p.display()))?,
        ),
        None => None,
    };
    let deadline = args.duration.map(Duration::from_secs);
    let start = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        drain(&fleet, log.as_mut(), args.log_stderr)?;
        if deadline.is_some_and(|d| start.elapsed() >= d) {
            break;
        }
    }
    drain(&fleet, log.as_mut(), args.log_stderr)?;
    fleet.shutdown().await;
    if !args.worker {
        eprintln!("lab: stopped");
    }
    Ok(())
}

/// Written to a temporary name then renamed, so a reader (a test, the
/// parent of a sharded fleet) never sees half a manifest.
fn write_manifest(
    manifest: &[ManifestEntry],
    path: Option<&PathBuf>,
) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(manifest)?;
    match path {
        Some(p) => {
            let tmp = p.with_extension("partial");
            std::fs::write(&tmp, json + "\n")
                .and_then(|()| std::fs::rename(&tmp, p))
                .with_context(|| format!("writing manifest {}", p.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{json}")?;
            out.flush()?;
            Ok(())
        }
    }
}

fn drain(
    fleet: &Fleet,
    log: Option<&mut std::fs::File>,
    stderr: bool,
) -> anyhow::Result<()> {
    let records = fleet.take_requests();
    if records.is_empty() {
        return Ok(());
    }
    if let Some(f) = log {
        let mut buf = Vec::new();
        for r in &records {
            serde_json::to_writer(&mut buf, r)?;
            buf.push(b'\n');
        }
        f.write_all(&buf).context("writing the request log")?;
    }
    if stderr {
        for r in &records {
            eprintln!("{}", stderr_line(r));
        }
    }
    Ok(())
}

/// Request text is client-controlled: strip control characters.
fn stderr_line(r: &RequestRecord) -> String {
    let cookie = r
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .map(|(_, v)| format!(" cookie={v}"))
        .unwrap_or_default();
    vigie_model::terminal_safe(&format!(
        "{} {}:{} {} {} {}{}",
        r.time.format("%H:%M:%S%.3f"),
        r.address,
        r.port,
        r.persona,
        r.method,
        r.path,
        cookie
    ))
}
