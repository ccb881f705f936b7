//! Shared plumbing of the log detectors: reading lines, coverage, and
//! building findings.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use aho_corasick::{AhoCorasick, Input, Span, packed};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use vigie_logs::blocks::{Block, BlockReader, Lines};
use vigie_logs::encoding::{self, TextEncoding, Utf16Reader};
use vigie_logs::range::{ByteRange, RangeReader};
use vigie_logs::{Header, LineEvent, LineReader};
use vigie_model::hunt::{LogSource, SourceCoverage};
use vigie_model::{
    Family, Finding, Grade, ItemError, ItemErrorKind, Severity, SourceRef,
};

use super::{LogScanOptions, LogScanResult};
use crate::coverage::days::{self, Bounds, DaySet, Implausible};

/// A rule's fixed description.
pub struct Rule {
    /// Stable id, e.g. `VG-PL-001`.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// Family.
    pub family: Family,
    /// CVEs.
    pub cves: &'static [&'static str],
    /// ATT&CK technique ids.
    pub attack: &'static [&'static str],
}

/// One file being scanned.
pub struct Scan {
    pub path: String,
    path_buf: std::path::PathBuf,
    pub coverage: SourceCoverage,
    pub findings: Vec<Finding>,
    pub errors: Vec<ItemError>,
    /// Oldest and newest canonical timestamps seen as raw bytes.
    span: RawSpan,
    /// Part of the file to read (see `ranged`), `None` for all of it.
    pub range: Option<ByteRange>,
    /// Lines read (too-long ones included), to number later ranges.
    pub lines_read: u64,
    /// Numbers of lines over the cap; rendered as errors at the end, so
    /// a range's numbers can be shifted first.
    pub too_long: Vec<u64>,
    /// In a range: the header assumed in force at its start; any other
    /// header met makes the split unsafe (`other_header`).
    pub expected_header: Option<Header>,
    pub other_header: bool,
    /// Days with plausibly dated records.
    pub days: DaySet,
    /// Which days this file's records may carry.
    bounds: Bounds,
    /// The last record's date bytes and whether that day was plausible:
    /// most records share their predecessor's day, so they cost one
    /// comparison.
    day_cache: Option<([u8; 10], bool)>,
    /// The same for parsed times.
    date_cache: Option<(NaiveDate, bool)>,
    /// Records with an implausible time, and the first of them.
    pub implausible: u64,
    pub first_implausible: Option<(String, Implausible)>,
    /// The text encoding found at the file's start.
    pub encoding: TextEncoding,
    /// Whether a `#` directive (`#Fields`, `#Date`, ...) was met: a
    /// file of headers only is an empty log, not an unreadable one.
    pub saw_directive: bool,
}

impl Scan {
    pub fn new(path: &Path, source: LogSource) -> Self {
        Scan {
            path: path.display().to_string(),
            path_buf: path.to_path_buf(),
            coverage: SourceCoverage {
                files: 1,
                ..crate::coverage::empty(source)
            },
            findings: Vec::new(),
            errors: Vec::new(),
            span: RawSpan::default(),
            range: None,
            lines_read: 0,
            too_long: Vec::new(),
            expected_header: None,
            other_header: false,
            days: DaySet::default(),
            bounds: Bounds::for_file(
                &path.file_name().unwrap_or_default().to_string_lossy(),
            ),
            day_cache: None,
            date_cache: None,
            implausible: 0,
            first_implausible: None,
            encoding: TextEncoding::Utf8,
            saw_directive: false,
        }
    }

    /// Note a `#` directive line: the first `#Date:` header bounds the
    /// days the file's records may carry.
    pub fn directive(&mut self, line: &[u8]) {
        const KNOWN: [&[u8]; 5] = [
            b"#fields:",
            b"#date:",
            b"#software:",
            b"#version:",
            b"#log-type:",
        ];
        self.saw_directive |= KNOWN.iter().any(|k| {
            line.get(..k.len()).is_some_and(|h| h.eq_ignore_ascii_case(k))
        });
        if let Some(d) = days::date_header(line)
            && self.bounds.date_header(d)
        {
            self.day_cache = None;
            self.date_cache = None;
        }
    }

    /// Whether the day in the first ten bytes of `raw` is plausible
    /// (and noted); `None` when they are not a date.
    fn plausible_day(&mut self, raw: &[u8]) -> Option<bool> {
        let key: [u8; 10] = raw.get(..10)?.try_into().ok()?;
        if let Some((k, ok)) = self.day_cache
            && k == key
        {
            return Some(ok);
        }
        let d = days::parse_day(&key)?;
        let ok = self.day_verdict(d, &|| {
            String::from_utf8_lossy(raw).chars().take(40).collect()
        });
        self.day_cache = Some((key, ok));
        Some(ok)
    }

