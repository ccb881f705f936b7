//! Read one log file, evaluate each record once against the rules for
//! its kind, and turn matches into findings.
//!
//! Text logs (IIS W3C, Exchange CSV) are prefiltered on the raw line, so
//! a line no rule could match is never split; event records (EVTX, JSON
//! exports) are flattened by `vigie-logs` as for vigie's own rules, then
//! prefiltered on their joined values. One `sigma_rust::Event` is built
//! per candidate record and shared by every rule evaluated on it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;
use vigie_logs::blocks::{Block, BlockReader};
use vigie_logs::split_csv;
use vigie_model::hunt::{LogSource, SIGMA_RULE_PREFIX};
use vigie_model::{Family, Finding, Grade, SourceRef};

use crate::RuleSet;
use crate::prefilter::{Plan, Stamps};
use crate::source::{self, Kind};

/// Findings kept per rule and file; further matches are only counted
/// (a noisy rule must not fill memory).
pub const MAX_FINDINGS_PER_RULE_AND_FILE: u64 = 100;

/// Longest record value copied into a finding.
const MAX_VALUE: usize = 1024;

/// Most record fields copied into a finding.
const MAX_FIELDS: usize = 64;

/// The records considered: those in `since..=until` (undated ones too).
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    /// Ignore records before.
    pub since: Option<DateTime<Utc>>,
    /// Ignore records after.
    pub until: Option<DateTime<Utc>>,
}

impl Window {
    fn holds(&self, t: Option<DateTime<Utc>>) -> bool {
        let Some(t) = t else { return true };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }
}

/// What one file gave.
#[derive(Debug, Default)]
pub struct ScanOutput {
    /// One per match, at most [`MAX_FINDINGS_PER_RULE_AND_FILE`] per rule.
    pub findings: Vec<Finding>,
    /// Matches per rule id.
    pub matches_by_rule: BTreeMap<String, u64>,
    /// Matches not listed as findings (over the cap).
    pub matches_not_listed: u64,
    /// Records evaluated by at least one rule.
    pub records_evaluated: u64,
}

/// Evaluate the rules of `set` over the file `path`, a log of kind
/// `source`. A file whose kind no rule applies to is not opened.
pub fn scan_file(
    path: &Path,
    source: LogSource,
    set: &RuleSet,
    window: &Window,
) -> ScanOutput {
    let mut ctx = Ctx::new(set, path, *window);
    #[allow(unreachable_patterns)] // sources added later: not mapped yet
    match source {
        LogSource::Iis => ctx.lines(Format::W3c, set.plan_for(source)),
        LogSource::HttpProxy
        | LogSource::EcpServer
        | LogSource::OabGenerator => ctx.lines(
            Format::Csv { aliases: source == LogSource::HttpProxy },
            set.plan_for(source),
        ),
        LogSource::Evtx => ctx.evtx(),
        LogSource::EventJson => ctx.json(),
        _ => {}
    }
    ctx.out
}

impl RuleSet {
    /// The plan for a text log source (built once per rule set).
    fn plan_for(&self, source: LogSource) -> &Plan {
        let (cell, kind) = match source {
            LogSource::Iis => (&self.plans.iis, source::web(&source::IIS)),
            LogSource::HttpProxy => {
                (&self.plans.httpproxy, source::web(&source::HTTPPROXY))
            }
            LogSource::EcpServer => (&self.plans.ecp, source::ECP),
            _ => (&self.plans.oab, source::OAB),
        };
        cell.get_or_init(|| self.plan(&kind))
    }

    /// The rules evaluated on every record of a text log source (no
    /// literal prefilter could be derived from them): the cost to watch.
    pub fn unfiltered(&self, source: LogSource) -> Vec<&crate::RuleMeta> {
        self.plan_for(source)
            .always
            .iter()
            .map(|&i| &self.rules[i].meta)
            .collect()
    }

    fn plan(&self, kind: &Kind) -> Plan {
        Plan::new(
            self.rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.target.applies(kind))
                .map(|(i, r)| (i, &r.literals)),
        )
    }

    /// The plan for Windows events of one channel and event id.
    fn event_plan(&self, channel: &str, id: Option<u64>) -> Arc<Plan> {
        let key = (channel.to_ascii_lowercase(), id);
        if let Ok(cache) = self.plans.events.lock()
            && let Some(p) = cache.get(&key)
        {
            return p.clone();
        }
        let plan = Arc::new(self.plan(&source::windows_kind(channel, id)));
        if let Ok(mut cache) = self.plans.events.lock() {
            cache.insert(key, plan.clone());
        }
        plan
    }
}

