//! The file checks on a forged Exchange server tree: every detector fires
//! on its planted sample and stays quiet on the legitimate files, old
//! vendor archives and crash dumps around it; through the whole hunt a
//! web shell makes the web shell family compromised and turns requests
//! to it in the IIS log into findings.
//!
//! Samples are stored base64-encoded (no live-looking web shell in the
//! repository) and decoded into a temporary directory here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine;
use vigie_hunt::engine::{HuntOptions, HuntOutput, hunt};
use vigie_hunt::files::{FileIntel, FileIntelOptions, FileOutcome};
use vigie_hunt::place::windows_path;
use vigie_model::{Family, Finding, Grade, Verdict};

const FIXTURES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/files");
const V15: &str = "Program Files/Microsoft/Exchange Server/V15";
const TEMP_ASP: &str = "Windows/Microsoft.NET/Framework64/v4.0.30319/\
                        Temporary ASP.NET Files";

fn owa_auth() -> String {
    format!("{V15}/FrontEnd/HttpProxy/owa/auth")
}

fn ecp_auth() -> String {
    format!("{V15}/FrontEnd/HttpProxy/ecp/auth")
}

/// A decoded sample.
fn sample(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(
        Path::new(FIXTURES).join(format!("{name}.b64")),
    )
    .unwrap();
    let clean: String = text.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(clean).unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).unwrap()
}

/// 2021-03-03 (during the ProxyLogon wave) and 2019-06-01 (before it).
fn when(recent: bool) -> SystemTime {
    let secs = if recent { 1_614_729_600 } else { 1_559_347_200 };
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn put(root: &Path, rel: &str, data: &[u8], recent: bool) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, data).unwrap();
    let f = std::fs::File::options().write(true).open(&p).unwrap();
    f.set_modified(when(recent)).unwrap();
}

/// Legitimate files every Exchange server has, and look-alikes that must
/// stay quiet.
fn plant_negatives(c: &Path) {
    let auth = owa_auth();
    for name in ["logon.aspx", "errorFE.aspx", "signout.aspx"] {
        put(c, &format!("{auth}/{name}"), b"<%@ Page %>\r\n", false);
    }
    // A web.config is XML (VG-CFG-001 reads its modules; one that is not
    // is an error).
    put(c, &format!("{auth}/web.config"), b"<configuration />\r\n", false);
    put(
        c,
        &format!("{auth}/Current/themes/resources/logon.css"),
        b"a{}",
        false,
    );
    put(c, &format!("{auth}/15.2.986/scripts/premium/a.js"), b"//", false);
    put(
        c,
        &format!("{}/TimeoutLogout.aspx", ecp_auth()),
        b"<%@ Page %>",
        false,
    );
    put(
        c,
        "inetpub/wwwroot/aspnet_client/system_web/2_0_50727/WebUIValidation.js",
        b"//",
        false,
    );
    put(c, "inetpub/wwwroot/iisstart.htm", b"<html/>", false);
    put(c, "ProgramData/McAfee/Agent/Update/pkg.zip", b"PK\x03\x04", true);
    put(c, "ProgramData/vendor-2019.zip", b"PK\x03\x04\x14", false);
    put(c, "ProgramData/handbook.docx", b"PK\x03\x04\x14", true);
    put(c, "Windows/Temp/setup.dmp", b"not a minidump", true);
    put(
        c,
        "ProgramData/Microsoft/Windows/WER/ReportQueue/r/app.dmp",
        &sample("notepad-dump.bin"),
        true,
    );
    put(c, "Windows/System32/lsass.exe", b"MZ\x90\x00", false);
    put(c, "Users/admin/Desktop/root-ca.cer", b"\x30\x82\x01\x0a", true);
    put(
        c,
        &format!(
            "{TEMP_ASP}/owa/1a2b3c4d/5e6f7a8b/logon.aspx.2f4e6a1b.compiled"
        ),
        &fixture("logon.aspx.2f4e6a1b.compiled"),
        false,
    );
}

/// One planted sample per detector.
fn plant_positives(c: &Path) {
    let auth = owa_auth();
    put(
        c,
        &format!("{auth}/OutlookZH.aspx"),
        &sample("chopper-script.aspx"),
        true,
    );
    put(
        c,
        "inetpub/wwwroot/aspnet_client/system_web/AbCd1234.aspx",
        &sample("chopper-page.aspx"),
        true,
    );
    put(c, &format!("{auth}/ohyeah.aspx"), &sample("oab-dump.aspx"), true);
    put(
        c,
        &format!("{V15}/FrontEnd/HttpProxy/owa/cmd.aspx"),
        &sample("process-standin.aspx"),
        true,
    );
    put(
        c,
        "inetpub/wwwroot/site/loader.aspx",
        &sample("loader-standin.aspx"),
        true,
    );
    put(c, "ProgramData/COM1/mail.aspx", &sample("pst-export.aspx"), true);
    put(
        c,
        &format!("{}/req.aspx", ecp_auth()),
        &sample("der-request.aspx"),
        true,
    );
    put(
        c,
        &format!(
            "{TEMP_ASP}/owa/1a2b3c4d/5e6f7a8b/ohyeah.aspx.cdcab7d2.compiled"
        ),
        &fixture("ohyeah.aspx.cdcab7d2.compiled"),
        true,
    );
    put(c, "Windows/Temp/chrome.gif", &sample("lsass-dump.bin"), true);
    put(c, "root/lsass.dmp", b"procdump output stand-in", true);
    put(c, "ProgramData/it.zip", b"PK\x03\x04\x14\x00", true);
    put(c, "root/pst/exchange.7z", b"7z\xbc\xaf\x27\x1c\x00\x04", true);
    put(c, "Tools/procdump64.exe", b"MZ", true);
    put(c, "Windows/Temp/other.dmp", &sample("notepad-dump.bin"), true);
}

