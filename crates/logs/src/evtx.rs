//! EVTX reader: each record as a flat JSON object shaped like the common
//! JSON exports (`EventID`, `Channel`, `SourceName`, event data fields,
//! `Level`, `Message` for unnamed data), so one set of rules serves both.

mod needles;
mod pick;
mod tree;
mod window;

use std::path::Path;

use chrono::{DateTime, Utc};
use evtx::{EvtxParser, ParserSettings};
use serde_json::{Map, Value};
use tree::J;

/// Size of an EVTX file header block, and of each chunk after it.
const HEADER_BLOCK: u64 = 4096;
const CHUNK: u64 = 65536;

/// One EVTX record, flattened.
#[derive(Debug, Clone)]
pub struct EvtxRecord {
    /// The record id.
    pub record_id: u64,
    /// When it was written (UTC).
    pub timestamp: Option<DateTime<Utc>>,
    /// The flat record.
    pub value: Value,
}

/// Read every record; `on_error` gets per-record problems, the evtx
/// crate's own warnings among them (see [`crate::diag`]). One thread:
/// callers run many files in parallel already.
pub fn read_evtx(
    path: &Path,
    on_record: impl FnMut(EvtxRecord),
    on_error: impl FnMut(String),
) -> Result<(), String> {
    read_evtx_fields(path, Fields::All, on_record, on_error)
}

/// Which flat fields a reader builds: all of them, or only the named
/// ones (each with the value [`flatten`] gives it), which is several
/// times cheaper: the other values are checked and skipped, not copied.
#[derive(Debug, Clone, Copy)]
pub enum Fields<'a> {
    /// Every field, as [`flatten`] gives them.
    All,
    /// Only these (`EventID`, `Level`, `Channel`, `SourceName`,
    /// `Message`, event data names).
    Only(&'a [&'a str]),
    /// Only `fields`, and only of records that may hold one of `needles`
    /// (ASCII case ignored) in a text: the others come without fields,
    /// never rendered (see `needles`; each needle needs a letter of
    /// `ghjkmopqvwy`, else every record is rendered).
    Holding {
        /// The fields built.
        fields: &'a [&'a str],
        /// Texts one of which a record must hold to be rendered.
        needles: &'a [&'a str],
    },
}

/// [`read_evtx`], building only `fields`.
pub fn read_evtx_fields(
    path: &Path,
    fields: Fields<'_>,
    on_record: impl FnMut(EvtxRecord),
    mut on_error: impl FnMut(String),
) -> Result<(), String> {
    let (r, warnings) = crate::diag::capture(|| -> Result<(), String> {
        let parser = EvtxParser::from_path(path)
            .map_err(|e| format!("not a readable EVTX file: {e}"))?;
        if let Some(e) = truncation(path) {
            on_error(e);
        }
        read_records(parser, fields, on_record, &mut on_error);
        Ok(())
    });
    warnings.into_errors().into_iter().for_each(&mut on_error);
    r
}

/// Whole chunks in an EVTX file (what [`read_evtx_chunks`] can read).
pub fn chunk_count(path: &Path) -> std::io::Result<u64> {
    let len = std::fs::metadata(path)?.len();
    Ok(len.saturating_sub(HEADER_BLOCK) / CHUNK)
}

/// Read the records of chunks `chunks` only, so one large file can be
/// shared between threads (each with its own range). Reading every range
/// of `0..chunk_count` gives the records [`read_evtx`] gives; only a
/// truncated last chunk is not reported here (see [`truncation`]).
pub fn read_evtx_chunks(
    path: &Path,
    chunks: std::ops::Range<u64>,
    on_record: impl FnMut(EvtxRecord),
    on_error: impl FnMut(String),
) -> Result<(), String> {
    read_evtx_chunks_fields(path, chunks, Fields::All, on_record, on_error)
}

