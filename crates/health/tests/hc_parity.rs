//! HealthChecker parity: vigie's judgement on HealthChecker's own Pester
//! fixtures (CSS-Exchange f88378b, MIT, vendored under
//! tests/fixtures/css-exchange) must equal what HealthChecker's tests
//! expect. Each test names the Pester test it ports.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use vigie_builds::Table;
use vigie_health::ep::{
    Ep, EpResult, Roles, build_supports_ep, extended_protection,
};
use vigie_health::iis::AppHost;
use vigie_health::{HealthError, Inputs, Judgement, ServerHealth, Status};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/css-exchange")
        .join(rel)
}

fn apphost(rel: &str) -> AppHost {
    AppHost::read(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn v(s: &str) -> [u32; 4] {
    vigie_health::inputs::parse_version(s).unwrap()
}

const BOTH: Roles = Roles { mailbox: true, client_access: true };
const CAS: Roles = Roles { mailbox: false, client_access: true };
const MBX: Roles = Roles { mailbox: true, client_access: false };

fn count(
    r: &EpResult,
    f: impl Fn(&vigie_health::ep::EpEntry) -> bool,
) -> usize {
    r.entries.iter().filter(|e| f(e)).count()
}

/// Port of `TestUnsupportedNotConfiguredExtendedProtection`.
fn unsupported_not_configured(r: &EpResult) {
    assert_eq!(r.supported_version, Some(false));
    assert_eq!(count(r, |e| e.actual != Ep::None), 0);
    assert_eq!(count(r, |e| e.expected != Ep::None), 0);
    assert_eq!(count(r, |e| !e.supported), 0);
    assert_eq!(count(r, |e| !e.properly_secured), 0);
}

/// Port of `TestSupportedConfiguredExtendedProtection` (without the IP
/// filter part, checked by its own test).
fn supported_configured(
    r: &EpResult,
    set: usize,
    expected: usize,
    skip_allow: bool,
    skip_autod: bool,
) {
    assert_eq!(r.supported_version, Some(true));
    assert_eq!(count(r, |e| e.actual != Ep::None), set, "EP set");
    assert_eq!(count(r, |e| e.expected != Ep::None), expected, "EP expected");
    assert_eq!(count(r, |e| !e.supported), 0);
    assert_eq!(count(r, |e| !e.properly_secured), 0);
    if !skip_allow {
        let allow: Vec<&str> = r
            .entries
            .iter()
            .filter(|e| e.actual == Ep::Allow)
            .map(|e| e.node_path.as_str())
            .collect();
        assert_eq!(allow.len(), 4, "{allow:?}");
        for p in [
            "Default Web Site/EWS",
            "Default Web Site/Microsoft-Server-ActiveSync",
            "Default Web Site/Microsoft-Server-ActiveSync/Proxy",
            "Default Web Site/OAB",
        ] {
            assert!(
                allow.iter().any(|a| a.eq_ignore_ascii_case(p)),
                "{p} in {allow:?}"
            );
        }
    }
    if !skip_autod {
        let none: Vec<&str> = r
            .entries
            .iter()
            .filter(|e| e.actual == Ep::None)
            .map(|e| e.vdir.as_str())
            .collect();
        assert_eq!(none.len(), 3, "{none:?}");
        for p in [
            "Default Web Site/Autodiscover",
            "Default Web Site/Powershell",
            "Exchange Back End/Autodiscover",
        ] {
            assert!(
                none.iter().any(|a| a.eq_ignore_ascii_case(p)),
                "{p} in {none:?}"
            );
        }
    }
}

/// Get-ExtendedProtectionConfiguration.Tests.ps1 › "No ExSetupVersion
/// Passed To The Function": 25 entries. vigie has no build to judge
/// against, so support is unknown rather than HC's mocked build's.
#[test]
fn hc13_no_build_still_lists_25_virtual_directories() {
    let r = extended_protection(
        &apphost("ep/E16_NotConfigured_ApplicationHost.config"),
        None,
        BOTH,
    );
    assert_eq!(r.entries.len(), 25);
    assert_eq!(r.supported_version, None);
    assert_eq!(count(&r, |e| e.actual != Ep::None), 0);
}

/// "Extended Protection Is Not Configured On Unsupported Exchange Version".
#[test]
fn hc13_not_configured_on_unsupported_builds() {
    for (file, build, roles) in [
        (
            "ep/E15_NotConfigured_Both_ApplicationHost.config",
            "15.00.1497.036",
            BOTH,
        ),
        (
            "ep/E15_NotConfigured_Cas_ApplicationHost.config",
            "15.00.1497.036",
            CAS,
        ),
        (
            "ep/E15_NotConfigured_Mbx_ApplicationHost.config",
            "15.00.1497.036",
            MBX,
        ),
        (
            "ep/E16_NotConfigured_ApplicationHost.config",
            "15.01.2507.009",
            BOTH,
        ),
        (
            "ep/E19_NotConfigured_ApplicationHost.config",
            "15.02.1118.009",
            BOTH,
        ),
    ] {
        unsupported_not_configured(&extended_protection(
            &apphost(file),
            Some(v(build)),
            roles,
        ));
    }
}

/// "Extended Protection Is Configured On Supported Exchange Version".
#[test]
fn hc13_configured_on_supported_builds() {
    let e = |f, b, r| extended_protection(&apphost(f), Some(v(b)), r);
    supported_configured(
        &e(
            "ep/E15_Configured_Both_ApplicationHost.config",
            "15.00.1497.038",
            BOTH,
        ),
        20,
        20,
        false,
        false,
    );
    supported_configured(
        &e(
            "ep/E15_Configured_Cas_ApplicationHost.config",
            "15.00.1497.038",
            CAS,
        ),
        9,
        9,
        false,
        true,
    );
    supported_configured(
        &e(
            "ep/E15_Configured_Mbx_ApplicationHost.config",
            "15.00.1497.038",
            MBX,
        ),
        12,
        12,
        true,
        true,
    );
    supported_configured(
        &e("ep/E16_Configured_ApplicationHost.config", "15.1.2375.30", BOTH),
        22,
        22,
        false,
        false,
    );
    supported_configured(
        &e("ep/E19_Configured_ApplicationHost.config", "15.2.1118.29", BOTH),
        22,
        22,
        false,
        false,
    );
}

/// "Extended Protection Is Configured On Supported Exchange Version And IP
/// Filter Is Configured" (both use build 15.2.1118.29, as HC's test does).
#[test]
fn hc13_ip_filter_on_back_end_ews_counts_as_secured() {
    for file in [
        "ep/E16_Configured_IPFilter_ApplicationHost.config",
        "ep/E19_Configured_IPFilter_ApplicationHost.config",
    ] {
        let r =
            extended_protection(&apphost(file), Some(v("15.2.1118.29")), BOTH);
        supported_configured(&r, 21, 22, false, true);
        let ews = r
            .entries
            .iter()
            .find(|e| e.vdir == "Exchange Back End/EWS")
            .unwrap();
        assert_eq!(ews.actual, Ep::None);
        assert!(ews.ip_filter && ews.properly_secured);
        let ips: Vec<&str> =
            ews.ip_entries.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(ips.len(), 4);
        for ip in [
            "192.168.100.5",
            "fe80::de2:4f45:21dc:6c5a%14",
            "::1",
            "127.0.0.1",
        ] {
            assert!(ips.contains(&ip), "{ip}");
        }
        assert!(ews.ip_entries.iter().all(|(_, allowed)| allowed != "false"));
    }
}

/// "Mix of Extended Protection Settings" › "Exchange 2019 Misconfigured".
#[test]
fn hc13_misconfigured_vdirs_are_named() {
    let r = extended_protection(
        &apphost("ep/E19_MisConfigured_ApplicationHost.config"),
        Some(v("15.2.1118.29")),
        BOTH,
    );
    let insecure_none = [
        "Default Web Site/ECP",
        "Exchange Back End/ECP",
        "Exchange Back End/Powershell",
    ];
    let not_supported = [
        "Default Web Site/Microsoft-Server-ActiveSync",
        "Default Web Site/OAB",
    ];
    assert_eq!(count(&r, |e| e.actual != Ep::None), 22 - insecure_none.len());
    assert_eq!(count(&r, |e| e.expected != Ep::None), 22);
    let names =
        |f: &dyn Fn(&vigie_health::ep::EpEntry) -> bool| -> Vec<String> {
            r.entries
                .iter()
                .filter(|e| f(e))
                .map(|e| e.vdir.to_lowercase())
                .collect()
        };
    let unsupported = names(&|e| !e.supported);
    assert_eq!(unsupported.len(), 2);
    for n in not_supported {
        assert!(unsupported.contains(&n.to_lowercase()), "{n}");
    }
    let insecure = names(&|e| !e.properly_secured);
    assert_eq!(insecure.len(), 4);
    for n in insecure_none.iter().chain(&["Default Web Site/OWA"]) {
        assert!(insecure.contains(&n.to_lowercase()), "{n}");
    }
    let none = names(&|e| e.actual == Ep::None);
    assert_eq!(none.len(), insecure_none.len() + 3);
    assert_eq!(
        count(&r, |e| e.actual == Ep::None && e.actual == e.expected),
        3
    );
}

/// "Supported/Unsupported Versions Tests".
#[test]
fn hc13_build_thresholds() {
    for (b, want) in [
        ("15.02.1119.011", true),
        ("15.02.1118.011", true),
        ("15.02.1118.010", false),
        ("15.02.0986.029", true),
        ("15.02.0986.028", true),
        ("15.02.0986.027", false),
        ("15.01.2508.011", true),
        ("15.01.2507.011", true),
        ("15.01.2507.010", false),
        ("15.01.2375.031", true),
        ("15.01.2375.030", true),
        ("15.01.2375.029", false),
        ("15.00.1498.038", true),
        ("15.00.1497.038", true),
        ("15.00.1497.037", false),
    ] {
        assert_eq!(build_supports_ep(v(b)), want, "{b}");
    }
}

// ---- HealthChecker.E19.*.Tests.ps1 scenarios, through the whole judge ----

fn judged(apphost_file: Option<&str>, exports: &[&str]) -> ServerHealth {
    let mut inp = Inputs { name: "VNEXT-E19A".into(), ..Inputs::default() };
    if let Some(f) = apphost_file {
        inp.apphost = Some(apphost(f));
        inp.apphost_path = Some(fixture(f));
    }
    for e in exports {
        inp.read_export(&fixture(e));
    }
    let as_of = NaiveDate::from_ymd_opt(2023, 3, 14).unwrap();
    vigie_health::judge(&inp, Table::embedded(), as_of)
}

fn find<'a>(
    h: &'a ServerHealth,
    id: &str,
    subject: Option<&str>,
) -> &'a Judgement {
    h.judgements
        .iter()
        .find(|j| {
            j.id == id
                && (subject.is_none() || j.subject.as_deref() == subject)
        })
        .unwrap_or_else(|| {
            panic!("no {id} {subject:?} in {:#?}", h.judgements)
        })
}

