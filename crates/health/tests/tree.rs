//! Whole server trees: forged hives read back through notatin, broken
//! hives and config files giving named errors while the rest is judged,
//! the demo's four weaknesses reported with their evidence, and nothing
//! written under the judged tree.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use vigie_builds::Table;
use vigie_health::registry::forge::HiveBuilder;
use vigie_health::registry::{HiveKind, RegData, read_hive};
use vigie_health::sample::{Weaknesses, write_server};
use vigie_health::{CveVerdict, ServerHealth, Status};

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 9, 1).unwrap()
}

fn judge(dir: &Path, exports: Option<&Path>) -> Vec<ServerHealth> {
    vigie_health::judge_path(dir, exports, Table::embedded(), as_of())
}

#[test]
fn forged_hive_reads_back_through_notatin() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = HiveBuilder::new();
    h.value("Select", "Current", RegData::Dword(2))
        .value(r"ControlSet002\Control\Lsa", "LsaCfgFlags", RegData::Dword(1))
        .value(
            r"ControlSet002\Control\Lsa",
            "Name",
            RegData::Str("a longer string value".into()),
        )
        .value(
            r"ControlSet002\Services\MSExchangeMitigation",
            "Start",
            RegData::Dword(4),
        )
        .value(r"ControlSet001\Control\Lsa", "LsaCfgFlags", RegData::Dword(0));
    let p = dir.path().join("SYSTEM");
    std::fs::write(&p, h.build()).unwrap();
    let read = read_hive(&p, HiveKind::System).unwrap();
    assert!(read.stale.is_none());
    let s = &read.snapshot;
    let lsa = r"CurrentControlSet\Control\Lsa";
    assert_eq!(
        s.get(HiveKind::System, lsa, "lsacfgflags").data,
        Some(&RegData::Dword(1))
    );
    assert_eq!(
        s.get(HiveKind::System, lsa, "Name").data,
        Some(&RegData::Str("a longer string value".into()))
    );
    assert!(
        s.get(HiveKind::System, lsa, "LsaCfgFlags")
            .key
            .contains("ControlSet002")
    );
}

/// Broken hives: truncated, bad checksum, foreign file, dirty without logs.
#[test]
fn broken_hives_get_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = HiveBuilder::new();
    h.value(
        r"Microsoft\ExchangeServer\v15\Setup",
        "MsiBuildMajor",
        RegData::Dword(2562),
    );
    let good = h.build();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("truncated", good[..good.len() - 100].to_vec(), "truncated"),
        ("short", good[..1000].to_vec(), "truncated"),
        (
            "checksum",
            {
                let mut b = good.clone();
                b[100] ^= 0xff;
                b
            },
            "checksum",
        ),
        ("foreign", b"MZ this is not a hive".repeat(300), "regf"),
    ];
    for (name, bytes, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes).unwrap();
        let e = read_hive(&p, HiveKind::Software).unwrap_err();
        assert!(e.to_string().contains(want), "{name}: {e}");
        assert!(e.to_string().contains(name), "{name}: {e}");
    }
    // Dirty (sequence numbers differ, checksum fixed up): read, but flagged.
    let mut dirty = good.clone();
    dirty[8] = 7;
    let sum = dirty[..508]
        .chunks_exact(4)
        .fold(0u32, |a, c| a ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    dirty[508..512].copy_from_slice(&sum.to_le_bytes());
    let p = dir.path().join("dirty");
    std::fs::write(&p, &dirty).unwrap();
    let read = read_hive(&p, HiveKind::Software).unwrap();
    assert!(read.stale.unwrap().to_string().contains("dirty hive"));
    let v = read.snapshot.get(
        HiveKind::Software,
        r"Microsoft\ExchangeServer\v15\Setup",
        "MsiBuildMajor",
    );
    assert_eq!(v.data, Some(&RegData::Dword(2562)));
}

