//! CSV inventories, streamed record by record.
//!
//! Records are assembled from the capped line reader, so line numbers
//! are physical lines whatever the line ending (the csv crate's own count
//! runs one short after CRLF endings and after blank lines), and a record
//! longer than [`MAX_ROW`] is skipped as an error without being held.
//! Fields are bytes until used, so one bad UTF-8 byte fails its own row
//! only. Quoting is RFC 4180: `"a ""b"", c"` is one field, and a quoted
//! field may span lines.

use std::io::BufRead;

use super::lines::{ByteLine, ByteLines};
use super::{InventoryItem, InventoryRow, MAX_ROW, RowError, RowErrorKind};
use crate::error::BuildError;

/// Rows of a CSV inventory.
pub struct CsvRows<R> {
    lines: ByteLines<R>,
    server: usize,
    build: usize,
}

/// One record: its first line's number and its fields.
struct Record {
    line: u64,
    fields: Vec<Vec<u8>>,
}

impl<R: BufRead> CsvRows<R> {
    /// Read the header; fails when it has no `server` and `build`
    /// columns.
    pub fn new(inner: R) -> Result<Self, BuildError> {
        let mut lines = ByteLines::new(inner);
        let header = match next_record(&mut lines) {
            None => Vec::new(),
            Some(Ok(r)) => r.fields,
            Some(Err(e)) => {
                return Err(BuildError::Inventory(format!(
                    "bad CSV header: {}",
                    e.message
                )));
            }
        };
        let col = |name: &str| {
            header.iter().position(|h| h.eq_ignore_ascii_case(name.as_bytes()))
        };
        let (Some(server), Some(build)) = (col("server"), col("build")) else {
            return Err(BuildError::Inventory(
                "CSV inventory needs a header with `server` and `build` columns"
                    .to_string(),
            ));
        };
        Ok(CsvRows { lines, server, build })
    }
}

/// The next non-blank record, or why it could not be read.
fn next_record<R: BufRead>(
    lines: &mut ByteLines<R>,
) -> Option<Result<Record, RowError>> {
    let first = loop {
        match lines.next()? {
            Err(e) => return Some(Err(io_error(0, &e))),
            Ok(l) if !l.too_long && l.bytes.trim_ascii().is_empty() => {}
            Ok(l) => break l,
        }
    };
    let ByteLine { number: line, bytes: mut text, mut too_long } = first;
    // A quoted field left open goes on on the next line; a line too
    // long to hold ends the record (the next line starts afresh).
    while !too_long && Split::new(&text).ends_open() {
        match lines.next() {
            None => break,
            Some(Err(e)) => return Some(Err(io_error(line, &e))),
            Some(Ok(l))
                if l.too_long || text.len() + l.bytes.len() >= MAX_ROW =>
            {
                too_long = true;
            }
            Some(Ok(l)) => {
                text.push(b'\n');
                text.extend_from_slice(&l.bytes);
            }
        }
    }
    if too_long {
        return Some(Err(RowError {
            line,
            message: format!("record longer than {MAX_ROW} bytes, skipped"),
            kind: RowErrorKind::TooLong,
        }));
    }
    Some(Ok(Record { line, fields: Split::new(&text).fields() }))
}

fn io_error(line: u64, e: &std::io::Error) -> RowError {
    RowError {
        line,
        message: format!("read error: {e}"),
        kind: RowErrorKind::Io,
    }
}

/// RFC 4180 field splitting (fields trimmed of surrounding spaces; a
/// quote inside an unquoted field is kept as a character, as the csv
/// crate does).
struct Split<'a> {
    text: &'a [u8],
    in_quotes: bool,
}

impl<'a> Split<'a> {
    fn new(text: &'a [u8]) -> Self {
        Split { text, in_quotes: false }
    }

    /// Whether the text ends inside a quoted field.
    fn ends_open(mut self) -> bool {
        self.run(|_| {});
        self.in_quotes
    }

    fn fields(mut self) -> Vec<Vec<u8>> {
        let mut fields = Vec::new();
        self.run(|f| fields.push(f));
        fields
    }

    fn run(&mut self, mut emit: impl FnMut(Vec<u8>)) {
        let mut field = Vec::new();
        let mut quoted = false;
        let mut i = 0;
        while i < self.text.len() {
            let b = self.text[i];
            if self.in_quotes {
                if b != b'"' {
                    field.push(b);
                } else if self.text.get(i + 1) == Some(&b'"') {
                    field.push(b'"');
                    i += 1;
                } else {
                    self.in_quotes = false;
                }
            } else if b == b'"' && !quoted && field.trim_ascii().is_empty() {
                field.clear();
                self.in_quotes = true;
                quoted = true;
            } else if b == b',' {
                emit(std::mem::take(&mut field).trim_ascii().to_vec());
                quoted = false;
            } else {
                field.push(b);
            }
            i += 1;
        }
        emit(field.trim_ascii().to_vec());
    }
}

impl<R: BufRead> Iterator for CsvRows<R> {
    type Item = InventoryRow;

    fn next(&mut self) -> Option<InventoryRow> {
        let record = match next_record(&mut self.lines)? {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        let line = record.line;
        let text = |i: usize, name: &str| match record.fields.get(i) {
            None => Ok(None),
            Some(b) => {
                std::str::from_utf8(b).map(Some).map_err(|e| RowError {
                    line,
                    message: format!(
                        "the {name} column is not valid UTF-8 (bad byte at \
                     offset {})",
                        e.valid_up_to()
                    ),
                    kind: RowErrorKind::Invalid,
                })
            }
        };
        let row =
            match (text(self.server, "server"), text(self.build, "build")) {
                (Err(e), _) | (_, Err(e)) => Err(e),
                (Ok(Some(s)), Ok(Some(b))) if !b.is_empty() => {
                    Ok(InventoryItem {
                        server: s.to_string(),
                        build: b.to_string(),
                        line,
                    })
                }
                _ => Err(RowError {
                    line,
                    message: "missing build column value".to_string(),
                    kind: RowErrorKind::Invalid,
                }),
            };
        Some(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<String> {
        Split::new(text.as_bytes())
            .fields()
            .into_iter()
            .map(|f| String::from_utf8(f).unwrap())
            .collect()
    }

    #[test]
    fn rfc4180_fields() {
        assert_eq!(
            fields(" a , \"b,\"\"c\"\"\" ,d\"e"),
            ["a", "b,\"c\"", "d\"e"]
        );
        assert_eq!(fields(""), [""]);
        assert!(Split::new(b"a,\"b\nc").ends_open());
        assert!(!Split::new(b"a,b\"c").ends_open());
    }

    #[test]
    fn quoted_field_spans_lines_and_keeps_its_first_line() {
        let text = "server,build,note\n\"ex1\",15.1.2176.9,\"two\nlines\"\nex2,15.2.792.10,x\n";
        let rows: Vec<_> = CsvRows::new(text.as_bytes()).unwrap().collect();
        assert_eq!(rows[0].as_ref().unwrap().line, 2);
        let second = rows[1].as_ref().unwrap();
        assert_eq!((second.server.as_str(), second.line), ("ex2", 4));
    }
}
