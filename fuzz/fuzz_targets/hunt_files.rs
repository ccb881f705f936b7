//! The file checks' parsers (hash and filename IOC lists, minidumps,
//! compiled-page XML, magic bytes) on arbitrary bytes: no panic, no hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vigie_hunt::files::fuzz_parsers(data);
});
