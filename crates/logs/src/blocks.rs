//! Whole lines in large blocks, for detectors that search the raw bytes
//! of many lines at once (a literal prefilter) before looking at any one
//! line, and that must not allocate per line.
//!
//! A block never exceeds [`MAX_LINE`] bytes, so every line in it is within
//! the cap; a longer line is skipped and reported by its number, as
//! [`crate::LineReader`] does.

use std::io::{ErrorKind, Read};

use crate::MAX_LINE;

/// What reading the next block gave.
#[derive(Debug)]
pub enum Block<'a> {
    /// Whole lines (each ending in `\n`, except the last line of the
    /// input when it has none).
    Lines(Lines<'a>),
    /// A line longer than [`MAX_LINE`]; its content was skipped.
    TooLong(u64),
}

/// Consecutive whole lines and the number of the first.
#[derive(Debug, Clone, Copy)]
pub struct Lines<'a> {
    /// 1-based number of the first line.
    pub first: u64,
    /// The raw bytes.
    pub data: &'a [u8],
}

/// One line of a block.
#[derive(Debug, Clone, Copy)]
pub struct LineRef<'a> {
    /// 1-based line number.
    pub number: u64,
    /// Offset of the line in the block's data.
    pub offset: usize,
    /// Offset just past the line's `\n` (or the end of the data).
    pub end: usize,
    /// The bytes, without line ending or BOM.
    pub bytes: &'a [u8],
}

impl<'a> Lines<'a> {
    /// The lines, with endings (`\r`, `\n`) and a leading BOM removed.
    pub fn iter(&self) -> impl Iterator<Item = LineRef<'a>> + use<'a> {
        let data = self.data;
        let mut number = self.first;
        let mut at = 0;
        std::iter::from_fn(move || {
            if at >= data.len() {
                return None;
            }
            let end = memchr::memchr(b'\n', &data[at..])
                .map_or(data.len(), |i| at + i);
            let line = LineRef {
                number,
                offset: at,
                end: (end + 1).min(data.len()),
                bytes: clean(&data[at..end]),
            };
            number += 1;
            at = end + 1;
            Some(line)
        })
    }
}

/// Strip trailing `\r`/`\n` and a leading UTF-8 BOM, as every reader
/// here does with a line.
pub fn clean(mut bytes: &[u8]) -> &[u8] {
    while let Some((b'\n' | b'\r', rest)) = bytes.split_last() {
        bytes = rest;
    }
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Reads blocks of whole lines with one buffer of [`MAX_LINE`] bytes.
pub struct BlockReader<R> {
    inner: R,
    buf: Vec<u8>,
    filled: usize,
    consumed: usize,
    next_line: u64,
    skipping: bool,
    eof: bool,
}

impl<R: Read> BlockReader<R> {
    /// Wrap a reader (unbuffered is best: reads are block-sized).
    pub fn new(inner: R) -> Self {
        BlockReader {
            inner,
            buf: vec![0; MAX_LINE],
            filled: 0,
            consumed: 0,
            next_line: 1,
            skipping: false,
            eof: false,
        }
    }

    /// Lines handed over so far (too-long ones included).
    pub fn lines_read(&self) -> u64 {
        self.next_line - 1
    }

    /// The next block; `Ok(None)` at the end of the input.
    pub fn next_block(&mut self) -> std::io::Result<Option<Block<'_>>> {
        loop {
            self.compact_and_fill()?;
            let filled = self.filled;
            if self.skipping {
                match memchr::memchr(b'\n', &self.buf[..filled]) {
                    Some(i) => {
                        self.consumed = i + 1;
                        self.skipping = false;
                    }
                    None if self.eof => return Ok(None),
                    None => self.filled = 0,
                }
                continue;
            }
            if filled == 0 {
                return Ok(None);
            }
            let first = self.next_line;
            let end = match memchr::memrchr(b'\n', &self.buf[..filled]) {
                Some(i) => i + 1,
                None if self.eof => filled,
                None => {
                    // A full buffer and no line end: too long.
                    self.next_line += 1;
                    self.skipping = true;
                    self.filled = 0;
                    return Ok(Some(Block::TooLong(first)));
                }
            };
            let data = &self.buf[..end];
            let newlines = memchr::memchr_iter(b'\n', data).count() as u64;
            let partial = u64::from(data.last() != Some(&b'\n'));
            self.next_line += newlines + partial;
            self.consumed = end;
            let data = &self.buf[..end];
            return Ok(Some(Block::Lines(Lines { first, data })));
        }
    }

    fn compact_and_fill(&mut self) -> std::io::Result<()> {
        if self.consumed > 0 {
            self.buf.copy_within(self.consumed..self.filled, 0);
            self.filled -= self.consumed;
            self.consumed = 0;
        }
        while self.filled < self.buf.len() && !self.eof {
            match self.inner.read(&mut self.buf[self.filled..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line as (number, text) or a too-long marker, through blocks.
    fn read(data: &[u8]) -> Vec<(u64, String)> {
        let mut r = BlockReader::new(data);
        let mut out = Vec::new();
        while let Some(b) = r.next_block().unwrap() {
            match b {
                Block::Lines(l) => out.extend(l.iter().map(|l| {
                    (l.number, String::from_utf8_lossy(l.bytes).into())
                })),
                Block::TooLong(n) => out.push((n, "<too long>".into())),
            }
        }
        out
    }

    #[test]
    fn crlf_bom_and_last_line_without_newline() {
        let got = read(b"\xEF\xBB\xBFa,b\r\n\nc");
        assert_eq!(got, [(1, "a,b".into()), (2, "".into()), (3, "c".into())]);
    }

    #[test]
    fn same_lines_as_the_line_reader_across_block_edges() {
        let mut data = Vec::new();
        for i in 0..60_000 {
            data.extend_from_slice(
                format!("line {i} {}\r\n", "x".repeat(i % 97)).as_bytes(),
            );
        }
        let blocks = read(&data);
        let lines: Vec<_> = crate::LineReader::new(&data[..])
            .map(|e| match e {
                crate::LineEvent::Line(l) => (l.number, l.text),
                _ => panic!("unexpected"),
            })
            .collect();
        assert_eq!(blocks, lines);
    }

    #[test]
    fn huge_line_is_skipped_and_numbering_goes_on() {
        let mut data = b"a\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', MAX_LINE * 3));
        data.extend_from_slice(b"\nok\n");
        let got = read(&data);
        assert_eq!(
            got,
            [(1, "a".into()), (2, "<too long>".into()), (3, "ok".into())]
        );
        // Exactly at the cap (newline included) is still a line.
        let mut data = vec![b'y'; MAX_LINE - 1];
        data.push(b'\n');
        assert_eq!(read(&data).len(), 1);
        assert_eq!(read(&data)[0].1.len(), MAX_LINE - 1);
    }
}
