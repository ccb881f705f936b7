//! The `vigie scan` section of `vigie demo`: a lab fleet of every persona
//! kind on loopback, scanned passively by the real engine, shown as the
//! table format of `vigie scan` and checked against the lab's manifest;
//! then a few servers are upgraded and a second scan shows the changes as
//! `vigie diff` lists them.
//!
//! Timeouts are short (every host is local) so the tarpit and the slow
//! persona cost about a second, not the defaults' minutes.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use vigie_lab::persona::{EXPECTED_AS_OF, by_name};
use vigie_lab::{Fleet, FleetConfig, ManifestEntry, Persona};
use vigie_model::scan::HostResult;
use vigie_scan::engine::{EngineOptions, Plan, Summary, run as run_engine};
use vigie_scan::http::Timeouts;
use vigie_scan::output::{Format, OutputWriter};
use vigie_scan::probe::{ProbeOptions, Scheme};
use vigie_targets::{HostTarget, RangeSet, Shard};

use crate::cmd::demo::DemoContext;

/// Hosts of the demo fleet: the first 20 wear every persona once, the
/// rest are drawn from the seed.
const HOSTS: usize = 64;
/// An address block no test uses, so a demo and the tests can run at once.
const BASE: Ipv4Addr = Ipv4Addr::new(127, 201, 0, 1);

/// Start the fleet, scan it, print the table and the summary, write
/// `scan.jsonl` into the demo folder; then upgrade a few servers, scan
/// again (`scan-after-upgrades.jsonl`) and show what `vigie diff` would.
pub fn demo(ctx: &mut DemoContext) -> anyhow::Result<()> {
    writeln!(
        ctx.out,
        "== vigie scan (lab fleet of {HOSTS} emulated servers on \
         {BASE}.., passive)"
    )?;
    let path = ctx.dir.join("scan.jsonl");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (summary, manifest) =
        rt.block_on(scan_round(BTreeMap::new(), &path))?;
    let results = read_results(&path)?;
    print_table(ctx, &results)?;
    print_summary(ctx, &summary, &results, &manifest)?;
    writeln!(ctx.out, "  results: {}", path.display())?;
    ctx.results.push(path);

    let upgrades = upgrades(&manifest);
    let after = ctx.dir.join("scan-after-upgrades.jsonl");
    rt.block_on(scan_round(upgrades.clone(), &after))?;
    let later = read_results(&after)?;
    print_diff(ctx, upgrades.len(), &results, &later)?;
    writeln!(ctx.out, "  second scan: {}", after.display())?;
    Ok(())
}

/// Serve the fleet (with `overrides`), scan it into `path`, stop it.
async fn scan_round(
    overrides: BTreeMap<u64, &'static Persona>,
    path: &Path,
) -> anyhow::Result<(Summary, Vec<ManifestEntry>)> {
    let fleet = Fleet::start(FleetConfig {
        hosts: HOSTS,
        seed: 7,
        base: BASE,
        record_requests: false,
        slow_delay: Duration::from_millis(200),
        overrides,
        ..Default::default()
    })
    .await
    .context("starting the demo lab fleet")?;
    let manifest = fleet.manifest().to_vec();
    let scanned = scan_fleet(&manifest, path).await;
    fleet.shutdown().await;
    Ok((scanned?, manifest))
}

/// What the admins did before the second scan: every other server with
/// a vulnerable build got a later update (2019: the current one; 2013
/// and 2016: only the March 2021 fix, so they stay vulnerable to later
/// CVEs).
fn upgrades(manifest: &[ManifestEntry]) -> BTreeMap<u64, &'static Persona> {
    let current = |build: &str| match build.get(..4) {
        Some("15.2") => by_name("ex2019-cu15-aug26su"),
        Some("15.1") => by_name("ex2016-cu19-mar21su"),
        Some("15.0") => by_name("ex2013-cu23-mar21su"),
        _ => None,
    };
    manifest
        .iter()
        .enumerate()
        .filter(|(_, h)| h.expected.state == "vulnerable")
        .step_by(2)
        .filter_map(|(i, h)| {
            let to = current(h.build.as_deref()?)?;
            (h.persona != to.name).then_some((i as u64, to))
        })
        .collect()
}

