//! Fuzz the Sigma rule loader (`hunt --sigma`): any text either loads or
//! is refused with a reason, never a panic; a rule that loads can be
//! evaluated over a small IIS log and a JSON event without panicking.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vigie_model::hunt::LogSource;
use vigie_sigma::{RuleSet, Window, parse_rule, scan_file};

const IIS: &str = "#Fields: date time cs-method cs-uri-stem cs-uri-query \
     c-ip cs(User-Agent) sc-status\n\
     2021-03-03 01:02:03 GET /owa/auth/x.aspx a=b 192.0.2.1 M+Z 200\n";
const EVENT: &str = "{\"EventID\": 1, \"Channel\": \
     \"Microsoft-Windows-Sysmon/Operational\", \"CommandLine\": \"cmd /c x\"}\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse_rule(text, Path::new("fuzz.yml")) {
        Err(((reason, _), _)) => assert!(!reason.is_empty()),
        Ok(rule) => {
            let dir = std::env::temp_dir().join("vigie-fuzz-sigma");
            let _ = std::fs::create_dir_all(&dir);
            let iis = dir.join("u_ex210303.log");
            let ev = dir.join("events.jsonl");
            let _ = std::fs::write(&iis, IIS);
            let _ = std::fs::write(&ev, EVENT);
            let set = RuleSet::from_rules(vec![rule]);
            let w = Window::default();
            let _ = scan_file(&iis, LogSource::Iis, &set, &w);
            let _ = scan_file(&ev, LogSource::EventJson, &set, &w);
        }
    }
});
