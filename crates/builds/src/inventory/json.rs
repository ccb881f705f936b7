//! JSON inventories: an array of `{"server":..,"build":..}` objects, read
//! one element at a time (a million-row export is never held whole), or
//! JSON Lines.
//!
//! The array is split by a small scanner that tracks strings and nesting
//! only; each element is then parsed alone by serde_json. An element
//! longer than [`MAX_ROW`] bytes is skipped as an error of its own. A
//! syntax error between elements ends the array with an error row: after
//! it nothing can be trusted to line up.

use std::io::BufRead;

use super::lines::ByteLines;
use super::{InventoryItem, InventoryRow, MAX_ROW, RowError, RowErrorKind};

/// Rows of a JSON array inventory.
pub struct JsonArray<R> {
    inner: R,
    /// 1-based number of the next element.
    index: u64,
    state: State,
    /// An error found after the element just returned.
    pending: Option<RowError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Elements,
    Done,
}

/// One element's bytes as scanned.
struct Element {
    bytes: Vec<u8>,
    too_long: bool,
}

impl<R: BufRead> JsonArray<R> {
    /// Read the array from `inner` (positioned at or before its `[`).
    pub fn new(inner: R) -> Self {
        JsonArray { inner, index: 1, state: State::Start, pending: None }
    }

    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        loop {
            let chunk = self.inner.fill_buf()?;
            match chunk.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    let b = chunk[i];
                    self.inner.consume(i);
                    return Ok(Some(b));
                }
                None if chunk.is_empty() => return Ok(None),
                None => {
                    let n = chunk.len();
                    self.inner.consume(n);
                }
            }
        }
    }

    /// Scan one element up to (not including) the `,` or `]` after it.
    fn scan(&mut self) -> std::io::Result<Option<Element>> {
        let mut el = Element { bytes: Vec::new(), too_long: false };
        let (mut depth, mut in_string, mut escape) = (0usize, false, false);
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                return Ok(None);
            }
            let mut end = None;
            for (i, &b) in chunk.iter().enumerate() {
                if in_string {
                    if escape {
                        escape = false;
                    } else if b == b'\\' {
                        escape = true;
                    } else if b == b'"' {
                        in_string = false;
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b']' | b',' if depth == 0 => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let take = end.unwrap_or(chunk.len());
            if !el.too_long {
                if el.bytes.len() + take > MAX_ROW {
                    el.too_long = true;
                    el.bytes = Vec::new();
                } else {
                    el.bytes.extend_from_slice(&chunk[..take]);
                }
            }
            self.inner.consume(take);
            if end.is_some() {
                return Ok(Some(el));
            }
        }
    }

    fn fail(&mut self, kind: RowErrorKind, message: String) -> RowError {
        self.state = State::Done;
        RowError { line: self.index, message, kind }
    }

    fn step(&mut self) -> Option<InventoryRow> {
        if self.state == State::Start {
            match self.peek() {
                Ok(Some(b'[')) => self.inner.consume(1),
                Ok(_) => {
                    let m = "expected a JSON array".to_string();
                    return Some(Err(self.fail(RowErrorKind::Invalid, m)));
                }
                Err(e) => return Some(Err(self.io(e))),
            }
            match self.peek() {
                Ok(Some(b']')) => {
                    self.state = State::Done;
                    return None;
                }
                Ok(_) => self.state = State::Elements,
                Err(e) => return Some(Err(self.io(e))),
            }
        }
        let el = match self.scan() {
            Ok(Some(el)) => el,
            Ok(None) => {
                let m = "bad JSON: the array ends without `]`".to_string();
                return Some(Err(self.fail(RowErrorKind::Invalid, m)));
            }
            Err(e) => return Some(Err(self.io(e))),
        };
        let line = self.index;
        self.index += 1;
        match self.peek() {
            Ok(Some(b',')) => self.inner.consume(1),
            Ok(Some(b']')) => {
                self.inner.consume(1);
                self.state = State::Done;
            }
            // `scan` stops only before `,` or `]`: nothing else is next.
            Ok(_) => {}
            Err(e) => self.pending = Some(self.io(e)),
        }
        Some(element_row(&el, line))
    }

    fn io(&mut self, e: std::io::Error) -> RowError {
        self.fail(RowErrorKind::Io, format!("read error: {e}"))
    }
}

fn element_row(el: &Element, line: u64) -> InventoryRow {
    if el.too_long {
        return Err(RowError {
            line,
            message: format!("element longer than {MAX_ROW} bytes, skipped"),
            kind: RowErrorKind::TooLong,
        });
    }
    match serde_json::from_slice::<serde_json::Value>(&el.bytes) {
        Ok(v) => json_item(&v, line),
        Err(e) => Err(RowError {
            line,
            message: format!("bad JSON: {e}"),
            kind: RowErrorKind::Invalid,
        }),
    }
}

impl<R: BufRead> Iterator for JsonArray<R> {
    type Item = InventoryRow;

    fn next(&mut self) -> Option<InventoryRow> {
        if let Some(e) = self.pending.take() {
            return Some(Err(e));
        }
        if self.state == State::Done {
            return None;
        }
        self.step()
    }
}

/// Rows of a JSON Lines inventory (blank lines skipped).
pub struct JsonLines<R> {
    lines: ByteLines<R>,
}

impl<R: BufRead> JsonLines<R> {
    /// Read JSON Lines from `inner`.
    pub fn new(inner: R) -> Self {
        JsonLines { lines: ByteLines::new(inner) }
    }
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = InventoryRow;

    fn next(&mut self) -> Option<InventoryRow> {
        loop {
            let line = match self.lines.next()? {
                Ok(l) => l,
                Err(e) => {
                    return Some(Err(RowError {
                        line: 0,
                        message: format!("read error: {e}"),
                        kind: RowErrorKind::Io,
                    }));
                }
            };
            if !line.too_long && line.bytes.trim_ascii().is_empty() {
                continue;
            }
            let el = Element { bytes: line.bytes, too_long: line.too_long };
            return Some(element_row(&el, line.number));
        }
    }
}

/// One row from a parsed JSON value.
pub(super) fn json_item(v: &serde_json::Value, line: u64) -> InventoryRow {
    let field = |k: &str| v.get(k).and_then(|x| x.as_str());
    match (field("server"), field("build")) {
        (Some(server), Some(build)) => Ok(InventoryItem {
            server: server.to_string(),
            build: build.to_string(),
            line,
        }),
        _ => Err(RowError {
            line,
            message: "expected an object with string `server` and `build`"
                .to_string(),
            kind: RowErrorKind::Invalid,
        }),
    }
}
