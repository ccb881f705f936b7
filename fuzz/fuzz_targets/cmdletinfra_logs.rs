//! The Rps_Http and cmdlet log readers (CmdletInfra) on arbitrary file
//! content: headers, CSV rows, the ClientInfo check and the persistence
//! cmdlet classifier. Nothing may panic; problems are per-file errors.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigie_hunt::detect::{LogScanOptions, classify_log, scan_log};

const FILES: &[&str] = &[
    "Logging/CmdletInfra/Powershell-Proxy/Http/Rps_Http_2022121510-1.LOG",
    "Logging/CmdletInfra/Powershell-Proxy/Cmdlet/Rps_Cmdlet_2022121510-1.LOG",
];

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir()
        .join(format!("vigie-fuzz-cmdletinfra-{}", std::process::id()));
    for rel in FILES {
        let path = dir.join(rel);
        let Some(parent) = path.parent() else { continue };
        if std::fs::create_dir_all(parent).is_err()
            || std::fs::write(&path, data).is_err()
        {
            continue;
        }
        let source = classify_log(&path).expect("fixture names classify");
        let r = scan_log(&path, source, &LogScanOptions::default());
        assert!(r.coverage.records <= data.len() as u64 + 1);
    }
    let text = String::from_utf8_lossy(data);
    let (cmdlet, params) = text.split_once(' ').unwrap_or((&text, ""));
    let _ = vigie_hunt::detect::persist::classify(cmdlet, params);
});
