//! Fuzz the build-string parser, the inventory reader and the judgement:
//! none may panic on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = vigie_builds::parse_build(text);
    let table = vigie_builds::Table::embedded();
    let _ = table.assess(text, table.as_of());
    let _ = vigie_builds::inventory::parse_inventory(text);
});
