//! JSON event exports, in either shape tools write them: JSON Lines (one
//! event per line, as `jq -c`, Velociraptor or Hayabusa write) or one
//! JSON array (`Get-WinEvent | ConvertTo-Json`, one line or pretty).
//!
//! The shape is taken from the first byte that is not white space (a
//! UTF-8 BOM skipped): `[` is an array, read element by element with a
//! streaming deserialiser, so a large export never sits in memory whole;
//! anything else is read line by line with the capped [`LineReader`]. A
//! line that is not JSON is an error and reading goes on; a broken array
//! stops at the break (JSON cannot be resynchronised inside an array),
//! and says how far it got.

use std::cell::Cell;
use std::fmt;
use std::io::{BufRead, BufReader, Read};

use serde::Deserializer as _;
use serde::de::{SeqAccess, Visitor};
use serde_json::Value;

use crate::{LineEvent, LineReader};

/// Where an event was in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 1-based line of a JSON Lines file.
    Line(u64),
    /// 1-based index of an element of a JSON array.
    Element(u64),
}

/// What reading gave, besides the events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events handed over.
    pub events: u64,
    /// Whether the file was a JSON array.
    pub array: bool,
}

/// A problem met while reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Line `n` is longer than [`crate::MAX_LINE`] and was skipped.
    TooLong(u64),
    /// Anything else, as a sentence (bad line, non-object element,
    /// broken array, I/O error).
    Bad(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::TooLong(n) => {
                write!(f, "line {n} longer than the line cap, skipped")
            }
            Problem::Bad(s) => f.write_str(s),
        }
    }
}

/// Read every event (a JSON object) of `reader`; `on_problem` gets one
/// call per problem.
pub fn read_events<R: Read>(
    reader: R,
    mut on_event: impl FnMut(Position, Value),
    mut on_problem: impl FnMut(Problem),
) -> Summary {
    let mut buf = BufReader::with_capacity(1 << 16, reader);
    let (first, newlines) = match skip_space(&mut buf) {
        Ok(v) => v,
        Err(e) => {
            on_problem(Problem::Bad(format!("read error: {e}")));
            return Summary::default();
        }
    };
    if first == Some(b'[') {
        let mut on_error = |s: String| on_problem(Problem::Bad(s));
        let n = read_array(buf, &mut on_event, &mut on_error);
        return Summary { events: n, array: true };
    }
    let mut events = 0;
    for ev in LineReader::new(buf) {
        match ev {
            LineEvent::Line(l) => {
                let number = l.number + newlines;
                let t = l.text.trim().trim_end_matches(',');
                if t.is_empty() || t == "[" || t == "]" {
                    continue;
                }
                match serde_json::from_str::<Value>(t) {
                    Ok(v @ Value::Object(_)) => {
                        events += 1;
                        on_event(Position::Line(number), v);
                    }
                    Ok(_) => on_problem(Problem::Bad(format!(
                        "line {number}: JSON but not an event (an object)"
                    ))),
                    Err(_) => on_problem(Problem::Bad(format!(
                        "line {number}: not a JSON event"
                    ))),
                }
            }
            LineEvent::TooLong(n) => {
                on_problem(Problem::TooLong(n + newlines))
            }
            LineEvent::Error(e) => {
                on_problem(Problem::Bad(format!("read error: {e}")))
            }
        }
    }
    Summary { events, array: false }
}

/// Consume white space and a UTF-8 BOM; the next byte (not consumed)
/// and the line breaks passed.
fn skip_space<R: BufRead>(r: &mut R) -> std::io::Result<(Option<u8>, u64)> {
    let mut newlines = 0;
    let mut at_start = true;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok((None, newlines));
        }
        if at_start && buf.starts_with(b"\xEF\xBB\xBF") {
            r.consume(3);
            at_start = false;
            continue;
        }
        at_start = false;
        let n = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        newlines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        let next = buf.get(n).copied();
        r.consume(n);
        if next.is_some() {
            return Ok((next, newlines));
        }
    }
}

fn read_array<R: Read>(
    r: R,
    on_event: &mut dyn FnMut(Position, Value),
    on_error: &mut dyn FnMut(String),
) -> u64 {
    let used = Cell::new(0);
    let r = ElementCap { inner: r, used: &used, cap: crate::MAX_LINE as u64 };
    let mut de = serde_json::Deserializer::from_reader(r);
    let mut count = 0u64;
    let v = Elements {
        on_event,
        on_error: &mut *on_error,
        count: &mut count,
        used: &used,
    };
    if let Err(e) = (&mut de).deserialize_seq(v) {
        on_error(format!(
            "JSON array broken after element {count}: {e}; the rest was \
             not read"
        ));
    }
    count
}

