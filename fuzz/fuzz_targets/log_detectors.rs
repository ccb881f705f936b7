//! Fuzz every log detector (HttpProxy, IIS, OABGenerator, ECP server,
//! JSON event export, EVTX) on arbitrary file content: timestamps, CSV
//! and W3C rows, the literal prefilter, header switches and event JSON.
//! Nothing may panic; problems are per-file errors.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigie_hunt::detect::{LogScanOptions, classify_log, scan_log};

/// One file per log kind, named so `classify_log` picks that kind.
const FILES: &[&str] = &[
    "HttpProxy/Owa/HttpProxy_2021030307-1.LOG",
    "W3SVC1/u_ex210303.log",
    "OABGeneratorLog/OABGenerator_20210303-1.LOG",
    "ECP/Server/ECPServer_20210303-1.LOG",
    "events.jsonl",
    "Application.evtx",
];

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir()
        .join(format!("vigie-fuzz-logs-{}", std::process::id()));
    let opts = LogScanOptions {
        webshell_urls: vec!["/owa/auth/x.aspx".into()],
        ..LogScanOptions::default()
    };
    for rel in FILES {
        let path = dir.join(rel);
        let Some(parent) = path.parent() else { continue };
        if std::fs::create_dir_all(parent).is_err()
            || std::fs::write(&path, data).is_err()
        {
            continue;
        }
        let source = classify_log(&path).expect("fixture names classify");
        let r = scan_log(&path, source, &opts);
        // Every record is at least one byte (or one line) of the input.
        assert!(r.coverage.records <= data.len() as u64 + 1);
    }
});