/// E19.Main › CU11 HyperV: "Your Exchange server is at risk. Install the
/// latest SU and enable Extended Protection" (red).
#[test]
fn hc1_unsupported_build_not_configured_is_at_risk() {
    let h = judged(Some("e19/applicationHost.config"), &["e19/ExSetup.xml"]);
    let ep = find(&h, "ep", None);
    assert_eq!(ep.status, Status::Fail);
    assert_eq!(
        ep.summary,
        "Your Exchange server is at risk. Install the latest SU and enable Extended Protection"
    );
}

/// E19.Main › CU11 HyperV: SerializedDataSigning "Unsupported Version".
#[test]
fn hc2_sds_unsupported_version_before_jan23su() {
    let h = judged(
        Some("e19/applicationHost.config"),
        &["e19/ExSetup.xml", "e19/GetSettingOverride.xml"],
    );
    let sds = find(&h, "sds", None);
    assert_eq!(sds.status, Status::Fail);
    assert!(sds.summary.starts_with("Unsupported Version"), "{}", sds.summary);
}

/// E19.Main › Physical: "Extended Protection isn't configured as
/// expected"; SerializedDataSigning False (red).
#[test]
fn hc3_supported_build_partly_configured() {
    let h = judged(
        Some("e19/applicationHost2.config"),
        &["e19/ExSetup1.xml", "e19/GetSettingOverride.xml"],
    );
    let ep = find(&h, "ep", None);
    assert_eq!(
        (ep.status, ep.summary.as_str()),
        (Status::Fail, "Extended Protection isn't configured as expected")
    );
    assert_eq!(find(&h, "sds", None).status, Status::Fail);
}

