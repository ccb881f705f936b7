//! The scan engine: target order, rate, concurrency, output, checkpoint.
//!
//! Targets are never materialised: place `i` of this shard maps through
//! the shard and the seeded permutation to an index into addresses x
//! ports (or into the named targets), computed when it is dispatched.
//! One task and connection at a time per target, at most `max_inflight`
//! targets at once, dispatches paced by `rate`.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use vigie_model::scan::{HostResult, HostStatus, SsrfOutcome};
use vigie_targets::{HostTarget, Permutation, RangeSet, Shard};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::probe::{ProbeOptions, ProbeTarget, Scheme, is_finding, probe};

/// Everything to scan and in which order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Address targets (exclusions already subtracted).
    pub set: RangeSet,
    /// Named targets, one per host and port.
    pub hosts: Vec<HostTarget>,
    /// Ports for the addresses (and names without their own port).
    pub ports: Vec<u16>,
    /// Permutation seed.
    pub seed: u64,
    /// This machine's shard.
    pub shard: Shard,
}

/// One concrete target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An address and port.
    Addr(SocketAddr),
    /// A name (resolved when probed) and port.
    Name(String, u16),
}

impl Plan {
    fn addr_items(&self) -> u64 {
        self.set.len().saturating_mul(self.ports.len() as u64)
    }

    fn named_items(&self) -> Vec<(usize, u16)> {
        let mut v = Vec::new();
        for (i, h) in self.hosts.iter().enumerate() {
            match h.port {
                Some(p) => v.push((i, p)),
                None => v.extend(self.ports.iter().map(|&p| (i, p))),
            }
        }
        v
    }

    /// Number of targets over all shards.
    pub fn total(&self) -> u64 {
        self.addr_items() + self.named_items().len() as u64
    }

    /// A cursor over this plan's targets.
    pub fn order(&self) -> Order<'_> {
        let total = self.total();
        Order {
            plan: self,
            perm: Permutation::new(total, self.seed),
            named: self.named_items(),
            len: self.shard.len(total),
        }
    }
}

/// Maps places of this shard to targets.
#[derive(Debug)]
pub struct Order<'a> {
    plan: &'a Plan,
    perm: Permutation,
    named: Vec<(usize, u16)>,
    len: u64,
}

impl Order<'_> {
    /// Number of places in this shard.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether this shard is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The target at `place` of this shard.
    pub fn item(&self, place: u64) -> Item {
        let idx = self.perm.at(self.plan.shard.position(place));
        let nports = self.plan.ports.len() as u64;
        if idx < self.plan.addr_items() {
            let ip = self.plan.set.nth(idx / nports).expect("index in set");
            let port = self.plan.ports[(idx % nports) as usize];
            Item::Addr(SocketAddr::new(ip, port))
        } else {
            let (h, port) =
                self.named[(idx - self.plan.addr_items()) as usize];
            Item::Name(self.plan.hosts[h].host.clone(), port)
        }
    }
}

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// What each probe does.
    pub probe: ProbeOptions,
    /// Targets started per second at most (`None`: unpaced).
    pub rate: Option<u32>,
    /// Targets in flight at once.
    pub max_inflight: usize,
    /// Where to keep the resume checkpoint.
    pub checkpoint: Option<PathBuf>,
    /// State of an interrupted run to resume.
    pub resume: Option<Checkpoint>,
    /// Targets in flight at once within one IPv4 /24 or IPv6 /64
    /// (0: no limit).
    pub per_subnet: usize,
    /// Addresses never to contact: names resolving into it are not probed.
    pub excluded: Arc<RangeSet>,
}