/// [`read_evtx_chunks`], building only `fields`.
pub fn read_evtx_chunks_fields(
    path: &Path,
    chunks: std::ops::Range<u64>,
    fields: Fields<'_>,
    on_record: impl FnMut(EvtxRecord),
    mut on_error: impl FnMut(String),
) -> Result<(), String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("not a readable EVTX file: {e}"))?;
    let count = chunks.end.saturating_sub(chunks.start);
    let view = window::ChunkWindow::new(file, chunks.start, count);
    let (r, warnings) = crate::diag::capture(|| -> Result<(), String> {
        let parser = EvtxParser::from_read_seek(view)
            .map_err(|e| format!("not a readable EVTX file: {e}"))?;
        read_records(parser, fields, on_record, &mut on_error);
        Ok(())
    });
    warnings.into_errors().into_iter().for_each(&mut on_error);
    r
}

/// The crate skips a partial last chunk without a word: say so, as a
/// copy cut short is common in triage collections.
pub fn truncation(path: &Path) -> Option<String> {
    let len = std::fs::metadata(path).ok()?.len();
    if len <= HEADER_BLOCK || (len - HEADER_BLOCK).is_multiple_of(CHUNK) {
        return None;
    }
    let got = (len - HEADER_BLOCK) % CHUNK;
    Some(format!(
        "file truncated: the last chunk has {got} of {CHUNK} bytes, \
         its records were not read"
    ))
}

fn read_records<T: std::io::Read + std::io::Seek>(
    parser: EvtxParser<T>,
    fields: Fields<'_>,
    mut on_record: impl FnMut(EvtxRecord),
    mut on_error: impl FnMut(String),
) {
    let settings = ParserSettings::new().num_threads(1);
    let mut parser = parser.with_configuration(settings);
    let (keep, filter) = match fields {
        Fields::All => (None, None),
        Fields::Only(keep) => (Some(keep), None),
        Fields::Holding { fields, needles } => (
            Some(fields),
            needles::Needles::new(needles).map(needles::Filter::new),
        ),
    };
    // Each record rendered to JSON bytes (unless the filter says it holds
    // nothing the caller looks for), then flattened: the crate's
    // `records_json_value` builds a full `Value` per record first, which
    // made reading five times slower than `evtx_dump`.
    // The closure is cloned for each chunk: the filter's template cache
    // is per chunk, as template offsets are.
    let mut filter = filter;
    let records = parser.serialized_records(move |rec| {
        let rec = rec?;
        let (id, ts) = (rec.event_record_id, rec.timestamp);
        let json = match filter.as_mut().is_none_or(|f| f.may_hold(&rec)) {
            true => Some(rec.into_json_bytes()?.data),
            false => None,
        };
        Ok(Rendered { id, ts, json })
    });
    for rec in records {
        let r = match rec {
            Ok(r) => r,
            Err(e) => {
                on_error(format!("bad record: {e}"));
                continue;
            }
        };
        let flat = match (&r.json, keep) {
            (None, _) => Ok(Value::Object(Map::new())),
            (Some(json), None) => flatten_json(json),
            (Some(json), Some(keep)) => flatten_only(json, keep),
        };
        let value = match flat {
            Ok(v) => v,
            Err(e) => {
                on_error(format!("bad record {}: {e}", r.id));
                continue;
            }
        };
        on_record(EvtxRecord {
            record_id: r.id,
            timestamp: DateTime::from_timestamp(
                r.ts.as_second(),
                r.ts.subsec_nanosecond().max(0) as u32,
            ),
            value,
        });
    }
}

/// A record as read: its JSON, unless it was not worth rendering.
struct Rendered {
    id: u64,
    ts: evtx::Timestamp,
    json: Option<Vec<u8>>,
}

/// Flatten `Event.System` and `Event.EventData`/`UserData`.
pub fn flatten(data: &Value) -> Value {
    let mut out = Map::new();
    let event = data.get("Event").unwrap_or(data);
    if let Some(sys) = event.get("System") {
        let id = sys.get("EventID").map(|v| v.get("#text").unwrap_or(v));
        if let Some(id) = id.and_then(as_u64) {
            out.insert("EventID".into(), id.into());
        }
        let level = sys.get("Level").map(|v| v.get("#text").unwrap_or(v));
        if let Some(level) = level.and_then(as_u64) {
            out.insert("Level".into(), level.to_string().into());
        }
        if let Some(c) = sys.get("Channel").and_then(Value::as_str) {
            out.insert("Channel".into(), c.into());
        }
        let provider = sys.pointer("/Provider/#attributes/Name");
        if let Some(p) = provider.and_then(Value::as_str) {
            out.insert("SourceName".into(), p.into());
        }
    }
    let mut message = Vec::new();
    for key in ["EventData", "UserData"] {
        if let Some(d) = event.get(key) {
            collect(d, &mut out, &mut message);
        }
    }
    if !message.is_empty() {
        out.insert("Message".into(), message.join("\n").into());
    }
    Value::Object(out)
}

fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

fn collect(v: &Value, out: &mut Map<String, Value>, msg: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "#attributes" {
                    continue;
                }
                match v {
                    Value::Object(_) => collect(v, out, msg),
                    _ if k == "Data" || k == "#text" => push_text(v, msg),
                    _ => {
                        out.insert(k.clone(), text(v).into());
                    }
                }
            }
        }
        _ => push_text(v, msg),
    }
}

fn push_text(v: &Value, msg: &mut Vec<String>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| push_text(x, msg)),
        Value::Null => {}
        _ => msg.push(text(v)),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The fields `keep` of [`flatten_json`]: one pass over the text when it
/// can (see `pick`), else the tree, projected.
pub fn flatten_only(json: &[u8], keep: &[&str]) -> Result<Value, String> {
    if let Some(map) = pick::pick(json, keep) {
        return Ok(Value::Object(map));
    }
    flatten_json(json).map(|v| project(v, keep))
}

/// Only the fields `keep` of a flat record.
pub fn project(flat: Value, keep: &[&str]) -> Value {
    match flat {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| keep.contains(&k.as_str()))
                .collect(),
        ),
        other => other,
    }
}

/// [`flatten`] of a record given as JSON text, without building the
/// whole `Value` first.
pub fn flatten_json(json: &[u8]) -> Result<Value, String> {
    let data: J<'_> =
        serde_json::from_slice(json).map_err(|e| e.to_string())?;
    let mut out = Map::new();
    let event = data.get("Event").unwrap_or(&data);
    if let Some(sys) = event.get("System") {
        let field = |k: &str| sys.get(k).map(|v| v.get("#text").unwrap_or(v));
        if let Some(id) = field("EventID").and_then(j_u64) {
            out.insert("EventID".into(), id.into());
        }
        if let Some(level) = field("Level").and_then(j_u64) {
            out.insert("Level".into(), level.to_string().into());
        }
        if let Some(c) = sys.get("Channel").and_then(J::as_str) {
            out.insert("Channel".into(), c.into());
        }
        let provider = sys
            .get("Provider")
            .and_then(|p| p.get("#attributes"))
            .and_then(|a| a.get("Name"));
        if let Some(p) = provider.and_then(J::as_str) {
            out.insert("SourceName".into(), p.into());
        }
    }
    let mut message = Vec::new();
    for key in ["EventData", "UserData"] {
        if let Some(d) = event.get(key) {
            j_collect(d, &mut out, &mut message);
        }
    }
    if !message.is_empty() {
        out.insert("Message".into(), message.join("\n").into());
    }
    Ok(Value::Object(out))
}

fn j_u64(v: &J<'_>) -> Option<u64> {
    match v {
        J::Num(n) => n.as_u64(),
        J::Str(s) => s.parse().ok(),
        _ => None,
    }
}

fn j_collect(v: &J<'_>, out: &mut Map<String, Value>, msg: &mut Vec<String>) {
    match v {
        J::Obj(m) => {
            for (k, v) in m {
                if k == "#attributes" {
                    continue;
                }
                match v {
                    J::Obj(_) => j_collect(v, out, msg),
                    _ if k == "Data" || k == "#text" => j_push_text(v, msg),
                    _ => {
                        out.insert(k.to_string(), j_text(v).into());
                    }
                }
            }
        }
        _ => j_push_text(v, msg),
    }
}

fn j_push_text(v: &J<'_>, msg: &mut Vec<String>) {
    match v {
        J::Arr(a) => a.iter().for_each(|x| j_push_text(x, msg)),
        J::Null => {}
        _ => msg.push(j_text(v)),
    }
}

fn j_text(v: &J<'_>) -> String {
    match v {
        J::Str(s) => s.to_string(),
        other => other.to_value().to_string(),
    }
}

#[cfg(test)]
mod tests;
