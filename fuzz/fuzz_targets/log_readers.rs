//! Fuzz the three line readers against each other: the capped line
//! reader, the block reader the detectors use, and readers over byte
//! ranges tiling the input (range size from the first byte) must give the
//! same lines, and none may panic.
#![no_main]
use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use vigie_logs::blocks::{Block, BlockReader};
use vigie_logs::range::{RangeReader, split_ranges};
use vigie_logs::{LineEvent, LineReader};

/// A line: its text, or `None` when over the cap.
fn by_lines<R: std::io::Read>(src: R) -> Vec<Option<Vec<u8>>> {
    LineReader::new(std::io::BufReader::new(src))
        .filter_map(|e| match e {
            LineEvent::Line(l) => Some(Some(l.text.into_bytes())),
            LineEvent::TooLong(_) => Some(None),
            LineEvent::Error(_) => None,
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&size, data)) = data.split_first() else { return };
    let want = by_lines(data);

    let mut blocks = Vec::new();
    let mut reader = BlockReader::new(data);
    while let Ok(Some(b)) = reader.next_block() {
        match b {
            Block::Lines(lines) => blocks.extend(lines.iter().map(|l| {
                Some(String::from_utf8_lossy(l.bytes).into_owned().into_bytes())
            })),
            Block::TooLong(_) => blocks.push(None),
        }
    }
    assert_eq!(blocks, want, "block reader");

    let mut ranged = Vec::new();
    for range in split_ranges(data.len() as u64, u64::from(size) + 1) {
        let r = RangeReader::new(Cursor::new(data), range).unwrap();
        ranged.extend(by_lines(r));
    }
    assert_eq!(ranged, want, "range readers");
});
