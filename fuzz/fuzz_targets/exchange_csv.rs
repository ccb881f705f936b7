//! Fuzz the capped line reader and Exchange CSV header/row splitting.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigie_logs::{Header, LineEvent, LineReader, csv_header, split_csv};

fuzz_target!(|data: &[u8]| {
    let mut header = Header::default();
    for ev in LineReader::new(data) {
        if let LineEvent::Line(l) = ev {
            if let Some(h) = csv_header(&l.text) {
                header = h;
            } else {
                let row = split_csv(&l.text);
                let _ = header.get(&row, "AnchorMailbox");
            }
        }
    }
});