    /// Check a day against the bounds; note it if plausible, remember
    /// the first implausible one (`text` says how the record wrote it).
    fn day_verdict(
        &mut self,
        d: NaiveDate,
        text: &dyn Fn() -> String,
    ) -> bool {
        match self.bounds.check(d) {
            Ok(()) => {
                self.days.insert(d);
                true
            }
            Err(why) => {
                if self.first_implausible.is_none() {
                    self.first_implausible = Some((text(), why));
                }
                false
            }
        }
    }

    /// Whether line 1 of what this scan reads is line 1 of the file.
    pub fn at_file_start(&self) -> bool {
        self.range.is_none_or(|r| r.start == 0)
    }

    /// Note a header line met while reading.
    pub fn saw_header(&mut self, h: &Header) {
        if self.expected_header.as_ref().is_some_and(|e| e != h) {
            self.other_header = true;
        }
    }

    pub fn too_long(&mut self, n: u64) {
        // Capped like errors: a binary file must not flood the report.
        if self.too_long.len() < 20 {
            self.too_long.push(n);
        }
    }

    /// Call `f` with each block of whole lines; errors are recorded. A
    /// UTF-16 file (read whole, never in ranges) is decoded to UTF-8
    /// first; UTF-8 is read as it is.
    pub fn blocks(&mut self, f: impl FnMut(&mut Scan, Lines<'_>)) {
        let mut file = match File::open(&self.path_buf) {
            Ok(f) => f,
            Err(e) => {
                self.error(ItemErrorKind::Io, format!("cannot open: {e}"));
                return;
            }
        };
        if self.at_file_start() {
            match encoding::sniff_file(&mut file) {
                Ok(enc) => self.encoding = enc,
                Err(e) => {
                    self.error(ItemErrorKind::Io, format!("read error: {e}"));
                    return;
                }
            }
            if let TextEncoding::Utf16Le { .. }
            | TextEncoding::Utf16Be { .. } = self.encoding
            {
                let big =
                    matches!(self.encoding, TextEncoding::Utf16Be { .. });
                let r = Utf16Reader::new(file, big);
                self.drive_blocks(BlockReader::new(r), f);
                return;
            }
        }
        let range =
            self.range.unwrap_or(ByteRange { start: 0, end: u64::MAX });
        let file = match RangeReader::new(file, range) {
            Ok(r) => r,
            Err(e) => {
                self.error(ItemErrorKind::Io, format!("read error: {e}"));
                return;
            }
        };
        self.drive_blocks(BlockReader::new(file), f);
    }

    fn drive_blocks<R: std::io::Read>(
        &mut self,
        mut reader: BlockReader<R>,
        mut f: impl FnMut(&mut Scan, Lines<'_>),
    ) {
        loop {
            match reader.next_block() {
                Ok(Some(Block::Lines(lines))) => f(self, lines),
                Ok(Some(Block::TooLong(n))) => self.too_long(n),
                Ok(None) => break,
                Err(e) => {
                    self.error(ItemErrorKind::Io, format!("read error: {e}"));
                    break;
                }
            }
        }
        self.lines_read = reader.lines_read();
    }

    /// Count a record whose time is the raw text `raw`: a canonical
    /// timestamp only widens the span by byte comparison (parsed once at
    /// the end); anything else is parsed now.
    pub fn record_raw(&mut self, raw: &[u8]) {
        if !self.record_canonical(raw) {
            self.record(parse_time(&String::from_utf8_lossy(raw)));
        }
    }

    /// Count a record if `raw` is a canonical timestamp (or lies between
    /// the bounds in the same layout); `false` (nothing counted) if not.
    pub fn record_canonical(&mut self, raw: &[u8]) -> bool {
        match self.plausible_day(raw) {
            None => return false,
            Some(true) => {}
            Some(false) => {
                if Canonical::of(raw).is_none() {
                    return false;
                }
                self.coverage.records += 1;
                self.implausible += 1;
                return true;
            }
        }
        if self.span.advance(raw) || self.span.within(raw) {
            self.coverage.records += 1;
        } else if Canonical::of(raw).is_some() {
            self.coverage.records += 1;
            self.span.observe(raw);
        } else {
            return false;
        }
        true
    }

    /// Call `f` with each line (number, text); errors are recorded.
    pub fn lines(&mut self, mut f: impl FnMut(&mut Scan, u64, &str)) {
        let Some(reader) = self.open_text() else { return };
        let reader =
            LineReader::new(BufReader::with_capacity(1 << 16, reader));
        for ev in reader {
            match ev {
                LineEvent::Line(l) => f(self, l.number, &l.text),
                LineEvent::TooLong(n) => self.too_long(n),
                LineEvent::Error(e) => {
                    self.error(ItemErrorKind::Io, format!("read error: {e}"))
                }
            }
        }
    }

    /// The whole file as UTF-8 (UTF-16 decoded), or `None` after
    /// recording why it cannot be opened.
    pub fn open_text(&mut self) -> Option<Box<dyn std::io::Read + Send>> {
        let opened = File::open(&self.path_buf)
            .and_then(encoding::utf8_reader)
            .map_err(|e| format!("cannot open: {e}"));
        match opened {
            Ok((enc, r)) => {
                self.encoding = enc;
                Some(r)
            }
            Err(e) => {
                self.error(ItemErrorKind::Io, e);
                None
            }
        }
    }

    pub fn error(&mut self, kind: ItemErrorKind, msg: String) {
        // Cap repeated errors so a binary file does not flood the report.
        if self.errors.len() < 20 {
            self.errors.push(ItemError::new(self.path.clone(), kind, msg));
        }
    }

    /// Count a record and widen the time span; an implausible time is
    /// counted apart and widens nothing.
    pub fn record(&mut self, ts: Option<DateTime<Utc>>) {
        self.coverage.records += 1;
        if let Some(t) = ts {
            let d = t.date_naive();
            let ok = match self.date_cache {
                Some((k, ok)) if k == d => ok,
                _ => {
                    let ok = self.day_verdict(d, &|| t.to_rfc3339());
                    self.date_cache = Some((d, ok));
                    ok
                }
            };
            if !ok {
                self.implausible += 1;
                return;
            }
            let c = &mut self.coverage;
            c.first = Some(c.first.map_or(t, |f| f.min(t)));
            c.last = Some(c.last.map_or(t, |l| l.max(t)));
        }
    }

    /// Whether a record's time falls inside the requested window.
    pub fn in_window(
        opts: &LogScanOptions,
        ts: Option<DateTime<Utc>>,
    ) -> bool {
        let Some(t) = ts else { return true };
        opts.since.is_none_or(|s| t >= s) && opts.until.is_none_or(|u| t <= u)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        rule: &Rule,
        grade: Grade,
        line: u64,
        ts: Option<DateTime<Utc>>,
        summary: String,
        details: BTreeMap<String, String>,
    ) {
        self.findings.push(Finding {
            rule_id: rule.id.to_string(),
            title: rule.title.to_string(),
            family: rule.family,
            grade,
            severity: severity_of(grade),
            cves: rule.cves.iter().map(|s| s.to_string()).collect(),
            attack: rule.attack.iter().map(|s| s.to_string()).collect(),
            timestamp: ts,
            source: SourceRef {
                path: self.path.clone(),
                line: Some(line),
                record_id: None,
            },
            summary,
            details,
        });
    }

    pub fn finish(mut self) -> LogScanResult {
        self.fold_span();
        // Over-long lines come first, as they were met before any read
        // error; the cap on errors holds for both together.
        let mut errors: Vec<ItemError> = std::mem::take(&mut self.too_long)
            .into_iter()
            .map(|n| {
                ItemError::new(
                    self.path.clone(),
                    ItemErrorKind::Limit,
                    format!("line {n} longer than the line cap, skipped"),
                )
            })
            .collect();
        if let Some((text, why)) = &self.first_implausible {
            errors.insert(
                0,
                ItemError::new(
                    self.path.clone(),
                    ItemErrorKind::Parse,
                    format!(
                        "{} record(s) with an implausible time ignored for \
                         coverage; first {text:?}: {why}",
                        self.implausible
                    ),
                ),
            );
        }
        if let Some(e) = self.unreadable() {
            errors.push(e);
        }
        errors.append(&mut self.errors);
        errors.truncate(20);
        self.errors = errors;
        self.coverage.implausible = self.implausible;
        self.coverage.days = self.days.len();
        LogScanResult {
            findings: self.findings,
            coverage: self.coverage,
            errors: self.errors,
            days: self.days,
        }
    }

    /// A file that holds bytes but nothing read as a record of its kind
    /// (nor a header) cannot be what its name says: an error, never a
    /// silent zero.
    fn unreadable(&self) -> Option<ItemError> {
        if !self.errors.is_empty() {
            return None;
        }
        let c = &self.coverage;
        let what = crate::coverage::label(c.source);
        let enc = self.encoding.name();
        let msg = if c.records == 0 {
            let len = std::fs::metadata(&self.path_buf).map_or(0, |m| m.len());
            if len == 0 || self.saw_directive {
                return None; // empty, or headers only: an idle hour
            }
            format!("no {what} record in {len} byte(s) read as {enc}")
        } else if self.days.is_empty() && self.implausible == 0 {
            format!("no time in any of {} record(s) read as {enc}", c.records)
        } else {
            return None;
        };
        Some(ItemError::new(
            self.path.clone(),
            ItemErrorKind::Parse,
            format!(
                "{msg}: the file is not the log its name says, or in a form \
                 vigie does not read"
            ),
        ))
    }

    /// Move the raw time span into the coverage's first/last.
    pub fn fold_span(&mut self) {
        for t in [&self.span.min, &self.span.max] {
            if let Some(t) = Canonical::of(t).map(Canonical::time) {
                let c = &mut self.coverage;
                c.first = Some(c.first.map_or(t, |f| f.min(t)));
                c.last = Some(c.last.map_or(t, |l| l.max(t)));
            }
        }
        self.span = RawSpan::default();
    }
}

/// Severity follows grade: a probe is low, a success is high.
pub fn severity_of(grade: Grade) -> Severity {
    grade.severity()
}

/// Parse `2021-03-03T07:25:46.123Z` or `2021-03-03 07:25:46` as UTC.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let s = s.trim_end_matches('Z');
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| n.and_utc())
}

