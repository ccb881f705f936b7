//! Which text encoding a log or export is in, and a reader that turns
//! UTF-16 into UTF-8 for the line and block readers.
//!
//! Exchange and IIS write UTF-8 (IIS optionally with a BOM), but copies
//! pass through PowerShell (`Out-File` and `>` write UTF-16LE with a BOM
//! on Windows PowerShell 5.1; `Get-WinEvent | ConvertTo-Json > x.json`
//! too) and some collectors write UTF-16 without a BOM. Read as bytes,
//! such a file matches no literal and holds no dated record: a silent
//! zero. [`sniff`] looks at a file's head: a BOM decides; without one,
//! text in UTF-16 shows as NUL bytes in every other position (ASCII
//! letters, digits, commas), which UTF-8 text never holds. Only then is
//! the file read through [`Utf16Reader`]; UTF-8 files keep the fast
//! block reader on their raw bytes.

use std::io::{self, Read, Seek, SeekFrom};

use encoding_rs::{Decoder, UTF_16BE, UTF_16LE};

/// Bytes of a file's head [`sniff`] looks at.
pub const HEAD: usize = 4096;

/// A text encoding vigie reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 (or ASCII), no BOM.
    Utf8,
    /// UTF-8 with a BOM (the line readers drop it).
    Utf8Bom,
    /// UTF-16 little-endian; `bom` when the file starts with one.
    Utf16Le {
        /// Whether a BOM was present.
        bom: bool,
    },
    /// UTF-16 big-endian; `bom` when the file starts with one.
    Utf16Be {
        /// Whether a BOM was present.
        bom: bool,
    },
}

impl TextEncoding {
    /// Whether reading needs the transcoding reader.
    pub fn is_utf16(self) -> bool {
        matches!(
            self,
            TextEncoding::Utf16Le { .. } | TextEncoding::Utf16Be { .. }
        )
    }

    /// A name for messages.
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8 with BOM",
            TextEncoding::Utf16Le { bom: true } => "UTF-16LE with BOM",
            TextEncoding::Utf16Le { bom: false } => "UTF-16LE without BOM",
            TextEncoding::Utf16Be { bom: true } => "UTF-16BE with BOM",
            TextEncoding::Utf16Be { bom: false } => "UTF-16BE without BOM",
        }
    }
}

/// The encoding of a file from its first bytes (up to [`HEAD`]).
pub fn sniff(head: &[u8]) -> TextEncoding {
    if head.starts_with(b"\xEF\xBB\xBF") {
        return TextEncoding::Utf8Bom;
    }
    if head.starts_with(b"\xFF\xFE") {
        return TextEncoding::Utf16Le { bom: true };
    }
    if head.starts_with(b"\xFE\xFF") {
        return TextEncoding::Utf16Be { bom: true };
    }
    let pairs = head.len().min(HEAD) / 2;
    if pairs < 2 {
        return TextEncoding::Utf8;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for p in head[..pairs * 2].chunks_exact(2) {
        even += usize::from(p[0] == 0);
        odd += usize::from(p[1] == 0);
    }
    // Mostly ASCII text: NUL in at least 3 of 4 high bytes, and the
    // other position almost never NUL.
    if odd * 4 >= pairs * 3 && even * 8 <= odd {
        TextEncoding::Utf16Le { bom: false }
    } else if even * 4 >= pairs * 3 && odd * 8 <= even {
        TextEncoding::Utf16Be { bom: false }
    } else {
        TextEncoding::Utf8
    }
}

/// Read a file's head, sniff it, and seek back to where it was.
pub fn sniff_file<R: Read + Seek>(r: &mut R) -> io::Result<TextEncoding> {
    let at = r.stream_position()?;
    let mut head = Vec::with_capacity(HEAD);
    r.by_ref().take(HEAD as u64).read_to_end(&mut head)?;
    r.seek(SeekFrom::Start(at))?;
    Ok(sniff(&head))
}

/// UTF-16 in, UTF-8 out (a BOM is dropped, invalid sequences become
/// U+FFFD), in bounded steps: memory is two small buffers whatever the
/// file's size.
pub struct Utf16Reader<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    eof: bool,
    finished: bool,
}

