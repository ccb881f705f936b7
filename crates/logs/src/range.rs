//! Byte ranges of one large log, so several threads can read one file:
//! a [`RangeReader`] yields exactly the lines that *start* inside its
//! range, so readers over ranges that tile a file (see [`split_ranges`])
//! see every line once. Wrap it in [`crate::LineReader`] or
//! [`crate::blocks::BlockReader`]; line numbers then count from the start
//! of the range.
//!
//! Finding where a range's first line starts never reads past the range,
//! so ranges lying inside one huge line cost no more than their size.

use std::io::{self, Read, Seek, SeekFrom};

/// A byte range of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte offset.
    pub start: u64,
    /// One past the last offset at which a line of this range may start;
    /// `u64::MAX` for "to the end of the file".
    pub end: u64,
}

/// Tile `len` bytes with ranges of `size` bytes (at least one range; the
/// last runs to the end of the file, even if it grew since).
pub fn split_ranges(len: u64, size: u64) -> Vec<ByteRange> {
    let size = size.max(1);
    let n = len.div_ceil(size).max(1);
    (0..n)
        .map(|i| ByteRange {
            start: i * size,
            end: if i + 1 == n { u64::MAX } else { (i + 1) * size },
        })
        .collect()
}

/// Reads the bytes of the lines starting inside a range.
pub struct RangeReader<R> {
    inner: R,
    /// Offset of the next byte `inner` gives.
    pos: u64,
    end: u64,
    done: bool,
}

impl<R: Read + Seek> RangeReader<R> {
    /// Position `inner` at the first line starting in `range`.
    pub fn new(mut inner: R, range: ByteRange) -> io::Result<Self> {
        let first = first_line_start(&mut inner, range)?;
        if let Some(at) = first {
            inner.seek(SeekFrom::Start(at))?;
        }
        Ok(RangeReader {
            inner,
            pos: first.unwrap_or(0),
            end: range.end,
            done: first.is_none(),
        })
    }

    /// Offset in the file of the next byte this reader gives.
    pub fn position(&self) -> u64 {
        self.pos
    }
}

impl<R: Read> Read for RangeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.done = true;
            return Ok(0);
        }
        // The line holding byte `end - 1` is the last one of the range.
        let last = self.end.saturating_sub(1);
        let n = if self.pos + n as u64 > last {
            let from = last.saturating_sub(self.pos) as usize;
            match memchr::memchr(b'\n', &buf[from..n]) {
                Some(i) => {
                    self.done = true;
                    from + i + 1
                }
                None => n,
            }
        } else {
            n
        };
        self.pos += n as u64;
        Ok(n)
    }
}

/// Offset of the first line starting inside the range, if any.
fn first_line_start<R: Read + Seek>(
    src: &mut R,
    range: ByteRange,
) -> io::Result<Option<u64>> {
    if range.start == 0 {
        return Ok(Some(0));
    }
    if range.start >= range.end {
        return Ok(None);
    }
    // A line starts at `start` if the byte before it ends a line.
    let mut at = range.start - 1;
    src.seek(SeekFrom::Start(at))?;
    let mut buf = vec![0u8; 1 << 16];
    while at < range.end - 1 {
        let want = (range.end - 1 - at).min(buf.len() as u64) as usize;
        let n = loop {
            match src.read(&mut buf[..want]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => break r?,
            }
        };
        if n == 0 {
            return Ok(None);
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(Some(at + i as u64 + 1));
        }
        at += n as u64;
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
