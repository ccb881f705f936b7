//! A view of an EVTX file holding only some of its chunks: the real file
//! header, then chunks `first..first + count` as if they were the only
//! ones. The evtx crate reads it as a whole file, so separate readers
//! (threads) can each take a share of one large log.

use std::io::{self, Read, Seek, SeekFrom};

use super::{CHUNK, HEADER_BLOCK};

pub struct ChunkWindow<R> {
    inner: R,
    /// First real chunk shown.
    first: u64,
    /// Length of the view: header block plus the chunks shown.
    len: u64,
    /// Position in the view.
    pos: u64,
}

impl<R: Read + Seek> ChunkWindow<R> {
    pub fn new(inner: R, first: u64, count: u64) -> Self {
        ChunkWindow { inner, first, len: HEADER_BLOCK + count * CHUNK, pos: 0 }
    }
}

impl<R: Read + Seek> Read for ChunkWindow<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            return Ok(0);
        }
        // Never cross from the header into the chunks in one read: they
        // are not contiguous in the real file.
        let (real, room) = if self.pos < HEADER_BLOCK {
            (self.pos, HEADER_BLOCK - self.pos)
        } else {
            (self.pos + self.first * CHUNK, self.len - self.pos)
        };
        let want = (buf.len() as u64).min(room) as usize;
        self.inner.seek(SeekFrom::Start(real))?;
        let n = self.inner.read(&mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for ChunkWindow<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let Some(pos) = pos else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the view",
            ));
        };
        self.pos = pos;
        Ok(pos)
    }
}
