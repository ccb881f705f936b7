//! Fuzz the EVTX reader (via a temp file) and the record flatteners: the
//! fast one over JSON bytes must agree with the one over a parsed Value,
//! and reading the file one chunk at a time must find as many records as
//! reading it whole.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigie_logs::evtx::{
    chunk_count, flatten, flatten_json, read_evtx, read_evtx_chunks,
};

fuzz_target!(|data: &[u8]| {
    let fast = flatten_json(data);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        assert_eq!(fast.ok(), Some(flatten(&v)));
    }
    let dir = std::env::temp_dir().join("vigie-fuzz-evtx");
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join(format!("{}.evtx", std::process::id()));
    if std::fs::write(&p, data).is_ok() {
        let mut whole = 0;
        if read_evtx(&p, |_| whole += 1, |_| {}).is_ok() {
            let mut parts = 0;
            for c in 0..chunk_count(&p).unwrap_or(0) {
                let _ = read_evtx_chunks(&p, c..c + 1, |_| parts += 1, |_| {});
            }
            assert_eq!(parts, whole);
        }
    }
});
