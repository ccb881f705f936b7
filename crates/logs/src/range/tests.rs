//! Readers over ranges that tile a file must give exactly the lines one
//! reader over the whole file gives, whatever the ranges, caps and line
//! lengths; and a giant line must cost a reported skip, not memory.

use std::io::{BufReader, Cursor, Write};

use super::*;
use crate::{LineEvent, LineReader};

/// A line as a reader reports it: text, or `None` when over the cap.
type Seen = Option<String>;

fn lines<R: Read>(src: R, cap: usize) -> Vec<Seen> {
    // Tiny buffers for small inputs, so reads end anywhere in a line.
    let buf = if cap > 1 << 16 { 1 << 16 } else { 7 };
    LineReader::with_cap(BufReader::with_capacity(buf, src), cap)
        .map(|e| match e {
            LineEvent::Line(l) => Some(l.text),
            LineEvent::TooLong(_) => None,
            LineEvent::Error(e) => panic!("{e}"),
        })
        .collect()
}

fn by_ranges<R: Read + Seek>(mut src: R, size: u64, cap: usize) -> Vec<Seen> {
    let len = src.seek(SeekFrom::End(0)).unwrap();
    let mut out = Vec::new();
    for range in split_ranges(len, size) {
        let r = RangeReader::new(&mut src, range).unwrap();
        out.extend(lines(r, cap));
    }
    out
}

/// Deterministic text with short, empty, CRLF and over-cap lines.
fn sample(seed: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut x = seed;
    for i in 0..300u32 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let len = match x % 7 {
            0 => 0,
            1 => 40 + (x >> 8) as usize % 200,
            _ => (x >> 8) as usize % 30,
        };
        out.extend((0..len).map(|j| b'a' + ((i as usize + j) % 26) as u8));
        out.extend_from_slice(if x.is_multiple_of(5) {
            b"\r\n"
        } else {
            b"\n"
        });
    }
    out.extend_from_slice(b"last line without newline");
    out
}

#[test]
fn ranges_of_any_size_give_the_lines_of_one_reader() {
    for seed in [1, 2, 3] {
        let data = sample(seed);
        for cap in [16, 64, 1 << 16] {
            let want = lines(&data[..], cap);
            for size in [1, 2, 3, 17, 64, 1000, 1 << 30] {
                let got = by_ranges(Cursor::new(&data), size, cap);
                assert_eq!(got, want, "seed {seed} cap {cap} size {size}");
            }
        }
    }
}

#[test]
fn empty_input_and_empty_lines() {
    assert!(by_ranges(Cursor::new(b""), 4, 8).is_empty());
    let want = [Some(String::new()), Some(String::new()), Some("x".into())];
    assert_eq!(by_ranges(Cursor::new(b"\n\r\nx"), 1, 8), want);
}

/// Regression guard for giant lines: a 48 MiB line in a real file, read
/// with the default cap whole and in 8 MiB ranges (five of which lie
/// inside the line): it is reported once as too long, the lines around
/// it are read, and no reader holds more than the cap.
#[test]
fn giant_line_in_a_file_costs_a_too_long_not_memory() {
    let dir = std::env::temp_dir()
        .join(format!("vigie-logs-giant-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("giant.log");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"2021-03-03T00:00:00Z,first\n").unwrap();
    let chunk = vec![b'A'; 1 << 20];
    for _ in 0..48 {
        f.write_all(&chunk).unwrap();
    }
    f.write_all(b"\n2021-03-03T00:00:01Z,after\n").unwrap();
    drop(f);
    let want = [
        Some("2021-03-03T00:00:00Z,first".into()),
        None,
        Some("2021-03-03T00:00:01Z,after".into()),
    ];
    for size in [8 << 20, 1 << 40] {
        let file = std::fs::File::open(&path).unwrap();
        assert_eq!(by_ranges(file, size, crate::MAX_LINE), want);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ranges_tile_the_file() {
    let r = split_ranges(10, 4);
    assert_eq!(r.len(), 3);
    assert_eq!(r[0], ByteRange { start: 0, end: 4 });
    assert_eq!(r[2], ByteRange { start: 8, end: u64::MAX });
    assert_eq!(split_ranges(0, 4).len(), 1);
}

#[test]
fn position_tracks_the_file_offset() {
    let data = b"aa\nbbb\ncc\n";
    let range = ByteRange { start: 4, end: 8 };
    let mut r = RangeReader::new(Cursor::new(&data[..]), range).unwrap();
    assert_eq!(r.position(), 7);
    let mut s = String::new();
    r.read_to_string(&mut s).unwrap();
    assert_eq!(s, "cc\n");
}