fn hashes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.display().to_string(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// The demo's server (issue 10, "Done when"): EP off on one directory, an
/// override disabling a CVE fix, CVE-2026-42897's mitigation missing and
/// an unknown IIS module, each reported with its evidence; a clean twin
/// has none of them; nothing under either tree changes.
#[test]
fn forged_weaknesses_are_reported_with_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let (bad, exports) =
        write_server(dir.path(), "EXCH01", Weaknesses::all()).unwrap();
    let (good, good_exports) =
        write_server(dir.path(), "EXCH02", Weaknesses::default()).unwrap();
    let before = hashes(dir.path());
    let h = &judge(&bad, Some(&exports))[0];
    assert_eq!(h.server, "EXCH01");
    assert!(h.errors.is_empty(), "{:?}", h.errors);
    assert_eq!(h.build.as_deref(), Some("15.2.2562.46"));
    let find = |id: &str, subject: &str| {
        h.judgements
            .iter()
            .find(|j| j.id == id && j.subject.as_deref() == Some(subject))
            .unwrap_or_else(|| panic!("{id} {subject}: {:#?}", h.judgements))
    };
    let ecp = find("ep.vdir", "Default Web Site/ECP");
    assert_eq!(ecp.status, Status::Fail);
    assert!(
        ecp.evidence[0].location.contains("tokenChecking")
            && ecp.evidence[0].seen == "None"
    );
    let ov = find("override.cve", "CVE-2025-53782");
    assert_eq!(ov.status, Status::Fail);
    assert!(
        ov.evidence[0].seen.contains("Enabled=False"),
        "{:?}",
        ov.evidence
    );
    let m = find("mitigation.rewrite", "CVE-2026-42897");
    assert_eq!(m.status, Status::Fail);
    let module = find("iis.module", "IisTelemetryHelper");
    assert_eq!(module.status, Status::Warn);
    assert!(module.evidence[0].seen.contains(r"Windows\Temp"));
    assert!(
        h.cves.iter().any(|c| c.cve == "CVE-2024-21410"
            && c.state == CveVerdict::VulnerableByConfig),
        "{:#?}",
        h.cves
    );
    assert!(h.needs_action());

    let g = &judge(&good, Some(&good_exports))[0];
    let fails: Vec<_> =
        g.judgements.iter().filter(|j| j.status == Status::Fail).collect();
    assert!(fails.is_empty(), "{fails:#?}");
    assert_eq!(
        g.judgements.iter().find(|j| j.id == "ep").unwrap().status,
        Status::Ok
    );
    assert_eq!(hashes(dir.path()), before, "a judged tree was modified");
}

/// A folder of several servers' collections, one with a broken hive and
/// a garbled applicationHost.config: named errors, the rest judged.
#[test]
fn folder_of_servers_with_broken_inputs() {
    let dir = tempfile::tempdir().unwrap();
    write_server(dir.path(), "EXCH01", Weaknesses::default()).unwrap();
    let (two, _) =
        write_server(dir.path(), "EXCH02", Weaknesses::default()).unwrap();
    let cfg = two.join("C/Windows/System32/config/SYSTEM");
    std::fs::write(&cfg, b"regf garbage").unwrap();
    let ah =
        two.join("C/Windows/System32/inetsrv/config/applicationHost.config");
    std::fs::write(&ah, "<configuration><location path=\"x\">\u{0}\u{1}<<<")
        .unwrap();
    let all = judge(dir.path(), None);
    assert_eq!(all.len(), 2);
    assert!(all[0].errors.is_empty(), "{:?}", all[0].errors);
    let errs: Vec<String> = all[1]
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.subject, e.message))
        .collect();
    assert!(
        errs.iter().any(|e| e.contains("SYSTEM") && e.contains("truncated")),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.contains("applicationHost.config")
            && e.contains("invalid XML")),
        "{errs:?}"
    );
    let ep = all[1].judgements.iter().find(|j| j.id == "ep").unwrap();
    assert_eq!(ep.status, Status::Unknown);
    assert!(ep.settle.as_deref().unwrap().contains("applicationHost.config"));
    assert!(
        all[1]
            .judgements
            .iter()
            .any(|j| j.id == "iis.config_valid" && j.status == Status::Fail)
    );
    // Without exports, override judgements are unknown and say what settles them.
    let amsi = all[0].judgements.iter().find(|j| j.id == "amsi").unwrap();
    assert_eq!(amsi.status, Status::Unknown);
    assert!(amsi.settle.as_deref().unwrap().contains("Get-SettingOverride"));
}

