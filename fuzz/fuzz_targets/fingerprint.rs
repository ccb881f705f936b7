//! Fuzz the HTTP response parser and the fingerprint extraction with
//! server-controlled bytes: none may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigie_scan::fingerprint::{Observed, fingerprint, manifest_version};
use vigie_scan::http::parse_response;

fuzz_target!(|data: &[u8]| {
    if let Ok(response) = parse_response(data) {
        let _ = fingerprint(&[Observed {
            request: "GET /owa/".to_string(),
            response,
        }]);
    }
    let text = String::from_utf8_lossy(data);
    let _ = manifest_version(&text);
    let _ = vigie_scan::fingerprint::owa_path_version(&text);
});
