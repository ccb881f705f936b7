//! One timeline of the attack: log lines and events that findings point
//! at, and the file times of files with findings, in time order; written
//! as JSONL and as a CSV Timesketch imports as is (`message`, `datetime`,
//! `timestamp_desc` are its required columns).
//!
//! Every cell is attacker text until proven otherwise: the CSV neutralises
//! formulas and control characters with [`csv_safe`].

use std::io::{self, Write};

use chrono::SecondsFormat;
use vigie_model::hunt::TimelineEvent;
use vigie_model::{Finding, csv_safe};

/// The timeline entry of one dated finding (`None` when it has no time).
pub fn from_finding(f: &Finding) -> Option<TimelineEvent> {
    let timestamp = f.timestamp?;
    let kind = if f.source.record_id.is_some() || is_event_export(f) {
        "event"
    } else if f.source.line.is_some() {
        "log"
    } else {
        "finding"
    };
    let mut source = f.source.path.clone();
    if let Some(line) = f.source.line {
        source = format!("{source}:{line}");
    } else if let Some(id) = f.source.record_id {
        source = format!("{source}#{id}");
    }
    Some(TimelineEvent {
        timestamp,
        kind: kind.to_string(),
        message: format!("[{}] {}: {}", f.rule_id, f.title, f.summary),
        source,
        rule_id: Some(f.rule_id.clone()),
    })
}

fn is_event_export(f: &Finding) -> bool {
    let p = f.source.path.to_lowercase();
    p.ends_with(".json") || p.ends_with(".jsonl")
}

/// Merge findings and file times into one list in time order (ties keep
/// a stable order: source, then message).
pub fn build(
    findings: &[Finding],
    file_events: impl IntoIterator<Item = TimelineEvent>,
) -> Vec<TimelineEvent> {
    let mut all: Vec<TimelineEvent> =
        findings.iter().filter_map(from_finding).collect();
    all.extend(file_events);
    all.sort_by(|a, b| {
        (a.timestamp, &a.source, &a.kind, &a.message).cmp(&(
            b.timestamp,
            &b.source,
            &b.kind,
            &b.message,
        ))
    });
    all.dedup();
    all
}

/// Where timeline entries go, one at a time.
pub trait TimelineSink {
    /// Write one entry.
    fn push(&mut self, ev: &TimelineEvent) -> io::Result<()>;
    /// Flush what is buffered.
    fn finish(&mut self) -> io::Result<()>;
}

/// JSON lines: one [`TimelineEvent`] per line.
pub struct JsonlSink<W: Write> {
    out: W,
}

impl<W: Write> JsonlSink<W> {
    /// Write to `out`.
    pub fn new(out: W) -> Self {
        JsonlSink { out }
    }
}

impl<W: Write> TimelineSink for JsonlSink<W> {
    fn push(&mut self, ev: &TimelineEvent) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, ev)?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Timesketch CSV: `message,datetime,timestamp_desc,timestamp,source,
/// rule_id,host`; `timestamp` is microseconds since the epoch.
pub struct CsvSink<W: Write> {
    out: W,
    host: String,
    header_done: bool,
}

/// The CSV header line.
pub const CSV_HEADER: &str =
    "message,datetime,timestamp_desc,timestamp,source,rule_id,host";

impl<W: Write> CsvSink<W> {
    /// Write to `out`; `host` fills the `host` column.
    pub fn new(out: W, host: &str) -> Self {
        CsvSink { out, host: host.to_string(), header_done: false }
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.header_done {
            self.header_done = true;
            writeln!(self.out, "{CSV_HEADER}")?;
        }
        Ok(())
    }
}

/// Timesketch's `timestamp_desc` for a kind of time.
pub fn timestamp_desc(kind: &str) -> &'static str {
    match kind {
        "log" => "Log Line Written",
        "event" => "Event Recorded",
        "file_created" => "File Created",
        "file_modified" => "File Modified",
        "file_accessed" => "File Accessed",
        _ => "Evidence Time",
    }
}

