//! A line reader that never holds more than [`MAX_ROW`] bytes of a line,
//! so a multi-gigabyte line without a newline costs one error, not the
//! process. Lines are bytes: a bad UTF-8 byte is the caller's per-line
//! problem, not the whole file's.

use std::io::BufRead;

use super::MAX_ROW;

/// One line, without its line ending (`\n` or `\r\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteLine {
    /// 1-based line number.
    pub number: u64,
    /// The bytes (empty when the line was too long).
    pub bytes: Vec<u8>,
    /// The line was longer than [`MAX_ROW`] bytes; its content was
    /// skipped.
    pub too_long: bool,
}

/// Reads [`ByteLine`]s; stops after the first I/O error.
pub struct ByteLines<R> {
    inner: R,
    number: u64,
    done: bool,
}

impl<R: BufRead> ByteLines<R> {
    /// Wrap a buffered reader.
    pub fn new(inner: R) -> Self {
        ByteLines { inner, number: 0, done: false }
    }

    /// The next line's bytes; `None` at the end of input.
    fn read_line(&mut self) -> std::io::Result<Option<(Vec<u8>, bool)>> {
        let mut buf = Vec::new();
        let mut too_long = false;
        let mut any = false;
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                return Ok(any.then_some((buf, too_long)));
            }
            any = true;
            let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if !too_long {
                if buf.len() + take > MAX_ROW + 2 {
                    too_long = true;
                    buf = Vec::new();
                } else {
                    buf.extend_from_slice(&chunk[..take]);
                }
            }
            self.inner.consume(take);
            if end {
                return Ok(Some((buf, too_long)));
            }
        }
    }
}

impl<R: BufRead> Iterator for ByteLines<R> {
    type Item = std::io::Result<ByteLine>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.read_line() {
            Ok(Some((mut bytes, too_long))) => {
                self.number += 1;
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                Some(Ok(ByteLine { number: self.number, bytes, too_long }))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_lf_and_long_lines() {
        let mut text = b"a\r\nb\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_ROW + 10));
        text.extend(b"\nlast");
        let lines: Vec<ByteLine> =
            ByteLines::new(&text[..]).map(Result::unwrap).collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0].bytes, b"a");
        assert_eq!(lines[1].bytes, b"b");
        assert!(lines[2].too_long && lines[2].bytes.is_empty());
        assert_eq!((lines[3].number, &lines[3].bytes[..]), (4, &b"last"[..]));
    }
}