/// Oldest and newest canonical timestamps, kept as raw bytes so most
/// records cost a byte comparison, not a parse.
#[derive(Default)]
struct RawSpan {
    min: Vec<u8>,
    max: Vec<u8>,
}

impl RawSpan {
    /// Whether `raw` has the layout of both bounds and lies between them
    /// (then it cannot widen the span, valid or not).
    fn within(&self, raw: &[u8]) -> bool {
        !self.min.is_empty()
            && same_layout(raw, &self.min)
            && same_layout(raw, &self.max)
            && *self.min <= *raw
            && *raw <= *self.max
    }

    /// The common case of a log in time order: `raw` is on the newest
    /// record's day, in its layout, and not before it. Then its clock
    /// fields are all that is left to check (the date bytes are the
    /// newest's, already valid), and it becomes the newest without a
    /// parse. `false` (nothing changed) otherwise.
    fn advance(&mut self, raw: &[u8]) -> bool {
        let max = &mut self.max;
        if max.len() != raw.len()
            || max.is_empty()
            || raw[..10] != max[..10]
            || !same_layout(raw, max)
            || *raw < **max
            || !clock_ok(raw)
        {
            return false;
        }
        max.copy_from_slice(raw);
        true
    }

    /// Widen with a canonical timestamp.
    fn observe(&mut self, raw: &[u8]) {
        if self.min.is_empty() || earlier(raw, &self.min) {
            self.min.clear();
            self.min.extend_from_slice(raw);
        }
        if self.max.is_empty() || earlier(&self.max, raw) {
            self.max.clear();
            self.max.extend_from_slice(raw);
        }
    }
}