impl<R: Read> Utf16Reader<R> {
    /// Decode `inner`, big-endian when `big` (a BOM, if any, wins).
    pub fn new(inner: R, big: bool) -> Self {
        let enc = if big { UTF_16BE } else { UTF_16LE };
        Utf16Reader {
            inner,
            decoder: enc.new_decoder_with_bom_removal(),
            input: vec![0; 1 << 16],
            start: 0,
            end: 0,
            output: vec![0; 3 * (1 << 16) / 2 + 16],
            out_start: 0,
            out_end: 0,
            eof: false,
            finished: false,
        }
    }

    /// Decode more into `output`; `false` at the end.
    fn refill(&mut self) -> io::Result<bool> {
        loop {
            if self.start == self.end && !self.eof {
                self.start = 0;
                self.end = loop {
                    match self.inner.read(&mut self.input) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        r => break r?,
                    }
                };
                self.eof = self.end == 0;
            }
            if self.finished {
                return Ok(false);
            }
            let (result, read, written, _) = self.decoder.decode_to_utf8(
                &self.input[self.start..self.end],
                &mut self.output,
                self.eof,
            );
            self.start += read;
            self.out_start = 0;
            self.out_end = written;
            // The decoder is done once it was told the input ended and
            // took all of it; it must not be called again.
            self.finished =
                self.eof && result == encoding_rs::CoderResult::InputEmpty;
            if written > 0 {
                return Ok(true);
            }
        }
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.out_start == self.out_end && !self.refill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out_end - self.out_start);
        buf[..n]
            .copy_from_slice(&self.output[self.out_start..self.out_start + n]);
        self.out_start += n;
        Ok(n)
    }
}

/// A reader of a file's text as UTF-8 bytes: the file itself for UTF-8,
/// else a [`Utf16Reader`] over it. Returns the encoding found.
pub fn utf8_reader<R: Read + Seek + Send + 'static>(
    mut r: R,
) -> io::Result<(TextEncoding, Box<dyn Read + Send>)> {
    let enc = sniff_file(&mut r)?;
    let reader: Box<dyn Read + Send> = match enc {
        TextEncoding::Utf16Le { .. } => Box::new(Utf16Reader::new(r, false)),
        TextEncoding::Utf16Be { .. } => Box::new(Utf16Reader::new(r, true)),
        _ => Box::new(r),
    };
    Ok((enc, reader))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend(if big { [0xFE, 0xFF] } else { [0xFF, 0xFE] });
        }
        for u in text.encode_utf16() {
            out.extend(if big { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        out
    }

    fn decode(data: &[u8]) -> (TextEncoding, String) {
        let (enc, mut r) =
            utf8_reader(io::Cursor::new(data.to_vec())).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        (enc, s)
    }

    #[test]
    fn boms_and_bare_utf16_are_told_apart_from_utf8() {
        let text =
            "#Fields: DateTime,AnchorMailbox\r\n2021-03-03T01:00:00Z,é✓\r\n";
        assert_eq!(sniff(text.as_bytes()), TextEncoding::Utf8);
        assert_eq!(sniff(b"\xEF\xBB\xBFa,b"), TextEncoding::Utf8Bom);
        for (big, bom) in
            [(false, true), (false, false), (true, true), (true, false)]
        {
            let (enc, got) = decode(&utf16(text, big, bom));
            assert!(enc.is_utf16(), "{big} {bom}");
            assert_eq!(got, text, "{}", enc.name());
        }
        // Binary noise with NULs everywhere is not UTF-16.
        assert_eq!(sniff(&[0u8; 64]), TextEncoding::Utf8);
        assert_eq!(sniff(b"a"), TextEncoding::Utf8);
    }

    #[test]
    fn long_utf16_decodes_across_buffer_edges() {
        let line = "2021-03-03T01:00:00Z,ServerInfo~a]@x:444/ecp/é?#\r\n";
        let text = line.repeat(5000);
        let (_, got) = decode(&utf16(&text, false, true));
        assert_eq!(got, text);
        // A dangling half code unit becomes U+FFFD, not a hang.
        let mut odd = utf16("ab", false, true);
        odd.push(b'c');
        assert_eq!(decode(&odd).1, "ab\u{FFFD}");
    }
}
