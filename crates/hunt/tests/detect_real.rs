//! Real data: the OTRF ProxyLogon run must yield the planted OAB payload,
//! the web shell write and the w3wp child process.

use std::path::Path;

use vigie_hunt::detect::{LogScanOptions, classify_log, scan_log};
use vigie_model::hunt::LogSource;

const FIXTURES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real");

#[test]
fn otrf_proxylogon_run_yields_payload_shell_write_and_child() {
    let enc = std::fs::read(
        Path::new(FIXTURES).join("otrf-proxylogon/subset.jsonl.xor"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("proxylogon_ssrf_rce_poc.json");
    std::fs::write(&p, enc.iter().map(|b| b ^ 0x5A).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(classify_log(&p), Some(LogSource::EventJson));
    let r = scan_log(&p, LogSource::EventJson, &LogScanOptions::default());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.coverage.records, 218);
    let has = |rule: &str, key: &str, needle: &str| {
        r.findings.iter().any(|f| {
            f.rule_id == rule
                && f.details.get(key).is_some_and(|v| v.contains(needle))
        })
    };
    assert!(has("VG-EV-001", "cmdlet", "Set-OabVirtualDirectory"));
    assert!(has("VG-EV-001", "payload", "<script"));
    assert!(has("VG-EV-002", "written_path", "ohyeah.aspx"));
    assert!(has("VG-EV-003", "command_line", "whoami"));
    let oab = r.findings.iter().find(|f| f.rule_id == "VG-EV-001").unwrap();
    assert_eq!(
        oab.timestamp.unwrap().to_rfc3339(),
        "2021-03-14T01:40:12.987+00:00"
    );
}

#[test]
fn real_evtx_files_parse_with_coverage() {
    let dir = Path::new(FIXTURES).join("evtx-to-mitre");
    let mut total = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|e| e != "evtx") {
            continue;
        }
        assert_eq!(classify_log(&p), Some(LogSource::Evtx));
        let r = scan_log(&p, LogSource::Evtx, &LogScanOptions::default());
        // One record of the ID6 sample has a zero time (1601-01-01): it
        // is reported and left out of coverage, as any implausible time.
        let zero_time = |e: &vigie_model::ItemError| {
            e.message.contains("1 record(s) with an implausible time")
                && e.message.contains("1601-01-01")
        };
        assert!(
            r.errors.iter().all(zero_time),
            "{}: {:?}",
            p.display(),
            r.errors
        );
        assert_eq!(
            r.coverage.implausible,
            u64::from(p.to_string_lossy().contains("ID6-"))
        );
        assert!(r.coverage.records > 0, "{}", p.display());
        assert!(r.coverage.first.is_some());
        total += 1;
    }
    assert_eq!(total, 3);
}

/// Real persistence attempts (EVTX-to-MITRE-Attack, CC0): the failed
/// `Install-TransportAgent` of a rogue agent (MSExchange Management,
/// EVTX data with no rendered message) and `agents.config` edited by
/// notepad++ (Sysmon 11) are both findings of the Persistence family.
#[test]
fn real_transport_agent_attempts_are_persistence_findings() {
    let dir = Path::new(FIXTURES).join("evtx-to-mitre");
    let scan = |name: &str| {
        scan_log(&dir.join(name), LogSource::Evtx, &LogScanOptions::default())
    };
    let r = scan("ID6-Failed_to_install_an_Exchange_transport_agent.evtx");
    let install = r
        .findings
        .iter()
        .find(|f| {
            f.details
                .get("cmdlet")
                .is_some_and(|c| c == "Install-TransportAgent")
        })
        .unwrap_or_else(|| panic!("{:?}", r.findings));
    assert_eq!(install.rule_id, "VG-EV-005");
    assert_eq!(install.family, vigie_model::Family::Persistence);
    // It failed (the assembly did not exist): intent, not access.
    assert_eq!(install.grade, vigie_model::Grade::Attempt);
    assert!(install.details["parameters"].contains("NetshHelperBeacon.dll"));
    let r = scan("ID11-Exchange_transport_config_modified.evtx");
    let write = r
        .findings
        .iter()
        .find(|f| f.rule_id == "VG-EV-007")
        .unwrap_or_else(|| panic!("{:?}", r.findings));
    assert!(
        write.details["written_path"]
            .ends_with(r"TransportRoles\Shared\agents.config")
    );
    assert!(write.details["image"].ends_with("notepad++.exe"));
}
