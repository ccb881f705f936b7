//! VG-CFG-001, IIS modules IIS and Exchange do not ship, on real and
//! forged configuration files: every backdoor-style registration is a
//! finding with its element path, HealthChecker's real Exchange 2019
//! applicationHost.config and OWA web.config give none, and a broken
//! file is a named error. Also through a whole hunt of a server tree.

use std::path::{Path, PathBuf};

use vigie_hunt::engine::{HuntOptions, hunt};
use vigie_hunt::files::{FileIntel, FileIntelOptions, FileOutcome};
use vigie_hunt::place::windows_path;
use vigie_model::{Family, Grade, Severity};

const FIXTURES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/files/iis-modules");
const HC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../health/tests/fixtures/css-exchange/e19"
);
const CONFIG: &str = "Windows/System32/inetsrv/config/applicationHost.config";
const OWA: &str = "Program Files/Microsoft/Exchange Server/V15/FrontEnd/\
                   HttpProxy/owa/web.config";

/// Copy `src` to `rel` below a fresh server root and check it.
fn check(src: &Path, rel: &str) -> FileOutcome {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("EX01");
    let p = base.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::copy(src, &p).unwrap();
    let meta = std::fs::symlink_metadata(&p).unwrap();
    let win = windows_path(&p, &base, false);
    let (intel, errors) = FileIntel::load(&FileIntelOptions::default());
    assert!(errors.is_empty(), "{errors:?}");
    intel.worker().check(&p, &win, &meta)
}

fn modules(o: &FileOutcome) -> Vec<(String, Grade)> {
    o.findings
        .iter()
        .filter(|f| f.rule_id == "VG-CFG-001")
        .map(|f| (f.details["module_name"].clone(), f.grade))
        .collect()
}

#[test]
fn backdoor_registrations_in_application_host_are_findings() {
    let o = check(
        &Path::new(FIXTURES).join("applicationHost-backdoored.config"),
        CONFIG,
    );
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert_eq!(
        modules(&o),
        [
            ("IisTelemetryHelper".to_string(), Grade::Compromised),
            ("HttpLoggingModule".to_string(), Grade::Compromised),
            ("CacheHelperModule".to_string(), Grade::Attempt),
            ("ExtendedAuth".to_string(), Grade::Attempt),
        ]
    );
    let f = &o.findings[0];
    assert_eq!(f.attack, ["T1505.004"]);
    assert_eq!(f.family, Family::PostExploitation);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.details["config_element"],
        "system.webServer/globalModules/add[@name='IisTelemetryHelper']@image"
    );
    assert_eq!(f.details["module_value"], r"%windir%\Temp\iistelemetry.dll");
    let owa = &o.findings[3];
    assert!(
        owa.details["config_element"]
            .starts_with("location[@path='Default Web Site/owa']/")
    );
}

#[test]
fn masquerading_managed_module_in_web_config_is_a_finding() {
    let o = check(&Path::new(FIXTURES).join("web-backdoored.config"), OWA);
    assert_eq!(
        modules(&o),
        [("SessionHelper".to_string(), Grade::Compromised)]
    );
}

#[test]
fn real_exchange_configs_give_no_finding() {
    for (file, rel) in [
        ("applicationHost.config", CONFIG),
        ("applicationHost1.config", CONFIG),
        ("DefaultWebSite_web.config", OWA),
    ] {
        let o = check(&Path::new(HC).join(file), rel);
        assert!(modules(&o).is_empty(), "{file}: {:?}", o.findings);
        assert!(o.errors.is_empty(), "{file}: {:?}", o.errors);
    }
}

#[test]
fn broken_config_is_a_named_error_not_a_finding() {
    let o = check(&Path::new(FIXTURES).join("web-broken.config"), OWA);
    assert!(modules(&o).is_empty());
    assert_eq!(o.errors.len(), 1, "{:?}", o.errors);
    assert!(o.errors[0].subject.ends_with("web.config"), "{:?}", o.errors);
    assert!(
        o.errors[0].message.contains("invalid XML at line"),
        "{:?}",
        o.errors
    );
}

#[test]
fn whole_hunt_reports_the_module_and_judges_post_exploitation() {
    let dir = tempfile::tempdir().unwrap();
    let root: PathBuf = dir.path().join("EX01/C");
    let p = root.join(CONFIG);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::copy(
        Path::new(FIXTURES).join("applicationHost-backdoored.config"),
        &p,
    )
    .unwrap();
    let opts = HuntOptions {
        inputs: vec![dir.path().join("EX01")],
        threads: 1,
        ..HuntOptions::default()
    };
    let out = hunt(&opts, &|_| {}).unwrap();
    let ids: Vec<&str> =
        out.report.findings.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(
        ids.iter().filter(|i| **i == "VG-CFG-001").count(),
        4,
        "{ids:?}"
    );
    let fam = out
        .report
        .families
        .iter()
        .find(|f| f.family == Family::PostExploitation)
        .unwrap();
    assert_eq!(fam.verdict, vigie_model::Verdict::Compromised);
}