/// One CSV cell: neutralised, quoted, quotes doubled.
pub fn cell(text: &str) -> String {
    format!("\"{}\"", csv_safe(text).replace('"', "\"\""))
}

impl<W: Write> TimelineSink for CsvSink<W> {
    fn push(&mut self, ev: &TimelineEvent) -> io::Result<()> {
        self.header()?;
        let cells = [
            cell(&ev.message),
            cell(&ev.timestamp.to_rfc3339_opts(SecondsFormat::Micros, true)),
            cell(timestamp_desc(&ev.kind)),
            cell(&ev.timestamp.timestamp_micros().to_string()),
            cell(&ev.source),
            cell(ev.rule_id.as_deref().unwrap_or("")),
            cell(&self.host),
        ];
        writeln!(self.out, "{}", cells.join(","))
    }

    fn finish(&mut self) -> io::Result<()> {
        self.header()?;
        self.out.flush()
    }
}

/// Write every entry to a sink, then finish it.
pub fn write_all(
    sink: &mut dyn TimelineSink,
    events: &[TimelineEvent],
) -> io::Result<()> {
    for ev in events {
        sink.push(ev)?;
    }
    sink.finish()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeZone, Utc};
    use vigie_model::{Family, Grade, Severity, SourceRef};

    use super::*;

    fn finding(path: &str, line: Option<u64>, secs: i64) -> Finding {
        Finding {
            rule_id: "VG-IIS-001".into(),
            title: "t".into(),
            family: Family::ProxyLogon,
            grade: Grade::Attempt,
            severity: Severity::Medium,
            cves: vec![],
            attack: vec![],
            timestamp: Utc.timestamp_opt(1_615_000_000 + secs, 0).single(),
            source: SourceRef { path: path.into(), line, record_id: None },
            summary: "=cmd|' /C calc'!A0 \"quoted\"\nnext".into(),
            details: BTreeMap::new(),
        }
    }

    #[test]
    fn findings_and_file_times_merge_in_time_order() {
        let file = TimelineEvent {
            timestamp: Utc.timestamp_opt(1_615_000_005, 0).unwrap(),
            kind: "file_created".into(),
            message: "created x.aspx".into(),
            source: "/e/x.aspx".into(),
            rule_id: None,
        };
        let mut undated = finding("/e/a.log", Some(1), 0);
        undated.timestamp = None;
        let tl = build(
            &[
                finding("/e/u_ex.log", Some(9), 10),
                finding("/e/s.json", Some(2), 1),
                undated,
            ],
            [file],
        );
        let kinds: Vec<&str> = tl.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["event", "file_created", "log"]);
        assert_eq!(tl[2].source, "/e/u_ex.log:9");
    }

    #[test]
    fn csv_is_timesketch_shaped_and_neutralised() {
        let tl = build(&[finding("/e/u_ex.log", Some(9), 0)], []);
        let mut out = Vec::new();
        write_all(&mut CsvSink::new(&mut out, "EX01"), &tl).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), CSV_HEADER);
        let row = lines.next().unwrap();
        assert!(lines.next().is_none(), "newline in a cell split the row");
        assert!(row.contains("\"\"quoted\"\""));
        assert!(row.contains("\"2021-03-06T03:06:40.000000Z\""), "{row}");
        assert!(row.contains("\"Log Line Written\""));
        // A cell that starts with a formula sign is quoted out.
        let mut f = finding("/e/u.log", Some(1), 0);
        f.rule_id = "=HYPERLINK(1)".into();
        let tl = build(&[f], []);
        let mut out = Vec::new();
        write_all(&mut CsvSink::new(&mut out, "@h"), &tl).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\"'=HYPERLINK(1)\""));
        assert!(text.contains("\"'@h\""));
        let mut out = Vec::new();
        write_all(&mut JsonlSink::new(&mut out), &tl).unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(out.split(|b| *b == b'\n').next().unwrap())
                .unwrap();
        assert_eq!(v["kind"], "log");
    }
}
