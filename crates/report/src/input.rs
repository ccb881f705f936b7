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
