//! Reading scan and hunt JSONL: each line is told apart by its `record`
//! field; a bad line is an item error naming file and line, the rest is
//! kept.

use std::io::BufRead;

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
    /// Lines that could not be used.
    pub errors: Vec<ItemError>,
}

/// Longest line accepted (a hunt report with many findings is large).
const MAX_LINE: usize = 64 << 20;

impl Records {
    /// Read every line of `reader`; `name` names the file in errors.
    pub fn read(&mut self, reader: impl BufRead, name: &str) {
        for (i, line) in reader.split(b'\n').enumerate() {
            let subject = format!("{name}:{}", i + 1);
            match line {
                Ok(bytes) => self.line(&bytes, &subject),
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

    fn line(&mut self, bytes: &[u8], subject: &str) {
        let bad = |msg: String| {
            ItemError::new(subject.to_string(), ItemErrorKind::Parse, msg)
        };
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        if text.len() > MAX_LINE {
            self.errors.push(bad("line too long".into()));
            return;
        }
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => return self.errors.push(bad(format!("not JSON: {e}"))),
        };
        let record =
            value.get("record").and_then(|r| r.as_str()).map(str::to_string);
        let result = match record.as_deref() {
            Some("scan") => {
                serde_json::from_value(value).map(|h| self.hosts.push(h))
            }
            Some("hunt") => {
                serde_json::from_value(value).map(|h| self.hunts.push(h))
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
}
