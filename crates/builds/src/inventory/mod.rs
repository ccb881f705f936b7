//! Organisation-wide inventories: `server,build` as CSV or JSON, and
//! plain lists of builds, read as streams.
//!
//! A CSV needs a header with `server` and `build` columns (any case, any
//! order, other columns ignored). JSON is an array of objects with
//! `server` and `build`, or one such object per line (JSON Lines). A bad
//! row is an error for that row only; a file without the needed columns
//! is an error for the whole file.
//!
//! Everything here reads from a [`BufRead`] and yields one row at a time
//! (memory does not grow with the number of rows), after [`decode`] has
//! turned UTF-16 into UTF-8 and [`sniff`] has told the shape from the
//! first non-blank line. This crate still opens no file: callers pass
//! readers.

use std::io::{BufRead, Cursor, Read};

use crate::error::BuildError;

mod csv;
mod decode;
mod json;
mod lines;

pub use self::csv::CsvRows;
pub use decode::{Decoded, Utf16Reader, decode};
pub use json::{JsonArray, JsonLines};
pub use lines::{ByteLine, ByteLines};

/// Longest row, line or JSON element kept, in bytes; longer ones are
/// skipped and reported (a build row is a few dozen bytes).
pub const MAX_ROW: usize = 64 * 1024;

/// One inventory row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryItem {
    /// Server name as given.
    pub server: String,
    /// Build string as given.
    pub build: String,
    /// 1-based line (CSV, JSON Lines) or element number (JSON array).
    pub line: u64,
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line or element number.
    pub line: u64,
    /// What was wrong.
    pub message: String,
    /// What kind of problem it was.
    pub kind: RowErrorKind,
}

/// Kinds of [`RowError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowErrorKind {
    /// Not a row of the expected shape (bad JSON, bad UTF-8, no build).
    Invalid,
    /// Longer than [`MAX_ROW`] bytes; its content was skipped.
    TooLong,
    /// Reading failed; no more rows follow.
    Io,
}

/// Each row, or why it could not be read.
pub type InventoryRow = Result<InventoryItem, RowError>;

/// What a text input is, told from its first non-blank line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Starts with `[`.
    JsonArray,
    /// Starts with `{`.
    JsonLines,
    /// A header line with a `build` column.
    Csv,
    /// Anything else: one build per line.
    List,
    /// NUL bytes: not text at all.
    Binary,
}

/// A decoded input with the lines [`sniff`] looked at put back in front.
pub type Text<R> = std::io::Chain<Cursor<Vec<u8>>, Decoded<R>>;

/// Whether text looks like an inventory rather than a list of builds.
pub fn looks_like_inventory(text: &str) -> bool {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty());
    first.is_some_and(|l| shape_of(l.as_bytes()) != Shape::List)
}

fn shape_of(line: &[u8]) -> Shape {
    let line = line.trim_ascii();
    if line.contains(&0) {
        return Shape::Binary;
    }
    match line.first() {
        Some(b'[') => Shape::JsonArray,
        Some(b'{') => Shape::JsonLines,
        _ => {
            let lower = String::from_utf8_lossy(line).to_ascii_lowercase();
            if lower.contains(',')
                && lower.split(',').any(|c| c.trim() == "build")
            {
                Shape::Csv
            } else {
                Shape::List
            }
        }
    }
}

/// Decode `reader` and tell its shape from the first non-blank line,
/// without consuming anything the row readers need.
pub fn sniff<R: BufRead>(reader: R) -> std::io::Result<(Shape, Text<R>)> {
    let mut text = decode(reader)?;
    let mut head = Vec::new();
    let mut shape = Shape::List;
    while head.len() <= MAX_ROW {
        let start = head.len();
        let n = (&mut text)
            .take((MAX_ROW + 1 - start) as u64)
            .read_until(b'\n', &mut head)?;
        let line = &head[start..];
        if n == 0 {
            break;
        }
        if !line.trim_ascii().is_empty() {
            shape = shape_of(line);
            break;
        }
    }
    Ok((shape, Cursor::new(head).chain(text)))
}

/// The rows of an inventory of the given shape (a `List` is read as CSV,
/// so a `.csv` file without its header says which columns are missing).
pub fn rows<R: BufRead>(shape: Shape, text: R) -> Result<Rows<R>, BuildError> {
    Ok(match shape {
        Shape::JsonArray => Rows::Array(JsonArray::new(text)),
        Shape::JsonLines => Rows::Lines(JsonLines::new(text)),
        Shape::Csv | Shape::List | Shape::Binary => {
            Rows::Csv(CsvRows::new(text)?)
        }
    })
}

/// The rows of an inventory, whatever its shape.
pub enum Rows<R> {
    /// A CSV file.
    Csv(CsvRows<R>),
    /// A JSON array.
    Array(JsonArray<R>),
    /// JSON Lines.
    Lines(JsonLines<R>),
}

impl<R: BufRead> Iterator for Rows<R> {
    type Item = InventoryRow;

    fn next(&mut self) -> Option<InventoryRow> {
        match self {
            Rows::Csv(r) => r.next(),
            Rows::Array(r) => r.next(),
            Rows::Lines(r) => r.next(),
        }
    }
}

