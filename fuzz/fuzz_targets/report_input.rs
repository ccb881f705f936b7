//! Fuzz the report's JSONL reader and the owner list parser: any bytes
//! give records and item errors, never a panic; the HTML of whatever was
//! read renders.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut records = vigie_report::input::Records::default();
    records.read(data, "fuzz.jsonl");
    let _ = vigie_report::html::render_report(&records.hosts, &records.hunts);
    let _ = vigie_report::owners::parse(
        &String::from_utf8_lossy(data),
        "owners.csv",
    );
});