/// E19.Scenarios › Scenarios 1: "Extended Protection is configured, but
/// not supported on this Exchange Server build".
#[test]
fn hc4_configured_on_unsupported_build() {
    let h = judged(Some("e19/applicationHost1.config"), &["e19/ExSetup.xml"]);
    let ep = find(&h, "ep", None);
    assert_eq!(ep.status, Status::Fail);
    assert_eq!(
        ep.summary,
        "Extended Protection is configured, but not supported on this Exchange Server build"
    );
    assert!(
        h.judgements
            .iter()
            .any(|j| j.id == "ep.vdir"
                && j.summary.contains("does not support"))
    );
}

/// E19.Scenarios › Scenarios 1: "AMSI Enabled" False (yellow), from the
/// TopologyService override view.
#[test]
fn hc6_amsi_disabled_by_override() {
    let h = judged(
        Some("e19/applicationHost1.config"),
        &[
            "e19/ExSetup.xml",
            "e19/GetExchangeDiagnosticInfo_ADTopVariantConfiguration1.xml",
        ],
    );
    let amsi = find(&h, "amsi", None);
    assert_eq!(amsi.status, Status::Warn);
    assert!(
        amsi.evidence[0].seen.eq_ignore_ascii_case("Enabled=false"),
        "{:?}",
        amsi.evidence
    );
}