/// Whether canonical `a` is before canonical `b`: bytes compare in time
/// order when both have the same layout, else both are parsed.
fn earlier(a: &[u8], b: &[u8]) -> bool {
    if same_layout(a, b) {
        return a < b;
    }
    match (Canonical::of(a), Canonical::of(b)) {
        (Some(a), Some(b)) => a.time() < b.time(),
        _ => false,
    }
}

/// Whether bytes 11..19 of `raw` are a valid `hh:mm:ss`.
fn clock_ok(raw: &[u8]) -> bool {
    let two = |at: usize, max: u8| {
        let (t, u) = (raw[at], raw[at + 1]);
        t.is_ascii_digit()
            && u.is_ascii_digit()
            && (t - b'0') * 10 + (u - b'0') <= max
    };
    raw.len() >= 19
        && raw[13] == b':'
        && raw[16] == b':'
        && two(11, 23)
        && two(14, 59)
        && two(17, 59)
}

fn same_layout(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a[10] == b[10]
        && a[19..].iter().zip(&b[19..]).all(|(x, y)| {
            x.is_ascii_digit() == y.is_ascii_digit()
                && (x.is_ascii_digit() || x == y)
        })
}

/// A timestamp `YYYY-MM-DD[T ]hh:mm:ss[.f{1,9}][Z]` with valid fields: it
/// parses to the same UTC time as [`parse_time`] gives.
#[derive(Clone, Copy)]
pub struct Canonical {
    date: NaiveDate,
    secs: u32,
    nanos: u32,
}

