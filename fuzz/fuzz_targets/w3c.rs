//! Fuzz the IIS W3C header and record splitting.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigie_logs::{Header, LineEvent, LineReader, split_w3c, w3c_header};

fuzz_target!(|data: &[u8]| {
    let mut header = Header::default();
    for ev in LineReader::new(data) {
        if let LineEvent::Line(l) = ev {
            if let Some(h) = w3c_header(&l.text) {
                header = h;
            } else {
                let row = split_w3c(&l.text);
                let _ = header.get(&row, "cs-uri-stem");
            }
        }
    }
});
