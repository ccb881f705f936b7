//! Target and exclusion lists read one bounded line at a time: a huge or
//! binary file costs at most one line of memory, and every line is named
//! `file:line` so a bad one can be reported and skipped.

use std::io::{BufRead, Read};

/// Longest list line accepted (a hostname is at most 253 bytes; the rest
/// is room for ports and comments).
pub const MAX_LINE: usize = 4096;

/// One line of a list file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListLine {
    /// `file:line`, for messages.
    pub origin: String,
    /// The line without its end, or what was wrong with it (too long,
    /// not UTF-8).
    pub text: Result<String, &'static str>,
}

impl ListLine {
    /// The spec on this line: comments (`#`) and blanks removed; `None`
    /// for an empty or comment-only line.
    pub fn spec(&self) -> Result<Option<&str>, &'static str> {
        match &self.text {
            Ok(t) => {
                let s = t.split('#').next().unwrap_or("").trim();
                Ok((!s.is_empty()).then_some(s))
            }
            Err(why) => Err(why),
        }
    }
}

/// Reads a list one line at a time.
pub struct LineReader {
    reader: Box<dyn BufRead>,
    name: String,
    line: u64,
    buf: Vec<u8>,
}

impl LineReader {
    /// Lines of `reader`, named after `name` (a path, or `-`).
    pub fn new(reader: Box<dyn BufRead>, name: impl Into<String>) -> Self {
        LineReader {
            reader,
            name: name.into(),
            line: 0,
            buf: Vec::with_capacity(256),
        }
    }

    /// The name given to [`LineReader::new`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next line, `None` at the end; an I/O error is the caller's
    /// to report (the file cannot be read on).
    pub fn next_line(&mut self) -> std::io::Result<Option<ListLine>> {
        self.buf.clear();
        let read = (&mut self.reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.buf)?;
        if read == 0 {
            return Ok(None);
        }
        self.line += 1;
        let origin = format!("{}:{}", self.name, self.line);
        if self.buf.len() > MAX_LINE && !self.buf.ends_with(b"\n") {
            skip_rest_of_line(&mut *self.reader)?;
            let text = Err("line longer than 4096 bytes");
            return Ok(Some(ListLine { origin, text }));
        }
        let text = match std::str::from_utf8(&self.buf) {
            Ok(t) => Ok(t.trim_end_matches(['\n', '\r']).to_string()),
            Err(_) => Err("not UTF-8 text"),
        };
        Ok(Some(ListLine { origin, text }))
    }
}

fn skip_rest_of_line(reader: &mut dyn BufRead) -> std::io::Result<()> {
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let len = chunk.len();
                reader.consume(len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<ListLine> {
        let cursor = std::io::Cursor::new(input.to_vec());
        let mut r = LineReader::new(Box::new(cursor), "f");
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            out.push(l);
        }
        out
    }

    #[test]
    fn names_lines_strips_comments_and_bounds_length() {
        let mut input = b"# fleet\r\n127.0.0.1 # lab\n\n".to_vec();
        input.extend(vec![b'x'; 10_000]);
        input.extend(b"\n\xff\xfe\nlast");
        let got = lines(&input);
        let specs: Vec<_> = got.iter().map(|l| l.spec()).collect();
        assert_eq!(
            specs,
            [
                Ok(None),
                Ok(Some("127.0.0.1")),
                Ok(None),
                Err("line longer than 4096 bytes"),
                Err("not UTF-8 text"),
                Ok(Some("last")),
            ]
        );
        assert_eq!(got[3].origin, "f:4");
        assert_eq!(got[5].origin, "f:6");
    }
}