/// E19.Scenarios › Scenarios 2: no EP vulnerability with applicationHost1
/// on 15.2.1118.25.
#[test]
fn hc9_supported_and_configured_is_not_vulnerable() {
    let h = judged(Some("e19/applicationHost1.config"), &["e19/ExSetup1.xml"]);
    assert_eq!(find(&h, "ep", None).status, Status::Ok);
}

/// E19.Scenarios › Scenarios 2: SerializedDataSigning True (green) with
/// GetSettingOverride1.
#[test]
fn hc10_sds_enabled_by_override() {
    let h = judged(
        Some("e19/applicationHost1.config"),
        &["e19/ExSetup1.xml", "e19/GetSettingOverride1.xml"],
    );
    assert_eq!(find(&h, "sds", None).status, Status::Ok);
}

/// E19.Scenarios › Scenario 3: "EP - Default Web Site/OAB" Require
/// (yellow): above the expected Allow.
#[test]
fn hc11_oab_require_is_above_expectation() {
    let h = judged(Some("e19/applicationHost2.config"), &["e19/ExSetup1.xml"]);
    let oab = find(&h, "ep.vdir", Some("Default Web Site/OAB"));
    assert_eq!(oab.status, Status::Warn);
    assert!(oab.summary.starts_with("Require"), "{}", oab.summary);
}

