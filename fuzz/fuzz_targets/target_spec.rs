//! Fuzz target-spec, port-list and blocklist parsing: none may panic, and
//! a parsed set must index consistently.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = vigie_targets::parse_spec(text);
    let _ = vigie_targets::parse_ports(text);
    let _ = vigie_targets::Shard::parse(text);
    if let Ok(set) = vigie_targets::parse_exclusions(text) {
        if let Some(last) = set.len().checked_sub(1) {
            let ip = set.nth(last).expect("last index exists");
            assert!(set.contains(ip));
        }
    }
});
