//! The targets of `vigie scan` as a stream of plans: arguments, then each
//! list file (`-i`), cut into chunks of at most [`CHUNK`] specs. Only one
//! chunk is held at a time, so a ten-million-line list of names starts
//! scanning as soon as its first chunk is read, in bounded memory.
//!
//! Each chunk is its own seeded permutation, sharded like a whole scan:
//! every machine cuts the same lines into the same chunks, so shards still
//! cover every target exactly once. Duplicates are merged within a chunk
//! only. Exclusions are read first, in full (they are CIDRs, kept as
//! intervals), and subtracted from every chunk.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::Context;
use vigie_scan::engine::Plan;
use vigie_targets::{
    HostTarget, LineReader, RangeSet, Shard, Spec, parse_ports, parse_spec,
};

use super::Args;

/// Specs per chunk: large enough that chunk boundaries (where the scan
/// waits for its slowest host) are rare, small enough to bound memory.
pub const CHUNK: usize = 65_536;

/// Reads specs from the arguments then the list files and hands out plans.
pub struct TargetStream {
    args: std::vec::IntoIter<String>,
    files: std::vec::IntoIter<PathBuf>,
    reader: Option<LineReader>,
    chunk: usize,
    ports: Vec<u16>,
    seed: u64,
    shard: Shard,
    excluded: RangeSet,
    /// Bad specs and unreadable lines seen so far (reported on stderr).
    pub errors: u64,
    /// Chunks handed out so far.
    pub chunks: u64,
}

impl TargetStream {
    /// A stream over `args`' targets minus `excluded`.
    pub fn new(args: &Args, excluded: RangeSet) -> anyhow::Result<Self> {
        Ok(TargetStream {
            args: args.targets.clone().into_iter(),
            files: args.input_list.clone().into_iter(),
            reader: None,
            chunk: args.list_chunk.unwrap_or(CHUNK).max(1),
            ports: parse_ports(&args.ports).context("--ports")?,
            seed: args.seed,
            shard: Shard::parse(&args.shard).context("--shard")?,
            excluded,
            errors: 0,
            chunks: 0,
        })
    }

    /// The next spec and where it came from; `None` when all are read.
    fn next_spec(&mut self) -> anyhow::Result<Option<(String, String)>> {
        if let Some(a) = self.args.next() {
            return Ok(Some((a, "argument".to_string())));
        }
        loop {
            if self.reader.is_none() {
                let Some(file) = self.files.next() else {
                    return Ok(None);
                };
                self.reader = Some(open_list(&file)?);
            }
            let Some(r) = self.reader.as_mut() else { continue };
            let Some(line) = r
                .next_line()
                .with_context(|| format!("{}: reading", r.name()))?
            else {
                self.reader = None;
                continue;
            };
            match line.spec() {
                Ok(Some(spec)) => {
                    return Ok(Some((spec.to_string(), line.origin)));
                }
                Ok(None) => {}
                // Not a spec at all: reported like any bad spec.
                Err(why) => {
                    return Ok(Some((format!("<{why}>"), line.origin)));
                }
            }
        }
    }

    /// The next chunk's plan (exclusions subtracted, possibly empty when
    /// every spec was bad or excluded); `None` when every spec was read.
    pub fn next_plan(&mut self) -> anyhow::Result<Option<Plan>> {
        let mut set = RangeSet::new();
        let mut hosts: Vec<HostTarget> = Vec::new();
        let mut read = 0;
        while read < self.chunk {
            let Some((spec, origin)) = self.next_spec()? else { break };
            read += 1;
            match parse_spec(&spec) {
                Ok(Spec::Range(a, b)) => set.insert(a, b),
                Ok(Spec::Host(h)) => hosts.push(h),
                Err(e) => {
                    self.errors += 1;
                    eprintln!("vigie scan: {origin}: {e}");
                }
            }
        }
        if read == 0 {
            return Ok(None);
        }
        set.normalise();
        set.subtract(&self.excluded);
        hosts.sort_by(|a, b| (&a.host, a.port).cmp(&(&b.host, b.port)));
        hosts.dedup();
        let excluded = &self.excluded;
        hosts.retain(|h| {
            h.host.parse().map(|ip| !excluded.contains(ip)).unwrap_or(true)
        });
        self.chunks += 1;
        Ok(Some(Plan {
            set,
            hosts,
            ports: self.ports.clone(),
            seed: self.seed,
            shard: self.shard,
        }))
    }
}

/// A list file, or stdin for `-`.
pub fn open_list(file: &Path) -> anyhow::Result<LineReader> {
    let name = file.display().to_string();
    if file == Path::new("-") {
        return Ok(LineReader::new(
            Box::new(BufReader::new(std::io::stdin())),
            name,
        ));
    }
    let f = std::fs::File::open(file).with_context(|| name.clone())?;
    Ok(LineReader::new(Box::new(BufReader::new(f)), name))
}