/// E19.Scenarios2: "Invalid Configuration File" for BadApplicationHost and
/// DefaultWebSite_web1 (red): both get a named XML error.
#[test]
fn hc12_malformed_config_files_are_named_errors() {
    for f in
        ["e19/BadApplicationHost.config", "e19/DefaultWebSite_web1.config"]
    {
        let e = vigie_health::xml::ConfigText::read(&fixture(f))
            .unwrap()
            .parse()
            .unwrap_err();
        assert!(matches!(e, HealthError::Xml { line, .. } if line > 0), "{e}");
        assert!(e.to_string().contains(f.trim_start_matches("e19/")), "{e}");
    }
    for f in [
        "e19/DefaultWebSite_web.config",
        "e19/DefaultWebSite_web2.config",
        "e19/EdgeTransport.exe.config",
        "e19/noderunner.exe.config",
    ] {
        vigie_health::xml::ConfigText::read(&fixture(f))
            .unwrap()
            .parse()
            .unwrap();
    }
}

/// E19.Scenarios › TLS: HealthChecker's TLSConfiguration recomputed from
/// the raw registry values in its GetAllTlsSettings exports. Entries whose
/// raw values contradict the export's own booleans (hand-edited test data)
/// are listed in docs/health.md and skipped.
#[test]
fn hc5_tls_configuration_from_raw_values() {
    let mut compared = 0;
    for f in [
        "e19/GetAllTlsSettings.xml",
        "e19/GetAllTlsSettings1.xml",
        "e19/GetAllTlsSettings2.xml",
    ] {
        let values = vigie_health::clixml::read_file(&fixture(f)).unwrap();
        for (version, expected, raw, consistent) in tls_entries(&values) {
            let got =
                vigie_health::check::os::tls_configuration(&version, raw);
            if consistent {
                assert_eq!(got, expected, "{f} TLS {version}");
                compared += 1;
            }
        }
    }
    assert_eq!(
        compared, 8,
        "rows compared (4 of 12 contradict their own booleans)"
    );
}

type Raw = [Option<u64>; 4];

/// (version, TLSConfiguration, [server enabled, server DBD, client enabled,
/// client DBD], raw values agree with the export's booleans).
fn tls_entries(
    values: &[vigie_health::clixml::Value],
) -> Vec<(String, String, Raw, bool)> {
    use vigie_health::clixml::Value;
    fn walk(v: &Value, out: &mut Vec<(String, String, Raw, bool)>) {
        match v {
            Value::Obj(o) => {
                if let (Some(ver), Some(conf)) =
                    (o.text("TLSVersion"), o.text("TLSConfiguration"))
                {
                    let n = |k: &str| {
                        o.text(k)
                            .and_then(|t| t.parse::<i64>().ok())
                            .map(|x| x as u64)
                    };
                    let b = |k: &str| o.text(k) == Some("true");
                    let raw = [
                        n("ServerEnabledValue"),
                        n("ServerDisabledByDefaultValue"),
                        n("ClientEnabledValue"),
                        n("ClientDisabledByDefaultValue"),
                    ];
                    let null_on = ver != "1.3";
                    let on = |x: Option<u64>| x.map_or(null_on, |v| v != 0);
                    let dbd = |x: Option<u64>| x.is_some_and(|v| v != 0);
                    let consistent = on(raw[0]) == b("ServerEnabled")
                        && on(raw[2]) == b("ClientEnabled")
                        && dbd(raw[1]) == b("ServerDisabledByDefault")
                        && dbd(raw[3]) == b("ClientDisabledByDefault");
                    out.push((
                        ver.to_string(),
                        conf.to_string(),
                        raw,
                        consistent,
                    ));
                }
                for (_, p) in &o.props {
                    walk(p, out);
                }
                for i in &o.items {
                    walk(i, out);
                }
            }
            Value::List(l) => l.iter().for_each(|i| walk(i, out)),
            Value::Dict(d) => d.iter().for_each(|(_, v)| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    values.iter().for_each(|v| walk(v, &mut out));
    out
}
