//! Fuzz the EVTX reader (via a temp file) and the record flatteners: the
//! fast one over JSON bytes must agree with the one over a parsed Value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigie_logs::evtx::{flatten, flatten_json, read_evtx};

fuzz_target!(|data: &[u8]| {
    let fast = flatten_json(data);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        assert_eq!(fast.ok(), Some(flatten(&v)));
    }
    let dir = std::env::temp_dir().join("vigie-fuzz-evtx");
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join(format!("{}.evtx", std::process::id()));
    if std::fs::write(&p, data).is_ok() {
        let _ = read_evtx(&p, |_| {}, |_| {});
    }
});