fn intel_opts(dir: &Path) -> FileIntelOptions {
    let lists = dir.join("lists");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(lists.join("hashes.txt"), fixture("hashes.txt")).unwrap();
    std::fs::write(lists.join("names.txt"), fixture("filename-iocs.txt"))
        .unwrap();
    FileIntelOptions {
        hash_files: vec![lists.join("hashes.txt")],
        filename_ioc_files: vec![lists.join("names.txt")],
        ..FileIntelOptions::default()
    }
}

/// Every file below `root`, checked by one worker.
fn check_tree(root: &Path, intel: &FileIntel) -> Vec<FileOutcome> {
    let mut worker = intel.worker();
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                let win = windows_path(&e.path(), root, false);
                out.push(worker.check(&e.path(), &win, &meta));
            }
        }
    }
    out
}

fn hits<'a>(all: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    all.iter().filter(|f| f.rule_id == rule).collect()
}

fn paths(found: &[&Finding]) -> BTreeSet<String> {
    found
        .iter()
        .map(|f| {
            f.details["win_path"].rsplit('\\').next().unwrap().to_string()
        })
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_detector_fires_on_its_sample_and_the_rest_stays_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("EX01").join("C");
    plant_negatives(&c);
    let (intel, load_errors) = FileIntel::load(&intel_opts(dir.path()));
    // The fixture lists hold one bad hash line and two bad IOC lines.
    let subjects: Vec<&str> =
        load_errors.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(load_errors.len(), 3, "{subjects:?}");
    assert!(subjects.iter().any(|s| s.ends_with("hashes.txt:7")));
    assert!(subjects.iter().any(|s| s.ends_with("names.txt:10")));
    assert!(subjects.iter().any(|s| s.ends_with("names.txt:12")));

    let quiet = check_tree(&c, &intel);
    let noise: Vec<&Finding> = quiet
        .iter()
        .flat_map(|o| &o.findings)
        .filter(|f| f.grade > Grade::Info)
        .collect();
    assert!(noise.is_empty(), "{noise:#?}");
    // The 2019 vendor zip is listed as context, with the reason.
    let info: Vec<&Finding> = quiet.iter().flat_map(|o| &o.findings).collect();
    assert_eq!(info.len(), 1, "{info:#?}");
    assert!(info[0].summary.contains("vendor-2019.zip"));
    assert!(info[0].summary.contains("predates"));
    assert!(quiet.iter().all(|o| o.errors.is_empty()));

    plant_positives(&c);
    let outs = check_tree(&c, &intel);
    let all: Vec<Finding> =
        outs.iter().flat_map(|o| o.findings.clone()).collect();
    let yara = hits(&all, "VG-FS-001");
    assert_eq!(
        paths(&yara),
        set(&[
            "OutlookZH.aspx",
            "AbCd1234.aspx",
            "ohyeah.aspx",
            "cmd.aspx",
            "loader.aspx"
        ])
    );
    for f in &yara {
        assert_eq!(f.details["yara_author"], "vigie");
        assert!(f.details["yara_reference"].starts_with("https://"));
        assert_eq!(f.grade, Grade::Compromised);
    }
    assert_eq!(paths(&hits(&all, "VG-FS-002")), set(&["ohyeah.aspx"]));
    assert_eq!(
        paths(&hits(&all, "VG-FS-003")),
        set(&["OutlookZH.aspx", "AbCd1234.aspx", "ohyeah.aspx", "req.aspx"])
    );
    assert_eq!(
        paths(&hits(&all, "VG-FS-004")),
        set(&["mail.aspx", "req.aspx"])
    );
    assert_eq!(
        paths(&hits(&all, "VG-FS-005")),
        set(&["ohyeah.aspx.cdcab7d2.compiled"])
    );
    assert_eq!(
        paths(&hits(&all, "VG-FS-006")),
        set(&["chrome.gif", "lsass.dmp"])
    );
    let archives = hits(&all, "VG-FS-007");
    assert_eq!(
        paths(&archives),
        set(&["it.zip", "exchange.7z", "vendor-2019.zip"])
    );
    assert_eq!(
        paths(&hits(&all, "VG-FS-008")),
        set(&["AbCd1234.aspx", "procdump64.exe", "it.zip"])
    );
    assert_eq!(paths(&hits(&all, "VG-FS-009")), set(&["other.dmp"]));
    // Web shells give their URLs to the log detectors.
    let urls: BTreeSet<String> =
        outs.iter().filter_map(|o| o.webshell_url.clone()).collect();
    assert!(urls.contains("/owa/auth/ohyeah.aspx"));
    assert!(urls.contains("/aspnet_client/system_web/abcd1234.aspx"));
    assert!(urls.contains("/owa/cmd.aspx"));
    // Files with findings are on the timeline, dated by their writes.
    let tl: Vec<_> = outs.iter().flat_map(|o| &o.timeline).collect();
    assert!(tl.iter().any(|e| e.kind == "file_modified"
        && e.message.contains("OutlookZH.aspx")
        && e.timestamp.to_rfc3339().starts_with("2021-03-03")));
    let stats: std::collections::BTreeMap<_, _> =
        intel.stats().into_iter().collect();
    assert_eq!(stats["hash_iocs"], 9);
    assert_eq!(stats["hash_iocs_not_sha256"], 2);
    assert_eq!(stats["filename_iocs"], 3);
}

