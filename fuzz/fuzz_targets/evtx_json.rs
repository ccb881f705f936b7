//! Fuzz the EVTX reader (via a temp file) and the record flattener.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigie_logs::evtx::{flatten, read_evtx};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = flatten(&v);
    }
    let dir = std::env::temp_dir().join("vigie-fuzz-evtx");
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join(format!("{}.evtx", std::process::id()));
    if std::fs::write(&p, data).is_ok() {
        let _ = read_evtx(&p, |_| {}, |_| {});
    }
});
