//! What attacked Exchange after ProxyLogon, through the whole hunt: an
//! OWASSRF request in the back end's Rps_Http log, the inbox rule and
//! export it ran (cmdlet log), rogue transport agents (`agents.config`)
//! and a sign-in page and script changed to capture passwords, next to
//! their legitimate counterparts, which stay quiet. A broken agent
//! configuration is a named error and the hunt goes on.
//!
//! The capture page and script are stored base64-encoded and decoded
//! into a temporary tree here (no live-looking credential stealer in the
//! repository); logs and configurations are synthetic, laid out as
//! Exchange 2019 writes them (headers as published by CrowdStrike's
//! Rps_Http-IOC script and the Qazeer/artefacts.help Exchange notes).

use std::path::Path;

use base64::Engine;
use vigie_hunt::engine::{HuntOptions, hunt};
use vigie_model::{Family, Grade, Verdict};

const FIXTURES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/persistence");
const V15: &str = "Program Files/Microsoft/Exchange Server/V15";

fn fixture(name: &str) -> Vec<u8> {
    let raw = std::fs::read(Path::new(FIXTURES).join(name)).unwrap();
    if !name.ends_with(".b64") {
        return raw;
    }
    let clean: String =
        String::from_utf8(raw).unwrap().split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(clean).unwrap()
}

fn put(root: &Path, rel: &str, data: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

fn forge(c: &Path) {
    let rps = format!("{V15}/Logging/CmdletInfra/Powershell-Proxy");
    put(
        c,
        &format!("{rps}/Http/Rps_Http_2022121510-1.LOG"),
        &fixture("Rps_Http_2022121510-1.LOG"),
    );
    put(
        c,
        &format!("{rps}/Cmdlet/Rps_Cmdlet_2022121510-1.LOG"),
        &fixture("Rps_Cmdlet_2022121510-1.LOG"),
    );
    let shared = format!("{V15}/TransportRoles/Shared");
    put(
        c,
        &format!("{shared}/agents.config"),
        &fixture("agents-rogue.config"),
    );
    put(
        c,
        &format!("{shared}/fetagents.config"),
        &fixture("agents-broken.config"),
    );
    let owa = format!("{V15}/FrontEnd/HttpProxy/owa/auth");
    put(c, &format!("{owa}/logon.aspx"), &fixture("logon-capture.aspx.b64"));
    put(
        c,
        &format!("{owa}/15.2.1118/scripts/premium/flogon.js"),
        &fixture("flogon-capture.js.b64"),
    );
    // The back end's copy of the sign-in page, unchanged.
    let back = format!("{V15}/ClientAccess/Owa/auth");
    put(
        c,
        &format!("{back}/logon.aspx"),
        &fixture("logon-exchange-like.aspx"),
    );
}

#[test]
fn post_proxylogon_persistence_is_found_and_judged() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("EX01").join("C");
    forge(&c);
    let opts =
        HuntOptions { inputs: vec![c.clone()], ..HuntOptions::default() };
    let out = hunt(&opts, &|_| {}).unwrap();
    let r = &out.report;
    let mut got: Vec<(String, Grade, String)> = r
        .findings
        .iter()
        .filter(|f| f.rule_id != "VG-LOG-001")
        .map(|f| {
            let name = Path::new(&f.source.path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (f.rule_id.clone(), f.grade, name)
        })
        .collect();
    got.sort();
    let want = [
        ("VG-CMD-001", Grade::Attempt, "Rps_Cmdlet_2022121510-1.LOG"),
        ("VG-CMD-001", Grade::Compromised, "Rps_Cmdlet_2022121510-1.LOG"),
        ("VG-FS-010", Grade::Compromised, "flogon.js"),
        ("VG-FS-010", Grade::Compromised, "logon.aspx"),
        ("VG-RPS-001", Grade::Attempt, "Rps_Http_2022121510-1.LOG"),
        ("VG-RPS-001", Grade::Exploited, "Rps_Http_2022121510-1.LOG"),
        ("VG-TA-001", Grade::Attempt, "agents.config"),
        ("VG-TA-002", Grade::Compromised, "agents.config"),
        ("VG-TA-002", Grade::Compromised, "agents.config"),
    ];
    let want: Vec<(String, Grade, String)> = want
        .iter()
        .map(|(a, g, n)| (a.to_string(), *g, n.to_string()))
        .collect();
    assert_eq!(got, want);

    let rule = |id: &str| r.findings.iter().find(|f| f.rule_id == id).unwrap();
    let owassrf = rule("VG-RPS-001");
    assert_eq!(owassrf.details["user"], "CONTOSO\\alice");
    assert_eq!(owassrf.details["client_chain"], "198.51.100.23 -> 10.0.0.5");
    let agent = r
        .findings
        .iter()
        .find(|f| {
            f.details
                .get("agent")
                .is_some_and(|a| a == "Exchange Hygiene Agent")
        })
        .unwrap();
    assert_eq!(
        agent.details["assembly_path"],
        r"C:\ProgramData\Microsoft\Crypto\hygiene.dll"
    );
    assert_eq!(agent.attack, ["T1505.002"]);
    assert!(rule("VG-FS-010").summary.contains("capture credentials"));

    let fam = |f: Family| r.families.iter().find(|v| v.family == f).unwrap();
    assert_eq!(fam(Family::Owassrf).verdict, Verdict::Exploited);
    assert_eq!(fam(Family::Persistence).verdict, Verdict::Compromised);
    assert_eq!(r.verdict, Verdict::Compromised);

    // The broken configuration is an error naming the file; the hunt
    // went on (the other one was judged).
    let broken: Vec<_> = r
        .errors
        .iter()
        .filter(|e| e.subject.ends_with("fetagents.config"))
        .collect();
    assert_eq!(broken.len(), 1, "{:?}", r.errors);
    assert!(
        broken[0].message.contains("not well-formed XML"),
        "{}",
        broken[0].message
    );
}

/// The Persistence family is listed once its evidence is seen: clean
/// with what was read when nothing is found.
#[test]
fn stock_agents_and_routine_cmdlets_leave_persistence_clean() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("EX02").join("C");
    let stock: String = String::from_utf8(fixture("agents-rogue.config"))
        .unwrap()
        .lines()
        .filter(|l| {
            !l.contains("<agent ") || l.contains("Program Files\\Microsoft")
        })
        .filter(|l| !l.contains("Contoso"))
        .collect::<Vec<_>>()
        .join("\r\n");
    put(
        &c,
        &format!("{V15}/TransportRoles/Shared/agents.config"),
        stock.as_bytes(),
    );
    put(
        &c,
        &format!("{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"),
        &fixture("logon-exchange-like.aspx"),
    );
    let opts = HuntOptions { inputs: vec![c], ..HuntOptions::default() };
    let r = hunt(&opts, &|_| {}).unwrap().report;
    assert!(
        r.findings.iter().all(|f| f.family != Family::Persistence),
        "{:?}",
        r.findings
    );
    let p =
        r.families.iter().find(|v| v.family == Family::Persistence).unwrap();
    assert_eq!(p.verdict, Verdict::Clean);
    assert!(
        p.reason.contains("1 transport agent configuration file(s)"),
        "{}",
        p.reason
    );
}