impl Canonical {
    /// Recognise and check a canonical timestamp.
    pub fn of(raw: &[u8]) -> Option<Canonical> {
        if raw.len() < 19
            || raw[4] != b'-'
            || raw[7] != b'-'
            || !matches!(raw[10], b'T' | b' ')
            || raw[13] != b':'
            || raw[16] != b':'
        {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<u32> {
            raw[from..to].iter().try_fold(0u32, |n, &c| {
                c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
            })
        };
        let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (h, mi, s) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        if h > 23 || mi > 59 || s > 59 {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(y as i32, mo, d)?;
        let mut rest = &raw[19..];
        if let Some(r) = rest.strip_suffix(b"Z") {
            rest = r;
        }
        let nanos = match rest {
            [] => 0,
            [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
                let n = frac.iter().try_fold(0u32, |n, &c| {
                    c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
                })?;
                n * 10u32.pow(9 - frac.len() as u32)
            }
            _ => return None,
        };
        Some(Canonical { date, secs: h * 3600 + mi * 60 + s, nanos })
    }

    /// The time, as UTC.
    pub fn time(self) -> DateTime<Utc> {
        let t = chrono::NaiveTime::from_num_seconds_from_midnight_opt(
            self.secs, self.nanos,
        )
        .unwrap_or_default();
        self.date.and_time(t).and_utc()
    }
}

/// Case-insensitive literals searched in a whole block at once: only the
/// lines holding one go through the (costly) column rules.
///
/// The block is lower-cased into a scratch buffer first: a case-sensitive
/// search for lower-case literals is several times faster than a
/// case-insensitive one.
pub struct Prefilter(Option<Engine>);

/// Teddy (SIMD, up to 64 literals) when the CPU has it, else an automaton.
enum Engine {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Engine {
    fn find(&self, data: &[u8], at: usize) -> Option<aho_corasick::Match> {
        match self {
            Engine::Packed(s) => s.find_in(data, Span::from(at..data.len())),
            Engine::Automaton(a) => {
                a.find(Input::new(data).span(at..data.len()))
            }
        }
    }
}

impl Prefilter {
    /// Build from literals (lower-cased here); if the automaton cannot be
    /// built, every line is a candidate (slower, never blind).
    pub fn new<I, P>(literals: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        let lower: Vec<Vec<u8>> = literals
            .into_iter()
            .map(|l| l.as_ref().to_ascii_lowercase())
            .collect();
        let packed = packed::Config::new()
            .builder()
            .extend(&lower)
            .build()
            .map(Engine::Packed);
        Prefilter(
            packed.or_else(|| {
                AhoCorasick::new(&lower).ok().map(Engine::Automaton)
            }),
        )
    }

    /// Offsets of the first hit of each line holding one, ascending;
    /// `scratch` is reused between calls.
    pub fn hits(
        &self,
        data: &[u8],
        scratch: &mut Vec<u8>,
        out: &mut Vec<usize>,
    ) {
        out.clear();
        let Some(ac) = &self.0 else {
            out.push(0);
            out.extend(memchr::memchr_iter(b'\n', data).map(|i| i + 1));
            return;
        };
        // One pass: copy and lower-case together (a copy then an in-place
        // lower-casing measured slower: two passes over the block).
        scratch.clear();
        scratch.extend(data.iter().map(u8::to_ascii_lowercase));
        let data = &scratch[..];
        let mut at = 0;
        while let Some(m) = ac.find(data, at) {
            out.push(m.start());
            // One hit per line is enough: go on at the next line.
            match memchr::memchr(b'\n', &data[m.end()..]) {
                Some(i) => at = m.end() + i + 1,
                None => break,
            }
        }
    }
}

/// Walks a block's lines in step with its prefilter hits.
pub struct Candidates<'a> {
    hits: &'a [usize],
}

impl<'a> Candidates<'a> {
    /// Over the hits of one block.
    pub fn new(hits: &'a [usize]) -> Self {
        Candidates { hits }
    }

    /// Whether the line spanning `offset..end` holds a hit; lines must be
    /// asked in order.
    pub fn has(&mut self, offset: usize, end: usize) -> bool {
        while let Some((&h, rest)) = self.hits.split_first() {
            if h >= offset {
                return h < end;
            }
            self.hits = rest;
        }
        false
    }
}

#[cfg(test)]
mod tests;