/// Huge inputs are refused by size before they are read.
#[test]
fn huge_config_is_a_named_limit_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("applicationHost.config");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(vigie_health::xml::MAX_CONFIG + 1).unwrap();
    let e = vigie_health::xml::ConfigText::read(&p).unwrap_err();
    assert!(e.to_string().contains("limit"), "{e}");
    let deep = format!("<Objs>{}", "<Obj>".repeat(10_000));
    let e = vigie_health::clixml::parse(&p, deep.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("nested deeper"), "{e}");
}

/// Write a web.config for the OWA virtual directory of a forged server.
fn owa_web_config(server: &Path, rules: &str) {
    let p = server.join(
        "C/Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/web.config",
    );
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<configuration>\n  \
         <system.webServer>\n    <rewrite>\n      <rules>\n{rules}      \
         </rules>\n    </rewrite>\n  </system.webServer>\n</configuration>\n"
    );
    std::fs::write(p, text).unwrap();
}

/// Issue 10, URL Rewrite merging: a virtual directory's web.config
/// `<clear/>` in `<rewrite><rules>` drops the rules it inherits, so the
/// CVE-2026-42897 mitigation set at site level no longer protects OWA;
/// a `<remove>` of the rule does the same; re-adding the rule after the
/// clear keeps it in place.
#[test]
fn vdir_clear_cancels_site_mitigation() {
    let m42897 = |h: &ServerHealth| {
        h.judgements
            .iter()
            .find(|j| {
                j.id == "mitigation.rewrite"
                    && j.subject.as_deref() == Some("CVE-2026-42897")
            })
            .cloned()
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let (server, exports) =
        write_server(dir.path(), "EXCH02", Weaknesses::default()).unwrap();
    let before = m42897(&judge(&server, Some(&exports))[0]);
    assert_eq!(before.status, Status::Ok, "{before:#?}");

    owa_web_config(&server, "        <clear />\n");
    let j = m42897(&judge(&server, Some(&exports))[0]);
    assert_eq!(j.status, Status::Fail, "{j:#?}");
    assert!(j.summary.starts_with("cancelled"), "{}", j.summary);
    let ev = &j.evidence[0];
    assert!(ev.source.contains("owa") && ev.source.contains("web.config"));
    assert_eq!(ev.location, "<clear/>");
    assert!(ev.seen.contains("EEMS M2.1.0 OWA - inbound"), "{ev:?}");
    assert!(ev.seen.contains("wwwroot"), "inherited from the site: {ev:?}");

    owa_web_config(
        &server,
        "        <remove name=\"EEMS M2.1.0 OWA - inbound\" />\n",
    );
    let j = m42897(&judge(&server, Some(&exports))[0]);
    assert_eq!(j.status, Status::Fail, "{j:#?}");
    assert!(j.evidence[0].location.starts_with("<remove"), "{j:#?}");

    owa_web_config(
        &server,
        "        <clear />\n        <rule name=\"EEMS M2.1.0 OWA - inbound\" \
         stopProcessing=\"true\">\n          <match url=\".*\" />\n          \
         <action type=\"AbortRequest\" />\n        </rule>\n",
    );
    let j = m42897(&judge(&server, Some(&exports))[0]);
    assert_eq!(j.status, Status::Ok, "{j:#?}");
}
