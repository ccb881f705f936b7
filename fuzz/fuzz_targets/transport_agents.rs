//! The transport agent configuration reader (`agents.config`) on
//! arbitrary bytes: broken XML is an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vigie_hunt::files::agents::parse(data);
});
