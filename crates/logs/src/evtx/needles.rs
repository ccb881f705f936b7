//! Which records are worth rendering: a caller whose rules can only fire
//! on a record holding one of a few texts (the hunt's: `.aspx`,
//! `w3wp.exe`, ...) names them, and a record none of whose texts holds
//! one is given without fields, never rendered to JSON. Most of reading
//! a record is rendering and parsing it; the crate's substitution values
//! are found without that, straight from the BinXML.
//!
//! A record's texts are its substitution values (UTF-16 or ANSI
//! strings) and its template's literal text (UTF-16 in the chunk), each
//! searched whole, ignoring ASCII case. Any value of a kind not read
//! here (embedded BinXML, unknown) or a record without a template
//! instance is rendered, as is every record when the search cannot be
//! built. Numbers, GUIDs, SIDs, times and binary render as digits and
//! hex only, so they cannot hold a needle of letters.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use aho_corasick::{AhoCorasick, packed};
use evtx::EvtxRecord;

/// The texts, lower-cased, searched in text narrowed to lower-case ASCII
/// (one byte per UTF-16 unit, 0xFF for any non-ASCII one).
pub struct Needles {
    /// Teddy (SIMD) when the CPU has it, else an automaton.
    packed: Option<packed::Searcher>,
    ac: AhoCorasick,
    /// Up to three letters one of which every needle holds: text holding
    /// none of them (in either case) is passed over at memchr speed.
    gate: Option<Vec<u8>>,
}

impl Needles {
    /// `None` when a search cannot be built, or a needle could be part
    /// of how a number, GUID, SID, time, boolean or hex value renders
    /// (it has none of the letters those never hold): then every record
    /// is read.
    pub fn new(needles: &[&str]) -> Option<Arc<Needles>> {
        let wordlike = |n: &&str| {
            n.bytes().any(|c| b"ghjkmopqvwy".contains(&c.to_ascii_lowercase()))
        };
        if needles.is_empty() || !needles.iter().all(wordlike) {
            return None;
        }
        let lower: Vec<String> =
            needles.iter().map(|n| n.to_ascii_lowercase()).collect();
        let packed = packed::Config::new().builder().extend(&lower).build();
        let ac = AhoCorasick::new(&lower).ok()?;
        let gate = gate(needles);
        Some(Arc::new(Needles { packed, ac, gate }))
    }

    /// Whether UTF-16LE (`wide`) or ASCII-compatible text holds a needle;
    /// `scratch` is reused for its narrowed, lower-cased copy.
    fn in_text(&self, text: &[u8], wide: bool, scratch: &mut Vec<u8>) -> bool {
        if let Some(gate) = &self.gate
            && !any_of(gate, text)
            && !any_of(&gate.to_ascii_uppercase(), text)
        {
            return false;
        }
        scratch.clear();
        if wide {
            scratch.extend(text.chunks_exact(2).map(|u| match u {
                [c, 0] if c.is_ascii() => c.to_ascii_lowercase(),
                _ => 0xFF,
            }));
        } else {
            scratch.extend(text.iter().map(u8::to_ascii_lowercase));
        }
        match &self.packed {
            Some(p) => p.find(&scratch[..]).is_some(),
            None => self.ac.is_match(&scratch[..]),
        }
    }
}

/// Letters, rarest first in English text, of which the gate takes the
/// first ones that cover every needle.
const RARITY: &[u8] = b"qjzxkvbpygfwmucldrhsnioate";

fn gate(needles: &[&str]) -> Option<Vec<u8>> {
    let holds =
        |n: &str, c: u8| n.bytes().any(|b| b.to_ascii_lowercase() == c);
    let mut cover: Vec<u8> = Vec::new();
    for &c in RARITY {
        let uncovered: Vec<&&str> = needles
            .iter()
            .filter(|n| !cover.iter().any(|&g| holds(n, g)))
            .collect();
        if uncovered.iter().any(|n| holds(n, c)) {
            cover.push(c);
        }
    }
    (cover.len() <= 3).then_some(cover)
}

fn any_of(set: &[u8], text: &[u8]) -> bool {
    match *set {
        [a] => memchr::memchr(a, text).is_some(),
        [a, b] => memchr::memchr2(a, b, text).is_some(),
        [a, b, c] => memchr::memchr3(a, b, c, text).is_some(),
        _ => true,
    }
}

/// Whether each template holds a needle: by offset within a chunk (the
/// filter is cloned for each chunk), and by its bytes across chunks (a
/// log's chunks mostly define the same templates; equal bytes, equal
/// answer).
#[derive(Clone)]
pub struct Filter {
    needles: Arc<Needles>,
    templates: HashMap<u32, bool>,
    known: Arc<Mutex<Known>>,
    scratch: Vec<u8>,
}

type Known = HashMap<Box<[u8]>, bool, BuildHasherDefault<Sampled>>;

