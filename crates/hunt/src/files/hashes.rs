//! Known-bad SHA-256 lists: vigie's embedded list of published hashes
//! (`crates/hunt/data/known-bad-sha256.txt`) and any `--hashes FILE`.
//!
//! Format: one SHA-256 per line, an optional `;comment` after it, `#`
//! starts a comment line. signature-base's `hash-iocs.txt` mixes MD5 and
//! SHA-1 in: those are counted and left out (vigie hashes files once,
//! with SHA-256 only); anything else that is not a hash is an error
//! naming the file and line, and the rest of the list still loads.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};
use vigie_model::{ItemError, ItemErrorKind};

/// The embedded list.
const EMBEDDED: &str = include_str!("../../data/known-bad-sha256.txt");

/// Where the embedded list says it came from.
pub const EMBEDDED_ORIGIN: &str = "vigie:embedded/known-bad-sha256.txt";

/// Errors reported per list before the rest are summed up in one.
const MAX_ERRORS_PER_LIST: usize = 20;

/// One known-bad hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadHash {
    /// The list's comment (what the file is, who published it).
    pub comment: String,
    /// `list:line` where it was read.
    pub origin: String,
}

/// Every known-bad SHA-256, keyed by digest.
#[derive(Debug, Default)]
pub struct HashList {
    map: HashMap<[u8; 32], BadHash>,
    /// MD5/SHA-1 entries left out.
    pub ignored: u64,
}

impl HashList {
    /// Number of SHA-256 entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Look a digest up.
    pub fn get(&self, digest: &[u8; 32]) -> Option<&BadHash> {
        self.map.get(digest)
    }

    /// Add the embedded list.
    pub fn add_embedded(&mut self, errors: &mut Vec<ItemError>) {
        self.add_text(EMBEDDED, EMBEDDED_ORIGIN, errors);
    }

    /// Add a list file; an unreadable file is one error.
    pub fn add_file(&mut self, path: &Path, errors: &mut Vec<ItemError>) {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                self.add_text(&text, &path.display().to_string(), errors);
            }
            Err(e) => errors.push(ItemError::new(
                path.display().to_string(),
                ItemErrorKind::Io,
                format!("cannot read hash list: {e}"),
            )),
        }
    }

    /// Parse a list's text.
    pub fn add_text(
        &mut self,
        text: &str,
        origin: &str,
        errors: &mut Vec<ItemError>,
    ) {
        let mut bad = 0usize;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim().trim_start_matches('\u{feff}');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (hash, comment) = line.split_once(';').unwrap_or((line, ""));
            let hash = hash.trim();
            let at = format!("{origin}:{}", i + 1);
            match parse_hex(hash) {
                Some(HexKind::Sha256(d)) => {
                    self.map.entry(d).or_insert(BadHash {
                        comment: comment.trim().to_string(),
                        origin: at,
                    });
                }
                Some(HexKind::Other) => self.ignored += 1,
                None => {
                    bad += 1;
                    if bad <= MAX_ERRORS_PER_LIST {
                        errors.push(ItemError::new(
                            at,
                            ItemErrorKind::Parse,
                            format!(
                                "not a hash (expected 64 hex digits): {}",
                                clip(hash)
                            ),
                        ));
                    }
                }
            }
        }
        if bad > MAX_ERRORS_PER_LIST {
            errors.push(ItemError::new(
                origin,
                ItemErrorKind::Parse,
                format!(
                    "{} more lines are not hashes",
                    bad - MAX_ERRORS_PER_LIST
                ),
            ));
        }
    }
}

enum HexKind {
    Sha256([u8; 32]),
    /// MD5 or SHA-1.
    Other,
}

fn parse_hex(s: &str) -> Option<HexKind> {
    if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match s.len() {
        64 => {
            let mut d = [0u8; 32];
            hex::decode_to_slice(s, &mut d).ok()?;
            Some(HexKind::Sha256(d))
        }
        32 | 40 => Some(HexKind::Other),
        _ => None,
    }
}

/// At most 80 characters of attacker- or user-supplied text.
pub fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// SHA-256 of bytes in memory.
pub fn sha256_bytes(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// SHA-256 of a reader, streamed in 64 KiB blocks; also the byte count.
pub fn sha256_reader(mut r: impl Read) -> std::io::Result<([u8; 32], u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        total += n as u64;
    }
    Ok((h.finalize().into(), total))
}