/// Counts of a finished (or interrupted) run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Targets probed in this run.
    pub probed: u64,
    /// Exchange servers found.
    pub exchange: u64,
    /// Something else answered.
    pub not_exchange: u64,
    /// Nothing listened.
    pub closed: u64,
    /// Per-host errors.
    pub errors: u64,
    /// Hosts with an open CVE or a vulnerable probe.
    pub findings: u64,
    /// Exchange hosts whose build could not be read or judged.
    pub unknown_build: u64,
    /// Hosts the active cookie probe found vulnerable.
    pub ssrf_vulnerable: u64,
    /// Hosts that aborted the active probe (EOMT-style mitigation).
    pub ssrf_mitigated: u64,
    /// Whether the run was interrupted before the end.
    pub interrupted: bool,
    /// Wall time.
    pub elapsed: Duration,
}

impl Summary {
    fn add(&mut self, r: &HostResult) {
        self.probed += 1;
        match r.status {
            HostStatus::Exchange => self.exchange += 1,
            HostStatus::NotExchange => self.not_exchange += 1,
            HostStatus::Closed => self.closed += 1,
            HostStatus::Error => self.errors += 1,
        }
        if is_finding(r) {
            self.findings += 1;
        }
        match r.ssrf_check {
            Some(SsrfOutcome::Vulnerable) => self.ssrf_vulnerable += 1,
            Some(SsrfOutcome::Mitigated) => self.ssrf_mitigated += 1,
            _ => {}
        }
        if r.status == HostStatus::Exchange && r.assessment.is_none() {
            self.unknown_build += 1;
        }
    }

    /// Add the counts of a later part of the same scan (a chunk of a
    /// streamed target list).
    pub fn merge(&mut self, other: &Summary) {
        self.probed += other.probed;
        self.exchange += other.exchange;
        self.not_exchange += other.not_exchange;
        self.closed += other.closed;
        self.errors += other.errors;
        self.findings += other.findings;
        self.unknown_build += other.unknown_build;
        self.ssrf_vulnerable += other.ssrf_vulnerable;
        self.ssrf_mitigated += other.ssrf_mitigated;
        self.interrupted |= other.interrupted;
        self.elapsed += other.elapsed;
    }

    /// Targets per second.
    pub fn rate(&self) -> f64 {
        self.probed as f64 / self.elapsed.as_secs_f64().max(1e-3)
    }
}