/// Plans per record kind, built on first use.
#[derive(Debug, Default)]
pub(crate) struct Plans {
    iis: std::sync::OnceLock<Plan>,
    httpproxy: std::sync::OnceLock<Plan>,
    ecp: std::sync::OnceLock<Plan>,
    oab: std::sync::OnceLock<Plan>,
    #[allow(clippy::type_complexity)]
    events: std::sync::Mutex<HashMap<(String, Option<u64>), Arc<Plan>>>,
}

#[derive(Debug, Clone, Copy)]
enum Format {
    W3c,
    Csv { aliases: bool },
}

/// Where a record is.
#[derive(Debug, Clone, Copy)]
enum Pos {
    Line(u64),
    Record(u64),
}

/// One record's fields, in file order (originals), and aliases.
#[derive(Debug, Default)]
struct Fields {
    list: Vec<(String, String)>,
    aliases: Vec<(String, String)>,
}

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        self.list
            .iter()
            .chain(&self.aliases)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn event(&self) -> sigma_rust::Event {
        let mut ev = sigma_rust::Event::new();
        for (k, v) in self.list.iter().chain(&self.aliases) {
            ev.insert(k.clone(), v.clone());
        }
        ev
    }
}

struct Ctx<'a> {
    set: &'a RuleSet,
    path: &'a Path,
    shown: String,
    window: Window,
    out: ScanOutput,
    listed: HashMap<usize, u64>,
    seen: Stamps,
    cands: Vec<usize>,
}

impl<'a> Ctx<'a> {
    fn new(set: &'a RuleSet, path: &'a Path, window: Window) -> Self {
        Ctx {
            set,
            path,
            shown: path.display().to_string(),
            window,
            out: ScanOutput::default(),
            listed: HashMap::new(),
            seen: Stamps::default(),
            cands: Vec::new(),
        }
    }

    /// IIS W3C and Exchange CSV logs, in blocks of whole lines: the
    /// literals are searched once per block, and only lines holding every
    /// clause of some rule become text and fields.
    fn lines(&mut self, format: Format, plan: &Plan) {
        if plan.is_empty() {
            return;
        }
        // Unreadable files are reported by vigie's own reader of them.
        let Ok((_, reader)) = std::fs::File::open(self.path)
            .and_then(vigie_logs::encoding::utf8_reader)
        else {
            return;
        };
        let mut header: Vec<String> = Vec::new();
        let mut hits = Vec::new();
        let mut blocks = BlockReader::new(reader);
        loop {
            match blocks.next_block() {
                Ok(Some(Block::Lines(lines))) => {
                    plan.hits(lines.data, &mut hits);
                    self.block(lines, &hits, plan, &mut header, format);
                }
                // vigie's own reader of the same file reports these
                Ok(Some(Block::TooLong(_))) => continue,
                Ok(None) | Err(_) => break,
            }
        }
    }

    fn block(
        &mut self,
        lines: vigie_logs::blocks::Lines<'_>,
        hits: &[(usize, usize)],
        plan: &Plan,
        header: &mut Vec<String>,
        format: Format,
    ) {
        let mut cands = std::mem::take(&mut self.cands);
        let mut at = 0;
        for line in lines.iter() {
            let first = line.bytes.first().copied();
            if matches!(first, Some(b'#' | b'D' | b'd'))
                && let Some(h) =
                    header_of(&String::from_utf8_lossy(line.bytes), format)
            {
                *header = h;
            }
            let start = at;
            while at < hits.len() && hits[at].0 < line.end {
                at += 1;
            }
            let mine = &hits[start..at];
            if (mine.is_empty() && plan.always.is_empty())
                || first == Some(b'#')
                || header.is_empty()
            {
                continue;
            }
            let pats = mine.iter().map(|&(_, p)| p);
            plan.candidates_of(pats, &mut self.seen, &mut cands);
            if cands.is_empty() {
                continue;
            }
            let text = String::from_utf8_lossy(line.bytes);
            let fields = split(&text, header, format);
            let ts = line_time(&fields, format);
            if self.window.holds(ts) {
                self.evaluate(&cands, &fields, Pos::Line(line.number), ts);
            }
        }
        self.cands = cands;
    }

    /// EVTX records, flattened. Read errors are vigie's own EVTX
    /// reader's to report (it reads the same file).
    fn evtx(&mut self) {
        let path = self.path;
        let _ = vigie_logs::evtx::read_evtx(
            path,
            |rec| self.event_record(rec),
            |_| {},
        );
    }

    fn event_record(&mut self, rec: vigie_logs::evtx::EvtxRecord) {
        if !self.window.holds(rec.timestamp) {
            return;
        }
        let fields = event_fields(&rec.value);
        self.event(fields, Pos::Record(rec.record_id), rec.timestamp);
    }

