//! Fuzz the streaming inventory reader of `vigie check` on raw bytes:
//! BOM and UTF-16 decoding, shape sniffing, the JSON array element
//! scanner, JSON Lines, CSV byte records and the capped line reader. No
//! input may panic, and every row or error has a line number within the
//! input's reach.
#![no_main]
use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use vigie_builds::inventory::{ByteLines, Shape, rows, sniff};

fuzz_target!(|data: &[u8]| {
    // A tiny buffer so elements and lines straddle buffer refills.
    let reader = BufReader::with_capacity(7, data);
    let Ok((shape, text)) = sniff(reader) else { return };
    let limit = data.len() as u64 + 2;
    match shape {
        Shape::List => {
            for line in ByteLines::new(text) {
                let Ok(line) = line else { break };
                assert!(line.number <= limit);
            }
        }
        _ => {
            let Ok(rows) = rows(shape, text) else { return };
            for row in rows {
                let line = match row {
                    Ok(r) => r.line,
                    Err(e) => e.line,
                };
                assert!(line <= limit);
            }
        }
    }
});
