//! Benchmark driver: the scan engine alone (same code path as
//! `vigie scan --scheme http --rate 0`), without building the whole CLI.
//!
//! Usage: `scan_bench CIDR PORT MAX_INFLIGHT OUT.jsonl`

use std::io::BufWriter;
use std::time::Duration;

use chrono::NaiveDate;
use vigie_scan::engine::{EngineOptions, Plan, run};
use vigie_scan::http::Timeouts;
use vigie_scan::probe::{ProbeOptions, Scheme};
use vigie_targets::{RangeSet, Shard, Spec, parse_spec};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, cidr, port, inflight, out] = &args[..] else {
        return Err("usage: scan_bench CIDR PORT MAX_INFLIGHT OUT".into());
    };
    let mut set = RangeSet::new();
    if let Spec::Range(a, b) = parse_spec(cidr)? {
        set.insert(a, b);
    }
    set.normalise();
    let plan = Plan {
        set,
        hosts: Vec::new(),
        ports: vec![port.parse()?],
        seed: 0,
        shard: Shard::ALL,
    };
    let opts = EngineOptions {
        probe: ProbeOptions {
            timeouts: Timeouts {
                connect: Duration::from_secs(3),
                tls: Duration::from_secs(5),
                request: Duration::from_secs(8),
                host: Duration::from_secs(15),
            },
            ssrf_check: false,
            as_of: NaiveDate::from_ymd_opt(2025, 6, 1).ok_or("date")?,
            scheme: Scheme::Http,
        },
        rate: None,
        max_inflight: inflight.parse()?,
        checkpoint: None,
        resume: None,
        excluded: Default::default(),
        per_subnet: 0,
    };
    let mut w = BufWriter::new(std::fs::File::create(out)?);
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let s = run(&plan, opts, &mut w, rx, &|_, _| {}).await?;
    eprintln!(
        "probed {} in {:.2}s = {:.0} hosts/s; exchange {} vulnerable {} \
         not-exchange {} closed {} errors {}",
        s.probed,
        s.elapsed.as_secs_f64(),
        s.rate(),
        s.exchange,
        s.findings,
        s.not_exchange,
        s.closed,
        s.errors
    );
    Ok(())
}
