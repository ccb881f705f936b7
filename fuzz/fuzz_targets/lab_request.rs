//! The lab's request-head parser and responder take any client bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(req) = vigie_lab::parse_head(data) {
        for p in vigie_lab::PERSONAS {
            let _ = vigie_lab::respond::respond(p, "EXCH1", &req);
        }
    }
});