/// A run that could not go on.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Writing results failed (disk full, closed pipe).
    #[error("writing results: {0}")]
    Output(#[from] std::io::Error),
    /// The checkpoint could not be written.
    #[error("checkpoint {0}")]
    Checkpoint(#[from] CheckpointError),
}

/// Run a scan: probe every target of the shard not yet done, write one
/// JSON line per result to `out`, keep the checkpoint, stop early when
/// `cancel` turns true (in-flight targets are then left for the resume).
pub async fn run(
    plan: &Plan,
    opts: EngineOptions,
    out: &mut dyn Write,
    mut cancel: watch::Receiver<bool>,
    progress: &dyn Fn(u64, u64),
) -> Result<Summary, EngineError> {
    let started = Instant::now();
    let order = plan.order();
    let shard_name = format!("{}/{}", plan.shard.index + 1, plan.shard.count);
    let mut cp = opts.resume.clone().unwrap_or(Checkpoint {
        seed: plan.seed,
        shard: shard_name,
        total: order.len(),
        ..Checkpoint::default()
    });
    let max = opts.max_inflight.max(1);
    let (tx, mut rx) = mpsc::channel::<(u64, Option<u128>, HostResult)>(max);
    let mut pacer = opts.rate.map(|r| {
        let mut i = tokio::time::interval(Duration::from_secs_f64(
            1.0 / f64::from(r.max(1)),
        ));
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    let mut summary = Summary::default();
    let mut queue = Queue::new(opts.per_subnet, max);
    let mut pending: Option<(u64, Item)> = None;
    let mut inflight = 0usize;
    let mut last_save = Instant::now();
    let probe_opts = Arc::new(opts.probe);
    loop {
        if *cancel.borrow() {
            summary.interrupted = true;
            break;
        }
        if pending.is_none() && inflight < max {
            pending = queue.next(&order, &cp);
        }
        if pending.is_none() && inflight == 0 {
            break;
        }
        tokio::select! {
            Some((p, key, r)) = rx.recv(), if inflight > 0 => {
                inflight -= 1;
                queue.release(key);
                serde_json::to_writer(&mut *out, &r)
                    .map_err(std::io::Error::from)?;
                out.write_all(b"\n")?;
                cp.mark_done(p);
                summary.add(&r);
                progress(cp.done_count(), order.len());
                if last_save.elapsed() > Duration::from_secs(1) {
                    save(out, &opts, &cp)?;
                    last_save = Instant::now();
                }
            }
            _ = pace(&mut pacer), if pending.is_some() => {
                let Some((p, item)) = pending.take() else { continue };
                let key = queue.take(&item);
                let tx = tx.clone();
                let po = Arc::clone(&probe_opts);
                let ex = Arc::clone(&opts.excluded);
                let target = item.clone();
                let task = tokio::spawn(async move {
                    probe_item(item, *po, &ex).await
                });
                tokio::spawn(async move {
                    // A panic in one probe is that host's error, and
                    // the slot is still released.
                    let r = task
                        .await
                        .unwrap_or_else(|e| crashed(&target, &e.to_string()));
                    let _ = tx.send((p, key, r)).await;
                });
                inflight += 1;
            }
            _ = cancel.changed() => {}
        }
    }
    save(out, &opts, &cp)?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Hands out places in order, holding back (up to `cap` of them) targets
/// whose subnet already has `per_subnet` probes in flight.
struct Queue {
    place: u64,
    deferred: VecDeque<(u64, Item)>,
    load: HashMap<u128, usize>,
    per_subnet: usize,
    cap: usize,
}

impl Queue {
    fn new(per_subnet: usize, cap: usize) -> Self {
        Queue {
            place: 0,
            deferred: VecDeque::new(),
            load: HashMap::new(),
            per_subnet,
            cap,
        }
    }

    fn key(item: &Item) -> Option<u128> {
        match item {
            Item::Addr(a) => Some(match a.ip() {
                IpAddr::V4(v4) => u128::from(u32::from(v4) >> 8),
                IpAddr::V6(v6) => (u128::from(v6) >> 64) | (1 << 64),
            }),
            // A name's address is known only once resolved.
            Item::Name(..) => None,
        }
    }

    fn has_room(&self, item: &Item) -> bool {
        self.per_subnet == 0
            || Self::key(item).is_none_or(|k| {
                self.load.get(&k).copied().unwrap_or(0) < self.per_subnet
            })
    }

    fn next(
        &mut self,
        order: &Order<'_>,
        cp: &Checkpoint,
    ) -> Option<(u64, Item)> {
        if let Some(i) =
            self.deferred.iter().position(|(_, it)| self.has_room(it))
        {
            return self.deferred.remove(i);
        }
        while self.place < order.len() && self.deferred.len() < self.cap {
            let p = self.place;
            self.place += 1;
            if cp.is_done(p) {
                continue;
            }
            let item = order.item(p);
            if self.has_room(&item) {
                return Some((p, item));
            }
            self.deferred.push_back((p, item));
        }
        None
    }

    fn take(&mut self, item: &Item) -> Option<u128> {
        let key = Self::key(item)?;
        *self.load.entry(key).or_insert(0) += 1;
        Some(key)
    }

    fn release(&mut self, key: Option<u128>) {
        if let Some(k) = key
            && let Some(n) = self.load.get_mut(&k)
        {
            *n -= 1;
            if *n == 0 {
                self.load.remove(&k);
            }
        }
    }
}

async fn pace(pacer: &mut Option<tokio::time::Interval>) {
    if let Some(i) = pacer {
        i.tick().await;
    }
}

fn save(
    out: &mut dyn Write,
    opts: &EngineOptions,
    cp: &Checkpoint,
) -> Result<(), EngineError> {
    // Results first: a target is done only once its line is on disk.
    out.flush()?;
    if let Some(path) = &opts.checkpoint {
        cp.save(path)?;
    }
    Ok(())
}

async fn probe_item(
    item: Item,
    opts: ProbeOptions,
    excluded: &RangeSet,
) -> HostResult {
    match item {
        Item::Addr(addr) => {
            let t = ProbeTarget {
                target: addr.ip().to_string(),
                addr,
                name: None,
            };
            probe(&t, opts).await
        }
        Item::Name(name, port) => {
            let resolved = tokio::time::timeout(
                opts.timeouts.connect,
                tokio::net::lookup_host((name.clone(), port)),
            )
            .await;
            let addr = match resolved {
                Ok(Ok(mut addrs)) => addrs.next(),
                _ => None,
            };
            match addr {
                Some(addr) if excluded.contains(addr.ip()) => {
                    let mut r = unresolved(&name, port, opts.scheme);
                    r.ip = addr.ip().to_string();
                    r.error = Some(format!(
                        "{name} resolves to excluded {}: not probed",
                        addr.ip()
                    ));
                    r
                }
                Some(addr) => {
                    let literal = name.parse::<std::net::IpAddr>().is_ok();
                    let t = ProbeTarget {
                        target: name.clone(),
                        addr,
                        name: (!literal).then_some(name),
                    };
                    probe(&t, opts).await
                }
                None => unresolved(&name, port, opts.scheme),
            }
        }
    }
}

fn crashed(item: &Item, why: &str) -> HostResult {
    let (name, addr) = match item {
        Item::Addr(a) => (a.ip().to_string(), *a),
        Item::Name(n, port) => {
            (n.clone(), SocketAddr::from(([0, 0, 0, 0], *port)))
        }
    };
    let t = ProbeTarget { target: name, addr, name: None };
    let mut r = crate::probe::unprobed(&t, Scheme::Auto);
    r.error = Some(format!("internal error while probing: {why}"));
    r
}

fn unresolved(name: &str, port: u16, scheme: Scheme) -> HostResult {
    let t = ProbeTarget {
        target: name.to_string(),
        addr: SocketAddr::from(([0, 0, 0, 0], port)),
        name: None,
    };
    let mut r = crate::probe::unprobed(&t, scheme);
    r.ip = String::new();
    r.error = Some(format!("{name}: name did not resolve"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(cidr: &str) -> Plan {
        let mut set = RangeSet::new();
        if let Ok(vigie_targets::Spec::Range(a, b)) =
            vigie_targets::parse_spec(cidr)
        {
            set.insert(a, b);
        }
        set.normalise();
        Plan {
            set,
            hosts: vec![],
            ports: vec![443],
            seed: 3,
            shard: Shard::ALL,
        }
    }

    #[test]
    fn per_subnet_limit_holds_back_and_releases() {
        let plan = plan("192.0.2.0/29");
        let order = plan.order();
        let cp = Checkpoint::default();
        let mut q = Queue::new(2, 16);
        let (_, a) = q.next(&order, &cp).unwrap();
        let ka = q.take(&a);
        let (_, b) = q.next(&order, &cp).unwrap();
        q.take(&b);
        assert!(q.next(&order, &cp).is_none(), "third probe in one /24");
        assert_eq!(q.deferred.len(), 6);
        q.release(ka);
        assert!(q.next(&order, &cp).is_some());
    }

    #[test]
    fn every_place_is_handed_out_once() {
        let plan = plan("192.0.2.0/24");
        let order = plan.order();
        let cp = Checkpoint::default();
        let mut q = Queue::new(4, 8);
        let mut seen = std::collections::HashSet::new();
        let mut held = VecDeque::new();
        loop {
            match q.next(&order, &cp) {
                Some((p, item)) => {
                    assert!(seen.insert(p));
                    held.push_back(q.take(&item));
                }
                None => match held.pop_front() {
                    Some(k) => q.release(k),
                    None => break,
                },
            }
        }
        assert_eq!(seen.len(), 256);
    }
}
