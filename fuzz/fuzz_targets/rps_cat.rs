//! The `X-Rps-CAT` token decoder (ProxyShell's serialized
//! CommonAccessToken) on arbitrary bytes and query text: no panic, no
//! hang; a cut or garbled token gives a reason.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigie_hunt::detect::rpscat;

fuzz_target!(|data: &[u8]| {
    let t = rpscat::parse(data);
    assert!(t.groups.len() <= 64);
    let text = String::from_utf8_lossy(data);
    if let Some(raw) = rpscat::param(&text) {
        let _ = rpscat::decode(raw);
    }
    let _ = rpscat::decode(&text);
});
