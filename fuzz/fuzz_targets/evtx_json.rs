//! Fuzz the EVTX reader (via a temp file) and the record flatteners: the
//! fast one over JSON bytes must agree with the one over a parsed Value,
//! the one-pass reader of a few fields with both, reading only those
//! fields of a file must give the whole records' values of them, reading
//! only the records holding a needle must give those records whole (and
//! the others, if any, without fields), and reading the file one chunk
//! at a time must find as many records as reading it whole.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigie_logs::evtx::{
    chunk_count, flatten, flatten_json, flatten_only, project, read_evtx,
    read_evtx_chunks, read_evtx_fields, Fields,
};

/// Needles for the filtered read (each with a letter of ghjkmopqvwy).
const NEEDLES: &[&str] = &["w3wp.exe", ".aspx", "System", "Security"];

/// Whether a flat record holds a needle in a kept text (ASCII case
/// ignored): then the filtered reader must have rendered it. Texts made
/// of JSON (arrays, objects) are left out: they hold element names too.
fn holds(v: &serde_json::Value) -> bool {
    v.as_object().is_some_and(|m| {
        let texts = m.values().filter_map(|v| v.as_str());
        texts.filter(|s| !s.starts_with(['[', '{'])).any(|s| {
            let l = s.to_ascii_lowercase();
            NEEDLES.iter().any(|n| l.contains(&n.to_ascii_lowercase()))
        })
    })
}

/// What the hunt's event rules read, and a few common data names.
const KEEP: &[&str] = &[
    "EventID", "Level", "Channel", "SourceName", "Message", "Image",
    "CommandLine", "TargetFilename", "ParentImage", "Data", "Name", "a",
];

fuzz_target!(|data: &[u8]| {
    let fast = flatten_json(data);
    let only = flatten_only(data, KEEP);
    assert_eq!(only.is_ok(), fast.is_ok());
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let full = flatten(&v);
        assert_eq!(only.ok(), Some(project(full.clone(), KEEP)));
        assert_eq!(fast.ok(), Some(full));
    }
    let dir = std::env::temp_dir().join("vigie-fuzz-evtx");
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join(format!("{}.evtx", std::process::id()));
    if std::fs::write(&p, data).is_ok() {
        let mut whole = Vec::new();
        let mut errors = 0;
        if read_evtx(&p, |r| whole.push(r), |_| errors += 1).is_ok() {
            let mut picked = Vec::new();
            let mut picked_errors = 0;
            let keep = Fields::Only(KEEP);
            read_evtx_fields(&p, keep, |r| picked.push(r), |_| picked_errors += 1)
                .unwrap();
            assert_eq!(picked_errors, errors);
            assert_eq!(picked.len(), whole.len());
            for (a, b) in picked.iter().zip(&whole) {
                assert_eq!((a.record_id, a.timestamp), (b.record_id, b.timestamp));
                assert_eq!(a.value, project(b.value.clone(), KEEP));
            }
            // Filtered: every record read whole comes back, whole when it
            // holds a needle (a record failing only in rendering may come
            // back, without fields, where the whole read reports it).
            let mut held = Vec::new();
            let holding = Fields::Holding { fields: KEEP, needles: NEEDLES };
            read_evtx_fields(&p, holding, |r| held.push(r), |_| {}).unwrap();
            let mut rest = held.iter();
            for b in &whole {
                let want = project(b.value.clone(), KEEP);
                let a = rest
                    .by_ref()
                    .find(|a| (a.record_id, a.timestamp) == (b.record_id, b.timestamp))
                    .expect("record missing from the filtered read");
                if holds(&want) {
                    assert_eq!(a.value, want);
                } else {
                    assert!(a.value == want || a.value.as_object().is_some_and(|m| m.is_empty()));
                }
            }
            let mut parts = 0;
            for c in 0..chunk_count(&p).unwrap_or(0) {
                let _ = read_evtx_chunks(&p, c..c + 1, |_| parts += 1, |_| {});
            }
            assert_eq!(parts, whole.len());
        }
    }
});