    /// JSON event exports.
    fn json(&mut self) {
        // Unreadable files are reported by vigie's own reader of them.
        let Ok((_, reader)) = std::fs::File::open(self.path)
            .and_then(vigie_logs::encoding::utf8_reader)
        else {
            return;
        };
        vigie_logs::json::read_events(
            reader,
            |pos, value| {
                let line = match pos {
                    vigie_logs::json::Position::Line(n)
                    | vigie_logs::json::Position::Element(n) => n,
                };
                let value = if value.get("Event").is_some() {
                    vigie_logs::evtx::flatten(&value)
                } else {
                    value
                };
                let fields = event_fields(&value);
                let ts = json_time(&fields);
                if self.window.holds(ts) {
                    self.event(fields, Pos::Line(line), ts);
                }
            },
            |_| {}, // vigie's own reader of the same file reports these
        );
    }

    fn event(&mut self, fields: Fields, pos: Pos, ts: Option<DateTime<Utc>>) {
        let channel = fields.get("Channel").unwrap_or("").to_string();
        let id = fields.get("EventID").and_then(|s| s.trim().parse().ok());
        let plan = self.set.event_plan(&channel, id);
        if plan.is_empty() {
            return;
        }
        let mut hay = Vec::new();
        for (_, v) in fields.list.iter() {
            hay.extend_from_slice(v.as_bytes());
            hay.push(b'\n');
        }
        let mut cands = std::mem::take(&mut self.cands);
        plan.candidates(&hay, &mut self.seen, &mut cands);
        if !cands.is_empty() {
            self.evaluate(&cands, &fields, pos, ts);
        }
        self.cands = cands;
    }

    /// Run the candidate rules on one record.
    fn evaluate(
        &mut self,
        cands: &[usize],
        fields: &Fields,
        pos: Pos,
        ts: Option<DateTime<Utc>>,
    ) {
        self.out.records_evaluated += 1;
        let event = fields.event();
        for &i in cands {
            let rule = &self.set.rules[i];
            if !rule.rule.is_match(&event) {
                continue;
            }
            *self
                .out
                .matches_by_rule
                .entry(rule.meta.id.clone())
                .or_insert(0) += 1;
            let listed = self.listed.entry(i).or_insert(0);
            if *listed >= MAX_FINDINGS_PER_RULE_AND_FILE {
                self.out.matches_not_listed += 1;
                continue;
            }
            *listed += 1;
            let f = finding(&rule.meta, &self.shown, pos, ts, fields);
            self.out.findings.push(f);
        }
    }
}

/// A header line: `#Fields:` (W3C, Exchange CSV) or a bare CSV header
/// whose first column is `DateTime`/`date-time`.
fn header_of(text: &str, format: Format) -> Option<Vec<String>> {
    let rest = text
        .get(..8)
        .filter(|h| h.eq_ignore_ascii_case("#Fields:"))
        .map(|_| &text[8..]);
    match format {
        Format::W3c => Some(
            rest?.split_ascii_whitespace().map(source::iis_field).collect(),
        ),
        Format::Csv { .. } => {
            let rest = rest.or_else(|| {
                let first = text.split(',').next()?.trim();
                (first.eq_ignore_ascii_case("DateTime")
                    || first.eq_ignore_ascii_case("date-time"))
                .then_some(text)
            })?;
            Some(
                split_csv(rest.trim())
                    .into_iter()
                    .map(|s| s.trim().to_string())
                    .collect(),
            )
        }
    }
}

/// A line's fields under the header's names (extra values are dropped,
/// missing ones absent); IIS `-` is empty, `+` in user agents, referers
/// and cookies is a space.
fn split(text: &str, header: &[String], format: Format) -> Fields {
    let mut f = Fields::default();
    match format {
        Format::W3c => {
            for (name, v) in
                header.iter().zip(text.split(' ').filter(|s| !s.is_empty()))
            {
                let v = if v == "-" {
                    String::new()
                } else if matches!(
                    name.as_str(),
                    "cs-user-agent" | "cs-referer" | "cs-cookie"
                ) {
                    v.replace('+', " ")
                } else {
                    v.to_string()
                };
                f.list.push((name.clone(), v));
            }
        }
        Format::Csv { aliases } => {
            for (name, v) in header.iter().zip(split_csv(text)) {
                f.list.push((name.clone(), v));
            }
            if aliases {
                for (from, to) in source::HTTPPROXY_ALIASES {
                    if let Some(v) = f.get(from) {
                        let v = v.to_string();
                        f.aliases.push((to.to_string(), v));
                    }
                }
            }
        }
    }
    f
}

