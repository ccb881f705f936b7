//! Text decoding of inventories and build lists: a UTF-8 byte-order mark
//! is dropped and UTF-16 (with a BOM, or without one when the first
//! characters are ASCII, as PowerShell's `Out-File` writes) is turned
//! into UTF-8 as it streams, so one reader serves every encoding an
//! administrator's export may have.
//!
//! Unpaired UTF-16 surrogates become U+FFFD: the row holding one then
//! fails as a bad build, alone, instead of the whole file.

use std::io::{BufRead, BufReader, Read};

/// A byte stream as UTF-8 (possibly invalid in places: UTF-8 input is
/// passed through untouched so a bad byte stays a per-row problem).
pub enum Decoded<R> {
    /// UTF-8 (or ASCII) input, BOM removed.
    Utf8(R),
    /// UTF-16 input, transcoded.
    Utf16(BufReader<Utf16Reader<R>>),
}

/// Which UTF-16 byte order the stream starts with, if any.
fn utf16_order(head: &[u8]) -> Option<(bool, usize)> {
    match head {
        [0xFF, 0xFE, ..] => Some((false, 2)),
        [0xFE, 0xFF, ..] => Some((true, 2)),
        [a, 0, b, 0, ..] if *a != 0 && *b != 0 => Some((false, 0)),
        [0, a, 0, b, ..] if *a != 0 && *b != 0 => Some((true, 0)),
        _ => None,
    }
}

/// Look at the first bytes and wrap the reader to yield UTF-8.
pub fn decode<R: BufRead>(mut reader: R) -> std::io::Result<Decoded<R>> {
    let head = reader.fill_buf()?;
    if head.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
        return Ok(Decoded::Utf8(reader));
    }
    match utf16_order(head) {
        Some((big_endian, bom)) => {
            reader.consume(bom);
            let inner = Utf16Reader::new(reader, big_endian);
            Ok(Decoded::Utf16(BufReader::with_capacity(64 * 1024, inner)))
        }
        None => Ok(Decoded::Utf8(reader)),
    }
}

impl<R: BufRead> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Decoded::Utf8(r) => r.read(buf),
            Decoded::Utf16(r) => r.read(buf),
        }
    }
}

impl<R: BufRead> BufRead for Decoded<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        match self {
            Decoded::Utf8(r) => r.fill_buf(),
            Decoded::Utf16(r) => r.fill_buf(),
        }
    }

    fn consume(&mut self, amount: usize) {
        match self {
            Decoded::Utf8(r) => r.consume(amount),
            Decoded::Utf16(r) => r.consume(amount),
        }
    }
}

/// Streams UTF-16 code units as UTF-8 bytes.
pub struct Utf16Reader<R> {
    inner: R,
    big_endian: bool,
    /// An odd byte left from the previous chunk.
    carry: Option<u8>,
    /// A high surrogate waiting for its pair.
    high: Option<u16>,
    /// UTF-8 produced but not yet handed out.
    out: Vec<u8>,
    pos: usize,
}

impl<R: BufRead> Utf16Reader<R> {
    fn new(inner: R, big_endian: bool) -> Self {
        Utf16Reader {
            inner,
            big_endian,
            carry: None,
            high: None,
            out: Vec::new(),
            pos: 0,
        }
    }

    fn push(&mut self, c: char) {
        let mut tmp = [0u8; 4];
        self.out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
    }

    fn unit(&mut self, u: u16) {
        if let Some(h) = self.high.take() {
            if (0xDC00..0xE000).contains(&u) {
                let c = 0x10000
                    + ((u32::from(h) - 0xD800) << 10)
                    + (u32::from(u) - 0xDC00);
                self.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                return;
            }
            self.push('\u{FFFD}');
        }
        match u {
            0xD800..0xDC00 => self.high = Some(u),
            0xDC00..0xE000 => self.push('\u{FFFD}'),
            _ => self.push(char::from_u32(u32::from(u)).unwrap_or('\u{FFFD}')),
        }
    }

    /// Decode the next chunk of input into `out`; `false` at the end.
    fn refill(&mut self) -> std::io::Result<bool> {
        self.out.clear();
        self.pos = 0;
        let chunk = self.inner.fill_buf()?;
        if chunk.is_empty() {
            if self.carry.take().is_some() || self.high.take().is_some() {
                self.push('\u{FFFD}');
            }
            return Ok(!self.out.is_empty());
        }
        let take = chunk.len().min(16 * 1024);
        let bytes = chunk[..take].to_vec();
        self.inner.consume(take);
        let mut rest: &[u8] = &bytes;
        if let Some(first) = self.carry.take() {
            self.pair(first, rest[0]);
            rest = &rest[1..];
        }
        let mut pairs = rest.chunks_exact(2);
        for p in &mut pairs {
            self.pair(p[0], p[1]);
        }
        self.carry = pairs.remainder().first().copied();
        Ok(true)
    }

    fn pair(&mut self, a: u8, b: u8) {
        let u = if self.big_endian {
            u16::from_be_bytes([a, b])
        } else {
            u16::from_le_bytes([a, b])
        };
        self.unit(u);
    }
}

impl<R: BufRead> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.out.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> String {
        let mut out = String::new();
        decode(bytes).unwrap().read_to_string(&mut out).unwrap();
        out
    }

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        out.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
        out
    }

    #[test]
    fn utf16_with_and_without_bom_and_utf8_bom() {
        assert_eq!(text(&utf16le("server,build\n", true)), "server,build\n");
        assert_eq!(text(&utf16le("server,é\n", false)), "server,é\n");
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("ab😀".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(text(&be), "ab😀");
        assert_eq!(text(b"\xEF\xBB\xBFa,b"), "a,b");
        // Invalid UTF-8 passes through: the row holding it is reported.
        let mut raw = Vec::new();
        decode(&b"15.1\xFF"[..]).unwrap().read_to_end(&mut raw).unwrap();
        assert_eq!(raw, b"15.1\xFF");
    }

    #[test]
    fn lone_surrogates_and_odd_tail_become_replacement() {
        let mut bytes = vec![0xFF, 0xFE, b'a', 0, 0x00, 0xD8, b'b', 0];
        bytes.push(b'c');
        assert_eq!(text(&bytes), "a\u{FFFD}b\u{FFFD}");
    }
}