/// Read a whole inventory held in memory (CSV or JSON, told apart by the
/// first character). Callers with files use [`sniff`] and [`rows`].
pub fn parse_inventory(text: &str) -> Result<Vec<InventoryRow>, BuildError> {
    let (shape, text) = sniff(text.as_bytes())
        .map_err(|e| BuildError::Inventory(e.to_string()))?;
    Ok(rows(shape, text)?.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_extra_columns_in_any_order() {
        let rows =
            parse_inventory("site,Build,Server\nparis,15.1.2176.9,ex01\n")
                .unwrap();
        assert_eq!(rows[0].as_ref().unwrap().server, "ex01");
        assert_eq!(rows[0].as_ref().unwrap().build, "15.1.2176.9");
    }

    #[test]
    fn csv_missing_columns_is_a_file_error() {
        assert!(parse_inventory("host,version\na,15.1.1.1\n").is_err());
    }

    #[test]
    fn bad_rows_are_row_errors() {
        let rows = parse_inventory("server,build\na,\nb,15.1.1.1\n").unwrap();
        assert!(rows[0].is_err());
        assert!(rows[1].is_ok());
    }

    #[test]
    fn json_array_and_lines() {
        let rows = parse_inventory(
            r#"[{"server":"a","build":"15.1.2176.9"},{"server":1}]"#,
        )
        .unwrap();
        assert!(rows[0].is_ok() && rows[1].is_err());
        let rows = parse_inventory(
            "{\"server\":\"a\",\"build\":\"15.2\"}\nnot json\n",
        )
        .unwrap();
        assert!(rows[0].is_ok() && rows[1].is_err());
        assert!(looks_like_inventory("server,build\n"));
        assert!(!looks_like_inventory("15.1.2176.9\n"));
    }

    /// Defect 6 (issue 14): a CRLF CSV gave line numbers one too low.
    #[test]
    fn crlf_csv_line_numbers_match_lf() {
        for eol in ["\n", "\r\n"] {
            let text =
                ["server,build", "a,15.1.2176.9", "", "b,bad"].join(eol);
            let rows = parse_inventory(&text).unwrap();
            let ok = rows[0].as_ref().unwrap();
            assert_eq!((ok.line, ok.build.as_str()), (2, "15.1.2176.9"));
            assert_eq!(rows[1].as_ref().unwrap().line, 4, "eol {eol:?}");
        }
    }

    /// Defect 6 (issue 14): one bad UTF-8 byte rejected the whole file.
    #[test]
    fn bad_utf8_fails_its_row_only() {
        let text = b"server,build\na\xff,15.1.2176.9\nb,15.2.792.10\n";
        let (shape, t) = sniff(&text[..]).unwrap();
        let rows: Vec<_> = rows(shape, t).unwrap().collect();
        let e = rows[0].as_ref().unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("not valid UTF-8"), "{e:?}");
        assert_eq!(rows[1].as_ref().unwrap().server, "b");
    }

    /// Defect 6 (issue 14): a UTF-16 CSV (PowerShell's default) was
    /// rejected whole.
    #[test]
    fn utf16_csv_is_read() {
        let mut bytes = vec![0xFF, 0xFE];
        let text = "Server,Build\r\nex1,15.1.2176.9\r\n";
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let (shape, t) = sniff(&bytes[..]).unwrap();
        assert_eq!(shape, Shape::Csv);
        let rows: Vec<_> = rows(shape, t).unwrap().collect();
        let r = rows[0].as_ref().unwrap();
        assert_eq!(
            (r.server.as_str(), r.build.as_str(), r.line),
            ("ex1", "15.1.2176.9", 2)
        );
    }

    /// Defect 2 (issue 14): JSON arrays are read element by element; an
    /// oversized element is an error of its own and the next still reads.
    #[test]
    fn json_array_streams_and_bounds_elements() {
        let big = "x".repeat(MAX_ROW + 1);
        let text = format!(
            "[ {{\"server\":\"a\",\"build\":\"15.1\",\"n\":[1,{{\"k\":\"],\\\"\"}}]}},\n\
             {{\"server\":\"{big}\",\"build\":\"15.2\"}} ,\
             {{\"server\":\"c\",\"build\":\"15.0\"}}]"
        );
        let rows = parse_inventory(&text).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].as_ref().unwrap().build, "15.1");
        assert_eq!(rows[1].as_ref().unwrap_err().kind, RowErrorKind::TooLong);
        assert_eq!(rows[2].as_ref().unwrap().line, 3);
        assert!(parse_inventory("[]").unwrap().is_empty());
        let cut =
            parse_inventory("[{\"server\":\"a\",\"build\":\"1\"}, {").unwrap();
        assert!(cut[0].is_ok() && cut[1].is_err());
    }

    proptest::proptest! {
        /// What fuzz/fuzz_targets/inventory_stream.rs runs under
        /// libFuzzer: no input panics the stream readers, and every
        /// row's number stays within the input's reach.
        #[test]
        fn any_bytes_stream_without_panic(data in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::prelude::any::<u8>(),
                proptest::sample::select(b"[]{},\"\\\n\r server build 15.1".to_vec()),
            ],
            0..300,
        )) {
            let reader = std::io::BufReader::with_capacity(7, &data[..]);
            let (shape, text) = sniff(reader).unwrap();
            let limit = data.len() as u64 + 2;
            if shape == Shape::List {
                for line in ByteLines::new(text) {
                    proptest::prop_assert!(line.unwrap().number <= limit);
                }
            } else if let Ok(rows) = rows(shape, text) {
                for row in rows {
                    let line = match row {
                        Ok(r) => r.line,
                        Err(e) => e.line,
                    };
                    proptest::prop_assert!(line <= limit);
                }
            }
        }
    }
}