fn line_time(f: &Fields, format: Format) -> Option<DateTime<Utc>> {
    match format {
        Format::W3c => {
            let text = format!("{} {}", f.get("date")?, f.get("time")?);
            NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        }
        Format::Csv { .. } => f
            .get("DateTime")
            .or_else(|| f.get("date-time"))
            .and_then(parse_time),
    }
}

/// RFC 3339, `YYYY-MM-DD HH:MM:SS[.f]` (UTC), or .NET's `/Date(ms)/`.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Some(ms) =
        s.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/"))
    {
        let ms: i64 = ms.split(['+', '-']).next()?.parse().ok()?;
        return DateTime::from_timestamp_millis(ms);
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

fn json_time(f: &Fields) -> Option<DateTime<Utc>> {
    [
        "TimeCreated",
        "@timestamp",
        "timestamp",
        "TimeGenerated",
        "UtcTime",
        "EventTime",
        "SystemTime",
    ]
    .iter()
    .find_map(|k| f.get(k).and_then(parse_time))
}

/// A flat event's fields as text (nested objects as `a.b`), with
/// Sigma's Windows names as aliases.
fn event_fields(v: &Value) -> Fields {
    let mut f = Fields::default();
    if let Value::Object(m) = v {
        for (k, v) in m {
            flat(k, v, 0, &mut f.list);
        }
    }
    for (from, to) in source::EVENT_ALIASES {
        if f.get(to).is_none()
            && let Some(v) = f.get(from)
        {
            let v = v.to_string();
            f.aliases.push((to.to_string(), v));
        }
    }
    f
}

fn flat(key: &str, v: &Value, depth: usize, out: &mut Vec<(String, String)>) {
    match v {
        Value::Null => {}
        Value::String(s) => out.push((key.to_string(), s.clone())),
        Value::Object(m) if depth < 4 => {
            for (k, v) in m {
                flat(&format!("{key}.{k}"), v, depth + 1, out);
            }
        }
        other => out.push((key.to_string(), other.to_string())),
    }
}

/// The finding for one match: the rule's metadata, where the record is,
/// and its fields.
fn finding(
    meta: &crate::RuleMeta,
    path: &str,
    pos: Pos,
    ts: Option<DateTime<Utc>>,
    fields: &Fields,
) -> Finding {
    let mut details = BTreeMap::new();
    details.insert("sigma_id".into(), meta.id.clone());
    details.insert("sigma_level".into(), meta.level.clone());
    if let Some(a) = &meta.author {
        details.insert("sigma_author".into(), a.clone());
    }
    if !meta.references.is_empty() {
        details.insert("sigma_references".into(), meta.references.join("\n"));
    }
    if !meta.tags.is_empty() {
        details.insert("sigma_tags".into(), meta.tags.join(" "));
    }
    details.insert("sigma_rule_file".into(), meta.path.display().to_string());
    for (k, v) in
        fields.list.iter().filter(|(_, v)| !v.is_empty()).take(MAX_FIELDS)
    {
        details.insert(format!("record.{k}"), cut(v, MAX_VALUE));
    }
    let (line, record_id) = match pos {
        Pos::Line(n) => (Some(n), None),
        Pos::Record(n) => (None, Some(n)),
    };
    Finding {
        rule_id: format!("{SIGMA_RULE_PREFIX}{}", meta.id),
        title: meta.title.clone(),
        family: Family::Other,
        // What a Sigma match shows is the rule author's call, not vigie's:
        // it is context for the verdict (see `Verdict::Suspicious`).
        grade: Grade::Info,
        severity: meta.severity,
        cves: meta.cves.clone(),
        attack: meta.attack.clone(),
        timestamp: ts,
        source: SourceRef { path: path.to_string(), line, record_id },
        summary: format!(
            "Sigma {} rule matched: {}",
            meta.level,
            brief(fields)
        ),
        details,
    }
}

/// The record in a few words: the request of a web log, the event id and
/// command or message of an event.
fn brief(f: &Fields) -> String {
    let text = if let Some(stem) = f.get("cs-uri-stem") {
        let q = f.get("cs-uri-query").filter(|q| !q.is_empty());
        format!(
            "{} {stem}{}{}",
            f.get("cs-method").unwrap_or(""),
            if q.is_some() { "?" } else { "" },
            q.unwrap_or("")
        )
    } else if let Some(id) = f.get("EventID") {
        let what = ["CommandLine", "ScriptBlockText", "Image", "Message"]
            .iter()
            .find_map(|k| f.get(k).filter(|v| !v.is_empty()))
            .unwrap_or("");
        format!("event {id} {what}")
    } else {
        f.list
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .take(6)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    cut(text.trim(), 200)
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
