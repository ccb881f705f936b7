//! One large HttpProxy or IIS log read by several threads: the file is
//! cut into byte ranges (each line belongs to the range it starts in),
//! every range is scanned on its own, and the parts are merged with line
//! numbers shifted, so the result is the one a single reader gives.
//! Large EVTX files are shared the same way, by ranges of whole chunks.
//!
//! A range that starts mid-file needs the header in force there. It is
//! taken to be the file's first header; if any range meets a header line
//! that differs from it (a concatenated file, a restarted IIS with other
//! fields), the split is thrown away and the file is read by one thread.

use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use vigie_logs::Header;
use vigie_logs::evtx;
use vigie_logs::range::{ByteRange, split_ranges};
use vigie_model::hunt::LogSource;
use vigie_model::{ItemError, ItemErrorKind};

use super::common::Scan;
use super::{LogScanOptions, LogScanResult, events, httpproxy, iis};

/// How files are split.
#[derive(Debug, Clone, Copy)]
pub struct Split {
    /// Files smaller than this are read by one thread.
    pub min: u64,
    /// Bytes per range.
    pub size: u64,
}

/// Files of 64 MiB and more, in ranges of 32 MiB: small enough to keep
/// two cores busy on one file, large enough that a range's fixed costs
/// (open, seek, first-line search) do not show.
pub const DEFAULT: Split = Split { min: 64 << 20, size: 32 << 20 };

/// How much of a file's head is searched for its first header.
const HEAD: u64 = 1 << 20;

/// The state a range starts in, per log kind.
#[derive(Clone)]
enum Start {
    HttpProxy(httpproxy::State),
    Iis(iis::State),
}

impl Start {
    fn header(&self) -> &Header {
        match self {
            Start::HttpProxy(s) => s.header(),
            Start::Iis(s) => s.header(),
        }
    }
}

/// Scan `path` in ranges; `None` when it should be read whole (small,
/// unreadable head, no header, or a header change inside the file).
pub fn scan(
    path: &Path,
    source: LogSource,
    opts: &LogScanOptions,
    split: Split,
) -> Option<LogScanResult> {
    let len = std::fs::metadata(path).ok()?.len();
    if len < split.min || len <= split.size {
        return None;
    }
    let head = read_head(path)?;
    // UTF-16 is decoded from the start by one reader.
    if vigie_logs::encoding::sniff(&head).is_utf16() {
        return None;
    }
    let start = match source {
        LogSource::HttpProxy => {
            Start::HttpProxy(httpproxy::start_state(&head)?)
        }
        LogSource::Iis => Start::Iis(iis::start_state(&head)?),
        _ => return None,
    };
    // The file's first `#Date` bounds every range's record times.
    let date = head
        .split(|&b| b == b'\n')
        .map(vigie_logs::blocks::clean)
        .find(|l| crate::coverage::days::date_header(l).is_some());
    let parts: Vec<Scan> = split_ranges(len, split.size)
        .into_par_iter()
        .map(|range| {
            let mut scan = Scan::new(path, source);
            if let Some(d) = date {
                scan.directive(d);
            }
            scan_range(scan, opts, &start, range)
        })
        .collect();
    if parts.iter().any(|p| p.other_header) {
        return None;
    }
    Some(merge(path, source, parts))
}

/// Scan a large `.evtx` file in ranges of whole chunks (`split.size`
/// bytes each); `None` when it should be read whole (small, or a header
/// the reader refuses, so the error is given once).
pub fn scan_evtx(
    path: &Path,
    opts: &LogScanOptions,
    split: Split,
) -> Option<LogScanResult> {
    let len = std::fs::metadata(path).ok()?.len();
    let chunks = evtx::chunk_count(path).ok()?;
    let per = (split.size / EVTX_CHUNK).max(1);
    if len < split.min || chunks <= per {
        return None;
    }
    evtx::read_evtx_chunks(path, 0..0, |_| {}, |_| {}).ok()?;
    let ranges: Vec<_> = (0..chunks)
        .step_by(per as usize)
        .map(|s| s..(s + per).min(chunks))
        .collect();
    let mut parts: Vec<Scan> = ranges
        .into_par_iter()
        .map(|r| {
            let mut scan = Scan::new(path, LogSource::Evtx);
            events::scan_evtx_part(&mut scan, opts, Some(r));
            scan
        })
        .collect();
    if let (Some(first), Some(e)) = (parts.first_mut(), evtx::truncation(path))
    {
        first.errors.insert(
            0,
            ItemError::new(
                path.display().to_string(),
                ItemErrorKind::Parse,
                e,
            ),
        );
    }
    Some(merge(path, LogSource::Evtx, parts))
}

/// Size of an EVTX chunk.
const EVTX_CHUNK: u64 = 65536;

/// The file's head, cut after its last whole line.
fn read_head(path: &Path) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    std::fs::File::open(path).ok()?.take(HEAD).read_to_end(&mut head).ok()?;
    let end = memchr::memrchr(b'\n', &head)?;
    head.truncate(end + 1);
    Some(head)
}

fn scan_range(
    mut scan: Scan,
    opts: &LogScanOptions,
    start: &Start,
    range: ByteRange,
) -> Scan {
    scan.range = Some(range);
    scan.expected_header = Some(start.header().clone());
    // The first range reads the file from its first line, exactly as a
    // single reader would.
    let from_start = range.start == 0;
    match start {
        Start::HttpProxy(st) => {
            let st = if from_start { Default::default() } else { st.clone() };
            httpproxy::scan_from(&mut scan, opts, st);
        }
        Start::Iis(st) => {
            let st = if from_start { Default::default() } else { st.clone() };
            iis::scan_from(&mut scan, opts, st);
        }
    }
    scan
}

/// Join the parts in file order, shifting line numbers.
fn merge(path: &Path, source: LogSource, parts: Vec<Scan>) -> LogScanResult {
    let mut all = Scan::new(path, source);
    let mut base = 0;
    for mut part in parts {
        part.fold_span();
        for mut f in part.findings {
            f.source.line = f.source.line.map(|n| n + base);
            all.findings.push(f);
        }
        for n in part.too_long {
            if all.too_long.len() < 20 {
                all.too_long.push(n + base);
            }
        }
        all.errors.extend(part.errors);
        all.days.union(&part.days);
        all.saw_directive |= part.saw_directive;
        all.implausible += part.implausible;
        if all.first_implausible.is_none() {
            all.first_implausible = part.first_implausible.take();
        }
        let (c, p) = (&mut all.coverage, &part.coverage);
        c.records += p.records;
        c.first = c.first.into_iter().chain(p.first).min();
        c.last = c.last.into_iter().chain(p.last).max();
        base += part.lines_read;
    }
    all.finish()
}

#[cfg(test)]
mod tests;
