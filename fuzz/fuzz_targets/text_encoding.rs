//! Fuzz encoding detection and the UTF-16 transcoding reader: any bytes
//! sniff to some encoding without panicking; reading them as UTF-8 gives
//! valid UTF-8 that, for UTF-16, equals encoding_rs's one-shot decode of
//! the same bytes (so reading in 64 KiB steps loses and invents nothing);
//! the day and `#Date` parsers of the hunt take the result without
//! panicking.
#![no_main]
use std::io::{Cursor, Read};

use libfuzzer_sys::fuzz_target;
use vigie_logs::encoding::{TextEncoding, sniff, utf8_reader};

fuzz_target!(|data: &[u8]| {
    let enc = sniff(data);
    let (got, mut r) = utf8_reader(Cursor::new(data.to_vec())).unwrap();
    assert_eq!(enc, got);
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    let big = match enc {
        TextEncoding::Utf16Le { .. } => Some(false),
        TextEncoding::Utf16Be { .. } => Some(true),
        _ => None,
    };
    if let Some(big) = big {
        let text = std::str::from_utf8(&out).expect("UTF-8 out");
        let codec = if big {
            encoding_rs::UTF_16BE
        } else {
            encoding_rs::UTF_16LE
        };
        let (want, _) = codec.decode_with_bom_removal(data);
        assert_eq!(text, want);
    } else {
        assert_eq!(out, data);
    }
    for line in out.split(|&b| b == b'\n') {
        let _ = vigie_hunt::coverage::days::date_header(line);
        let _ = vigie_hunt::coverage::days::parse_day(line);
    }
    if let Ok(name) = std::str::from_utf8(data) {
        let _ = vigie_hunt::coverage::days::name_period(name);
    }
});