fn hunt_tree(inputs: &[PathBuf], intel: FileIntelOptions) -> HuntOutput {
    let opts = HuntOptions {
        inputs: inputs.to_vec(),
        intel,
        threads: 2,
        ..HuntOptions::default()
    };
    hunt(&opts, &|_| {}).unwrap()
}

#[test]
fn a_web_shell_on_disk_makes_the_server_compromised_through_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("EX01").join("C");
    plant_negatives(&c);
    put(
        &c,
        "inetpub/wwwroot/aspnet_client/system_web/AbCd1234.aspx",
        &sample("chopper-page.aspx"),
        true,
    );
    let iis = "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query \
               s-port cs-username c-ip cs(User-Agent) cs(Cookie) sc-status\n\
               2021-03-04 02:00:00 10.0.0.5 POST \
               /aspnet_client/system_web/AbCd1234.aspx - 443 - 203.0.113.9 \
               antSword/v2.1 - 200\n";
    put(
        &c,
        "inetpub/logs/LogFiles/W3SVC1/u_ex210304.log",
        iis.as_bytes(),
        true,
    );
    let out = hunt_tree(std::slice::from_ref(&c), FileIntelOptions::default());
    let r = &out.report;
    assert_eq!(r.verdict, Verdict::Compromised, "{:#?}", r.families);
    let post = r
        .families
        .iter()
        .find(|f| f.family == Family::PostExploitation)
        .unwrap();
    assert_eq!(post.verdict, Verdict::Compromised);
    let cited: BTreeSet<&str> = post
        .findings
        .iter()
        .map(|&i| r.findings[i].rule_id.as_str())
        .collect();
    assert!(cited.contains("VG-FS-001"), "{cited:?}");
    assert!(cited.contains("VG-FS-003"), "{cited:?}");
    assert!(cited.contains("VG-IIS-005"), "{cited:?}");
    assert!(r.stats["yara_rules"] >= 5);
    assert!(r.stats["files_yara_scanned"] >= 1);
    assert!(
        out.timeline
            .iter()
            .any(|e| e.kind == "file_created" || e.kind == "file_modified")
    );
}

#[test]
fn a_clean_tree_stays_clean_of_file_findings_through_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("EX01").join("C");
    plant_negatives(&c);
    let out = hunt_tree(std::slice::from_ref(&c), FileIntelOptions::default());
    let r = &out.report;
    let post = r
        .families
        .iter()
        .find(|f| f.family == Family::PostExploitation)
        .unwrap();
    assert_eq!(post.verdict, Verdict::Clean, "{:#?}", r.findings);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

/// Defect 3 of issue 14 (the `C:\root` triage layout): a copy holding
/// only the attacker's `C:\root` folder (`EX/C/root/a.7z`) was mapped to
/// `C:\C\root\...`, so hunting `EX` missed the staged archive and a
/// filename IOC that hunting `EX/C` found. Both inputs must agree.
#[test]
fn c_root_triage_layout_is_mapped_to_the_drive_root() {
    let dir = tempfile::tempdir().unwrap();
    let ex = dir.path().join("EX");
    put(&ex, "C/root/a.7z", b"7z\xbc\xaf\x27\x1c\x00\x04", true);
    put(&ex, "C/root/procdump64.exe", b"MZ stand-in", true);
    let rules = |out: &HuntOutput| -> BTreeSet<(String, String)> {
        out.report
            .findings
            .iter()
            .map(|f| (f.rule_id.clone(), f.details["win_path"].clone()))
            .collect()
    };
    let from_ex = hunt_tree(std::slice::from_ref(&ex), intel_opts(dir.path()));
    let from_c = hunt_tree(&[ex.join("C")], intel_opts(dir.path()));
    let got = rules(&from_ex);
    assert_eq!(got, rules(&from_c));
    assert!(got.contains(&("VG-FS-007".into(), r"C:\root\a.7z".into())));
    assert!(
        got.contains(&("VG-FS-008".into(), r"C:\root\procdump64.exe".into())),
        "{got:?}"
    );
}