impl Filter {
    pub fn new(needles: Arc<Needles>) -> Self {
        let known = Arc::new(Mutex::new(Known::default()));
        Filter {
            needles,
            templates: HashMap::new(),
            known,
            scratch: Vec::new(),
        }
    }

    /// Whether `record` may hold a needle (when unsure: yes). Its BinXML
    /// is read here (a fragment holding one template instance); another
    /// shape is rendered.
    pub fn may_hold(&mut self, record: &EvtxRecord<'_>) -> bool {
        let data = record.chunk.data;
        let at = record.binxml_offset as usize;
        match data.get(at..at + record.binxml_size as usize) {
            Some(bytes) => self.fragment(data, bytes, 0),
            None => true,
        }
    }

    fn template(&mut self, chunk: &[u8], at: u32) -> bool {
        if let Some(&holds) = self.templates.get(&at) {
            return holds;
        }
        let holds = match template_body(chunk, at as usize) {
            None => true,
            Some(body) => {
                let mut known =
                    self.known.lock().unwrap_or_else(|e| e.into_inner());
                match known.get(body) {
                    Some(&holds) => holds,
                    None => {
                        let holds = self.needles.in_text(
                            body,
                            true,
                            &mut self.scratch,
                        );
                        if known.len() < 4096 {
                            known.insert(body.into(), holds);
                        }
                        holds
                    }
                }
            }
        };
        self.templates.insert(at, holds);
        holds
    }

    /// A BinXML value (the event data of most records is one): a
    /// fragment holding one template instance, read here for its
    /// template and values; any other shape may hold a needle.
    fn fragment(&mut self, chunk: &[u8], bytes: &[u8], depth: u32) -> bool {
        let base =
            (bytes.as_ptr() as usize).wrapping_sub(chunk.as_ptr() as usize);
        if depth > 8
            || base.checked_add(bytes.len()).is_none_or(|e| e > chunk.len())
        {
            return true;
        }
        self.instance(chunk, bytes, base, depth).unwrap_or(true)
    }

    /// `None`: not a shape read here.
    fn instance(
        &mut self,
        chunk: &[u8],
        b: &[u8],
        base: usize,
        depth: u32,
    ) -> Option<bool> {
        // Fragment header (0x0f, 1, 1, flags), TemplateInstance (0x0c,
        // a byte, template id, definition offset).
        if b.get(..5)? != [0x0f, 1, 1, 0, 0x0c] {
            return None;
        }
        let def = u32_at(b, 10)?;
        let mut at = 14;
        if def as usize == base + at {
            // The definition itself follows (its first use in the chunk).
            at += 24 + u32_at(b, at + 20)? as usize;
        }
        if self.template(chunk, def) {
            return Some(true);
        }
        let count = u32_at(b, at)? as usize;
        at += 4;
        let descriptors = b.get(at..at.checked_add(count.checked_mul(4)?)?)?;
        at += descriptors.len();
        for d in descriptors.chunks_exact(4) {
            let size = usize::from(u16::from_le_bytes([d[0], d[1]]));
            let value = b.get(at..at + size)?;
            at += size;
            let holds = match d[2] {
                // UTF-16 string, and array of them.
                0x01 | 0x81 => {
                    self.needles.in_text(value, true, &mut self.scratch)
                }
                // ANSI string, and array of them.
                0x02 | 0x82 => {
                    self.needles.in_text(value, false, &mut self.scratch)
                }
                0x21 => self.fragment(chunk, value, depth + 1),
                // Null, numbers, bool, binary, GUID, size, times, SID,
                // hex, and arrays of them: digits and hex only.
                0x00..=0x15 | 0x83..=0x95 => false,
                _ => true,
            };
            if holds {
                return Some(true);
            }
        }
        // Only the end of the stream may follow (the crate reads no
        // further than an end token).
        Some(!matches!(b.get(at..), Some([] | [0, ..])))
    }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let w = b.get(at..at + 4)?;
    Some(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

/// A template definition's BinXML (after its header: next offset,
/// GUID, size), whose UTF-16 text is searched; `None`: unreadable.
fn template_body(chunk: &[u8], at: usize) -> Option<&[u8]> {
    let size = u32_at(chunk, at + 20)? as usize;
    chunk.get(at + 24..(at + 24).checked_add(size)?)
}

/// A hasher of a few words spread over a template's bytes: equal keys
/// are then compared whole, so a weak hash only costs a comparison.
#[derive(Default)]
pub struct Sampled(u64);

impl Hasher for Sampled {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0 ^ bytes.len() as u64;
        let step = (bytes.len() / 16).max(8);
        for w in bytes.chunks(8).step_by(step / 8) {
            let mut word = [0; 8];
            word[..w.len()].copy_from_slice(w);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        self.0 = h;
    }
}
