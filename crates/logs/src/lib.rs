//! Streaming readers for Exchange CSV logs, IIS W3C logs, EVTX and JSON
//! event exports.
//!
//! Readers never hold more than one (capped) line in memory, so a corrupt
//! multi-gigabyte line costs a recorded error, not the process.

#![deny(missing_docs)]

use std::io::BufRead;

pub mod blocks;
pub mod diag;
pub mod encoding;
pub mod evtx;
pub mod json;
pub mod range;

/// Longest line kept (line ending included); longer lines are skipped
/// and reported.
pub const MAX_LINE: usize = 1 << 20;

/// One line read from a log, with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number.
    pub number: u64,
    /// The text (lossy UTF-8, no line ending, BOM removed).
    pub text: String,
}

/// What reading the next line gave.
#[derive(Debug)]
pub enum LineEvent {
    /// A line within the cap.
    Line(Line),
    /// A line longer than [`MAX_LINE`]; its content was skipped.
    TooLong(u64),
    /// An I/O error; reading stops.
    Error(std::io::Error),
}

/// Reads lines with a length cap, never buffering a whole long line.
pub struct LineReader<R> {
    inner: R,
    number: u64,
    buf: Vec<u8>,
    done: bool,
    cap: usize,
}

impl<R: BufRead> LineReader<R> {
    /// Wrap a buffered reader.
    pub fn new(inner: R) -> Self {
        Self::with_cap(inner, MAX_LINE)
    }

    /// Wrap a buffered reader, keeping lines of at most `cap` bytes
    /// (line ending included).
    pub fn with_cap(inner: R, cap: usize) -> Self {
        LineReader { inner, number: 0, buf: Vec::new(), done: false, cap }
    }

    /// Read bytes up to the next newline; `true` if the cap was hit.
    fn fill(&mut self) -> std::io::Result<(bool, bool)> {
        let mut too_long = false;
        let mut any = false;
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                return Ok((any, too_long));
            }
            any = true;
            let (take, end) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if !too_long {
                if self.buf.len() + take > self.cap {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(&chunk[..take]);
                }
            }
            self.inner.consume(take);
            if end {
                return Ok((any, too_long));
            }
        }
    }
}

impl<R: BufRead> Iterator for LineReader<R> {
    type Item = LineEvent;

    fn next(&mut self) -> Option<LineEvent> {
        if self.done {
            return None;
        }
        self.buf.clear();
        let (any, too_long) = match self.fill() {
            Ok(v) => v,
            Err(e) => {
                self.done = true;
                return Some(LineEvent::Error(e));
            }
        };
        if !any {
            self.done = true;
            return None;
        }
        self.number += 1;
        if too_long {
            return Some(LineEvent::TooLong(self.number));
        }
        let mut bytes: &[u8] = &self.buf;
        while let Some((b'\n' | b'\r', rest)) = bytes.split_last() {
            bytes = rest;
        }
        if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
            bytes = rest;
        }
        let text = String::from_utf8_lossy(bytes).into_owned();
        Some(LineEvent::Line(Line { number: self.number, text }))
    }
}

/// Column names of a log, looked up case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    names: Vec<String>,
}

impl Header {
    /// Build from column names.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(names: I) -> Self {
        Header {
            names: names
                .into_iter()
                .map(|n| n.as_ref().trim().to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether no columns are known.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Index of a column (case-insensitive).
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.eq_ignore_ascii_case(name))
    }

    /// The value of a column in a split record.
    pub fn get<'a>(&self, row: &'a [String], name: &str) -> Option<&'a str> {
        self.index(name).and_then(|i| row.get(i)).map(String::as_str)
    }
}

/// Split one Exchange CSV line (quoted fields, doubled quotes).
pub fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Header of an Exchange CSV log: a `#Fields:` line or a bare header line
/// whose first column is `DateTime` or `date-time`.
pub fn csv_header(line: &str) -> Option<Header> {
    if let Some(rest) = strip_prefix_ci(line, "#Fields:") {
        return Some(Header::new(split_csv(rest.trim())));
    }
    let first = line.split(',').next()?.trim();
    if first.eq_ignore_ascii_case("DateTime")
        || first.eq_ignore_ascii_case("date-time")
    {
        return Some(Header::new(split_csv(line)));
    }
    None
}

/// Header of an IIS W3C log from a `#Fields:` directive.
pub fn w3c_header(line: &str) -> Option<Header> {
    strip_prefix_ci(line, "#Fields:")
        .map(|rest| Header::new(rest.split_ascii_whitespace()))
}

/// Split one W3C record: `-` becomes empty, `+` becomes a space in
/// user-agent style fields is left to the caller.
pub fn split_w3c(line: &str) -> Vec<String> {
    line.split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| if s == "-" { String::new() } else { s.to_string() })
        .collect()
}

fn strip_prefix_ci<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let head = line.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &line[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &[u8]) -> Vec<LineEvent> {
        LineReader::new(std::io::BufReader::new(data)).collect()
    }

    #[test]
    fn crlf_bom_and_last_line_without_newline() {
        let ev = lines(b"\xEF\xBB\xBFa,b\r\nc");
        let texts: Vec<_> = ev
            .iter()
            .map(|e| match e {
                LineEvent::Line(l) => l.text.clone(),
                _ => panic!("unexpected"),
            })
            .collect();
        assert_eq!(texts, ["a,b", "c"]);
    }

    #[test]
    fn huge_line_is_skipped_not_loaded() {
        let mut data = vec![b'x'; MAX_LINE * 3];
        data.extend_from_slice(b"\nok\n");
        let ev = lines(&data);
        assert!(matches!(ev[0], LineEvent::TooLong(1)));
        assert!(matches!(&ev[1], LineEvent::Line(l) if l.text == "ok"));
    }

    #[test]
    fn csv_quotes_and_header_case() {
        let h = csv_header("#Fields: DateTime,UrlStem,AnchorMailbox").unwrap();
        let row = split_csv("2021-03-02,\"/ecp/a,b\",\"x\"\"y\"");
        assert_eq!(h.get(&row, "urlstem"), Some("/ecp/a,b"));
        assert_eq!(h.get(&row, "ANCHORMAILBOX"), Some("x\"y"));
    }

    #[test]
    fn evtx_garbage_is_an_error_not_a_panic() {
        let dir = std::env::temp_dir().join("vigie-logs-evtx-junk");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("junk.evtx");
        let mut data = b"ElfFile\0".to_vec();
        data.extend((0..70000u32).map(|i| (i * 31 % 251) as u8));
        std::fs::write(&p, &data).unwrap();
        let mut n = 0;
        let _ = evtx::read_evtx(&p, |_| n += 1, |_| {});
        std::fs::write(&p, b"").unwrap();
        assert!(evtx::read_evtx(&p, |_| {}, |_| {}).is_err());
    }

    #[test]
    fn w3c_dash_is_empty() {
        let h =
            w3c_header("#Fields: date time cs-uri-stem cs(Cookie)").unwrap();
        let row = split_w3c("2021-03-02 01:02:03 /ecp/y.js -");
        assert_eq!(h.get(&row, "cs(cookie)"), Some(""));
    }
}