/// Passes bytes to the deserialiser, failing once one element has taken
/// more than `cap` of them: an array element is held whole as a value, so
/// a giant one (an attacker's, or a broken export) must stop the read, not
/// exhaust memory. As with JSON Lines, [`crate::MAX_LINE`] is the bound.
struct ElementCap<'a, R> {
    inner: R,
    /// Bytes read since the last element ended (reset by [`Elements`]).
    used: &'a Cell<u64>,
    cap: u64,
}

impl<R: Read> Read for ElementCap<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.used.get() > self.cap {
            return Err(std::io::Error::other(format!(
                "an element longer than {} bytes",
                self.cap
            )));
        }
        let n = self.inner.read(buf)?;
        self.used.set(self.used.get() + n as u64);
        Ok(n)
    }
}

struct Elements<'a> {
    on_event: &'a mut dyn FnMut(Position, Value),
    on_error: &'a mut dyn FnMut(String),
    count: &'a mut u64,
    used: &'a Cell<u64>,
}

impl<'de> Visitor<'de> for Elements<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0u64;
        while let Some(v) = seq.next_element::<Value>()? {
            self.used.set(0);
            index += 1;
            if v.is_object() {
                *self.count += 1;
                (self.on_event)(Position::Element(index), v);
            } else {
                (self.on_error)(format!(
                    "element {index}: JSON but not an event (an object)"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(data: &str) -> (Vec<(Position, String)>, Vec<String>, Summary) {
        let mut ev = Vec::new();
        let mut err = Vec::new();
        let s = read_events(
            data.as_bytes(),
            |p, v| ev.push((p, v["EventID"].to_string())),
            |e| err.push(e.to_string()),
        );
        (ev, err, s)
    }

    #[test]
    fn arrays_and_lines_give_the_same_events() {
        let lines = "{\"EventID\":1}\n\n{\"EventID\":2}\nnope\n[1]\n";
        let (ev, err, s) = read(lines);
        assert_eq!(
            ev,
            [(Position::Line(1), "1".into()), (Position::Line(3), "2".into())]
        );
        assert_eq!(err.len(), 2, "{err:?}");
        assert!(!s.array);
        for array in [
            "[{\"EventID\":1},{\"EventID\":2}]",
            "\u{FEFF}\r\n[\r\n  {\r\n    \"EventID\": 1\r\n  },\r\n  {\"EventID\": 2}\r\n]\r\n",
        ] {
            let (ev, err, s) = read(array);
            assert!(s.array);
            assert_eq!(s.events, 2);
            assert!(err.is_empty(), "{err:?}");
            assert_eq!(ev[1], (Position::Element(2), "2".into()));
        }
        // A broken array says where it stopped.
        let (ev, err, _) = read("[{\"EventID\":1}, 7, {\"EventID\":");
        assert_eq!(ev.len(), 1);
        assert!(err[0].contains("element 2"), "{err:?}");
        assert!(err[1].contains("broken after element 1"), "{err:?}");
        // A giant element stops the read with a named error instead of
        // being held whole (issue: JSON array elements had no size cap).
        let big = format!(
            "[{{\"EventID\":1}},{{\"EventID\":2,\"Pad\":\"{}\"}},{{\"EventID\":3}}]",
            "x".repeat(crate::MAX_LINE + 10)
        );
        let (ev, err, _) = read(&big);
        assert_eq!(ev.len(), 1, "{err:?}");
        assert!(err[0].contains("longer than"), "{err:?}");
        // Elements just under the cap, many of them, all read.
        let pad = "y".repeat(crate::MAX_LINE / 2);
        let many = format!(
            "[{}]",
            vec![format!("{{\"EventID\":4,\"P\":\"{pad}\"}}"); 5].join(",")
        );
        assert_eq!(read(&many).2.events, 5);
        // Leading blank lines keep line numbers true.
        let (ev, _, _) = read("\n\n{\"EventID\":3}\n");
        assert_eq!(ev[0].0, Position::Line(3));
        assert_eq!(read("").2.events, 0);
    }
}
