//! Reading scan, hunt and server-health JSONL: each line is told apart by
//! its `record` field (`vigie check --host` lines by `"type":"server"`);
//! a bad line is an item error naming file and line, the rest is kept.
//! A pretty-printed JSON document (`vigie check --host --format json`,
//! whose first line is a lone `{`) is read whole, up to the same size
//! limit as one line.

use std::io::BufRead;

use vigie_model::health::HealthRecord;
use vigie_model::hunt::HuntReport;
use vigie_model::scan::HostResult;
use vigie_model::{ItemError, ItemErrorKind};

/// Everything read from one or more JSONL files.
#[derive(Debug, Default)]
pub struct Records {
    /// Scan lines.
    pub hosts: Vec<HostResult>,
    /// Hunt lines.
    pub hunts: Vec<HuntReport>,
    /// Server health records (`vigie check --host`).
    pub health: Vec<HealthRecord>,
    /// Lines that could not be used.
    pub errors: Vec<ItemError>,
}

/// Longest line accepted (a hunt report with many findings is large).
const MAX_LINE: usize = 64 << 20;

impl Records {
    /// Read every line of `reader`; `name` names the file in errors.
    /// A line longer than [`MAX_LINE`] is skipped as it streams by, never
    /// held whole.
    pub fn read(&mut self, mut reader: impl BufRead, name: &str) {
        let mut number = 0u64;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            number += 1;
            let subject = format!("{name}:{number}");
            match read_capped(&mut reader, &mut buf) {
                Ok(Capped::End) => return,
                Ok(Capped::Line)
                    if number == 1 && buf.trim_ascii() == b"{" =>
                {
                    return self.document(reader, name);
                }
                Ok(Capped::Line) => self.line(&buf, &subject),
                Ok(Capped::TooLong) => self.errors.push(ItemError::new(
                    subject,
                    ItemErrorKind::Limit,
                    format!("line longer than {MAX_LINE} bytes, skipped"),
                )),
                Err(e) => {
                    self.errors.push(ItemError::new(
                        subject,
                        ItemErrorKind::Io,
                        e.to_string(),
                    ));
                    return;
                }
            }
        }
    }

    /// The rest of a pretty-printed JSON document whose first line was a
    /// lone `{`: `vigie check --host --format json` (its `servers` and
    /// `errors`), or any one record.
    fn document(&mut self, reader: impl BufRead, name: &str) {
        use std::io::Read;
        let mut text = b"{".to_vec();
        let limit = MAX_LINE as u64 + 1;
        if let Err(e) = reader.take(limit).read_to_end(&mut text) {
            let e = ItemError::new(name, ItemErrorKind::Io, e.to_string());
            return self.errors.push(e);
        }
        if text.len() > MAX_LINE {
            return self.errors.push(ItemError::new(
                name,
                ItemErrorKind::Limit,
                format!("JSON document longer than {MAX_LINE} bytes, skipped"),
            ));
        }
        let bad =
            |msg: String| ItemError::new(name, ItemErrorKind::Parse, msg);
        let value: serde_json::Value = match serde_json::from_slice(&text) {
            Ok(v) => v,
            Err(e) => return self.errors.push(bad(format!("not JSON: {e}"))),
        };
        let Some(servers) = value.get("servers") else {
            return self.value(value, name);
        };
        match serde_json::from_value::<Vec<HealthRecord>>(servers.clone()) {
            Ok(list) => self.health.extend(list),
            Err(e) => self.errors.push(bad(format!("bad servers list: {e}"))),
        }
        if let Some(errors) = value.get("errors") {
            match serde_json::from_value::<Vec<ItemError>>(errors.clone()) {
                Ok(list) => self.errors.extend(list),
                Err(e) => {
                    self.errors.push(bad(format!("bad errors list: {e}")))
                }
            }
        }
    }

    fn line(&mut self, bytes: &[u8], subject: &str) {
        let bad = |msg: String| {
            ItemError::new(subject.to_string(), ItemErrorKind::Parse, msg)
        };
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => return self.errors.push(bad(format!("not JSON: {e}"))),
        };
        self.value(value, subject);
    }

    /// One JSON record, told apart by its `record` field, or by `type`
    /// for `vigie check --host` lines written before they carried one.
    fn value(&mut self, value: serde_json::Value, subject: &str) {
        let bad = |msg: String| {
            ItemError::new(subject.to_string(), ItemErrorKind::Parse, msg)
        };
        let kind = |field: &str| {
            value.get(field).and_then(|r| r.as_str()).map(str::to_string)
        };
        let record = match (kind("record"), kind("type").as_deref()) {
            (Some(r), _) => Some(r),
            (None, Some("server")) => Some("health".to_string()),
            (None, Some("error")) => Some("error".to_string()),
            (None, _) => None,
        };
        let result = match record.as_deref() {
            Some("scan") => {
                serde_json::from_value(value).map(|h| self.hosts.push(h))
            }
            Some("hunt") => {
                serde_json::from_value(value).map(|h| self.hunts.push(h))
            }
            Some("health") => {
                serde_json::from_value(value).map(|h| self.health.push(h))
            }
            Some("error") => {
                serde_json::from_value(value).map(|e| self.errors.push(e))
            }
            Some(other) => {
                let other = vigie_model::terminal_safe(other);
                return self
                    .errors
                    .push(bad(format!("unknown record kind {other:?}")));
            }
            None => {
                return self.errors.push(bad("no \"record\" field".into()));
            }
        };
        if let Err(e) = result {
            self.errors.push(bad(format!(
                "bad {} line: {e}",
                record.unwrap_or_default()
            )));
        }
    }
}