/// The changes between the two scans, as `vigie diff` lists them.
fn print_diff(
    ctx: &mut DemoContext,
    upgraded: usize,
    before: &BTreeMap<Ipv4Addr, HostResult>,
    after: &BTreeMap<Ipv4Addr, HostResult>,
) -> anyhow::Result<()> {
    let before: Vec<HostResult> = before.values().cloned().collect();
    let after: Vec<HostResult> = after.values().cloned().collect();
    let diff = vigie_store::diff_runs(&before, &after);
    writeln!(
        ctx.out,
        "  after {upgraded} servers were upgraded, a second scan \
         (`vigie diff`): {} newly patched, {} newly vulnerable, {} \
         changed build, {} new, {} gone",
        diff.newly_patched.len(),
        diff.newly_vulnerable.len(),
        diff.changed_build.len(),
        diff.new.len(),
        diff.gone.len(),
    )?;
    for c in diff.changed_build.iter().take(5) {
        let side = |b: &Option<String>, s: &Option<String>| {
            format!(
                "{} ({})",
                b.as_deref().unwrap_or("-"),
                s.as_deref().unwrap_or("-")
            )
        };
        writeln!(
            ctx.out,
            "    {}  {} -> {}",
            vigie_model::terminal_safe(&c.key),
            side(&c.before_build, &c.before_state),
            side(&c.after_build, &c.after_state),
        )?;
    }
    if diff.changed_build.len() > 5 {
        writeln!(ctx.out, "    ...")?;
    }
    Ok(())
}

/// Every manifest host on its own port, as `vigie scan -iL` would read
/// them; JSON lines into `path`.
async fn scan_fleet(
    manifest: &[ManifestEntry],
    path: &std::path::Path,
) -> anyhow::Result<Summary> {
    let hosts = manifest
        .iter()
        .map(|h| HostTarget { host: h.address.clone(), port: Some(h.port) })
        .collect();
    let plan = Plan {
        set: RangeSet::new(),
        hosts,
        ports: vec![443],
        seed: 0,
        shard: Shard::ALL,
    };
    let opts = EngineOptions {
        probe: ProbeOptions {
            timeouts: Timeouts {
                connect: Duration::from_secs(1),
                tls: Duration::from_secs(1),
                request: Duration::from_secs(2),
                host: Duration::from_secs(10),
            },
            ssrf_check: false,
            as_of: EXPECTED_AS_OF.parse().context("demo date")?,
            scheme: Scheme::Auto,
        },
        rate: None,
        max_inflight: HOSTS,
        checkpoint: None,
        resume: None,
        excluded: Default::default(),
        per_subnet: 0,
    };
    let file = std::fs::File::create(path)
        .with_context(|| format!("{}", path.display()))?;
    let mut out = BufWriter::new(file);
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let summary = run_engine(&plan, opts, &mut out, rx, &|_, _| {}).await?;
    out.flush().with_context(|| format!("{}", path.display()))?;
    Ok(summary)
}

/// The scan's results, by address (the engine writes them in its
/// shuffled order).
fn read_results(
    path: &std::path::Path,
) -> anyhow::Result<BTreeMap<Ipv4Addr, HostResult>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}", path.display()))?;
    let mut results = BTreeMap::new();
    for line in text.lines() {
        let r: HostResult = serde_json::from_str(line)
            .with_context(|| format!("{}: bad line", path.display()))?;
        results.insert(r.ip.parse().context("result address")?, r);
    }
    Ok(results)
}

/// The same table `vigie scan --format table` prints.
fn print_table(
    ctx: &mut DemoContext,
    results: &BTreeMap<Ipv4Addr, HostResult>,
) -> anyhow::Result<()> {
    let mut table = OutputWriter::new(Vec::new(), Format::Table, false);
    for r in results.values() {
        serde_json::to_writer(&mut table, r)?;
        table.write_all(b"\n")?;
    }
    let text = table.finish()?;
    for line in String::from_utf8_lossy(&text).lines() {
        writeln!(ctx.out, "  {line}")?;
    }
    Ok(())
}

fn print_summary(
    ctx: &mut DemoContext,
    s: &Summary,
    results: &BTreeMap<Ipv4Addr, HostResult>,
    manifest: &[ManifestEntry],
) -> anyhow::Result<()> {
    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
    for r in results.values() {
        *states.entry(r.state()).or_default() += 1;
    }
    let states: Vec<String> =
        states.iter().map(|(k, n)| format!("{k} {n}")).collect();
    writeln!(
        ctx.out,
        "  {} hosts scanned in {:.1}s: {} Exchange ({} with open CVEs, \
         {} build unknown), {} other web servers, {} closed, {} errors",
        s.probed,
        s.elapsed.as_secs_f64(),
        s.exchange,
        s.findings,
        s.unknown_build,
        s.not_exchange,
        s.closed,
        s.errors,
    )?;
    writeln!(ctx.out, "  by state: {}", states.join(", "))?;
    let agree = manifest
        .iter()
        .filter(|h| {
            h.address.parse().ok().and_then(|ip| results.get(&ip)).is_some_and(
                |r| {
                    r.state() == h.expected.state
                        && r.build == h.expected.build
                        && r.precision == h.expected.precision
                },
            )
        })
        .count();
    writeln!(
        ctx.out,
        "  agrees with the lab's expected verdicts (judged as of \
         {EXPECTED_AS_OF}): {agree}/{} hosts",
        manifest.len()
    )?;
    Ok(())
}