/// What [`read_capped`] found.
#[derive(Debug, PartialEq, Eq)]
enum Capped {
    /// A line (possibly the last, without a newline) is in the buffer.
    Line,
    /// A line over [`MAX_LINE`] bytes went by; the buffer is empty.
    TooLong,
    /// No more input.
    End,
}

/// Read one line into `buf` (newline dropped), keeping at most
/// [`MAX_LINE`] bytes: the rest of a longer line is consumed chunk by
/// chunk and dropped.
fn read_capped(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
) -> std::io::Result<Capped> {
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(match (any, too_long) {
                (false, _) => Capped::End,
                (true, true) => Capped::TooLong,
                (true, false) => Capped::Line,
            });
        }
        any = true;
        let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let body = if end { take - 1 } else { take };
        if !too_long && buf.len() + body > MAX_LINE {
            too_long = true;
            *buf = Vec::new();
        }
        if !too_long {
            buf.extend_from_slice(&chunk[..body]);
        }
        reader.consume(take);
        if end {
            return Ok(if too_long { Capped::TooLong } else { Capped::Line });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_errors_and_blank_lines_are_skipped() {
        let mut r = Records::default();
        r.read(
            &b"\n{\"record\":\"hunt\"}\n\xff\xfe\n[1]\n{\"record\":7}\n"[..],
            "f",
        );
        let subjects: Vec<&str> =
            r.errors.iter().map(|e| e.subject.as_str()).collect();
        assert_eq!(subjects, ["f:2", "f:3", "f:4", "f:5"]);
        assert!(r.errors[0].message.starts_with("bad hunt line"));
        assert!(r.hosts.is_empty() && r.hunts.is_empty());
    }

    /// Issue 10: `vigie check --host` output is report input, both its
    /// pretty JSON document (servers and errors) and its JSONL lines
    /// (with or without the `record` field).
    #[test]
    fn check_host_json_document_and_lines_are_health_records() {
        let server = r#"{"server":"EXCH01","root":"/c","judgements":[{"id":"ep","group":"security_configuration","status":"fail","summary":"s","evidence":[],"why":"w","reference":"r"}],"cves":[],"errors":[]}"#;
        let doc = format!(
            "{{\n  \"schema_version\": 1,\n  \"servers\": [{server}],\n  \"errors\": [{{\"subject\":\"/x\",\"kind\":\"io\",\"message\":\"no such file or folder\"}}]\n}}\n"
        );
        let mut r = Records::default();
        r.read(doc.as_bytes(), "doc.json");
        assert_eq!(r.health.len(), 1);
        assert_eq!(r.health[0].server, "EXCH01");
        assert!(r.health[0].needs_action());
        assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
        let line = server.replacen('{', r#"{"type":"server","#, 1);
        let tagged = server.replacen('{', r#"{"record":"health","#, 1);
        let mut r = Records::default();
        r.read(format!("{line}\n{tagged}\n").as_bytes(), "h.jsonl");
        assert_eq!((r.health.len(), r.errors.len()), (2, 0), "{:?}", r.errors);
        let mut r = Records::default();
        r.read(&b"{\n  \"servers\": 7\n}\n"[..], "bad.json");
        assert!(r.errors[0].message.starts_with("bad servers list"));
    }

    /// Defect 7 (issue 14): an over-long line was read whole before it
    /// was rejected; now at most MAX_LINE bytes of it are ever held, the
    /// rest streams by, and the next line is read as usual.
    #[test]
    fn over_long_line_is_skipped_without_holding_it() {
        use std::io::Read;
        let stream = || {
            let long = std::io::repeat(b'x').take(2 * MAX_LINE as u64);
            std::io::BufReader::new(long.chain(&b"\n{\"record\":7}\n"[..]))
        };
        let mut reader = stream();
        let mut buf = Vec::new();
        let got = read_capped(&mut reader, &mut buf).unwrap();
        assert_eq!(got, Capped::TooLong);
        assert_eq!(buf.capacity(), 0, "the long line was let go");
        let mut r = Records::default();
        r.read(stream(), "f");
        assert_eq!(r.errors[0].subject, "f:1");
        assert_eq!(r.errors[0].kind, ItemErrorKind::Limit);
        assert_eq!(r.errors[1].subject, "f:2");
    }
}
