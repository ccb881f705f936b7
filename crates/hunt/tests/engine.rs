//! The whole hunt on small server trees: the real OTRF ProxyLogon run,
//! clean and uncovered servers, hostile inputs, and the promise that the
//! evidence is never modified.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vigie_hunt::engine::{HuntOptions, HuntOutput, hunt};
use vigie_model::hunt::LogSource;
use vigie_model::{Family, Finding, Verdict};

const FIXTURES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real");
const V15: &str = "Program Files/Microsoft/Exchange Server/V15";
const AUTH: &str =
    "Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth";

fn write(root: &Path, rel: &str, data: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

/// The OTRF events, decoded (the repository holds them XOR-encoded).
fn otrf_events() -> Vec<u8> {
    let enc = std::fs::read(
        Path::new(FIXTURES).join("otrf-proxylogon/subset.jsonl.xor"),
    )
    .unwrap();
    enc.iter().map(|b| b ^ 0x5A).collect()
}

fn httpproxy(rows: &[(&str, &str, &str)]) -> String {
    let mut s = String::from(
        "#Software: Microsoft Exchange Server\n\
         #Fields: DateTime,RequestId,UrlStem,AnchorMailbox,UserAgent,\
         ServerHostName,HttpStatus,Method\n",
    );
    for (when, anchor, status) in rows {
        s.push_str(&format!(
            "{when},1,/ecp/y.js,{anchor},Mozilla/5.0,EX01,{status},POST\n"
        ));
    }
    s
}

fn iis(rows: &[&str]) -> String {
    let mut s = String::from(
        "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port \
         cs-username c-ip cs(User-Agent) cs(Cookie) sc-status\n",
    );
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

/// Logs with a record on every day from 2020-12-01 to 2023-01-31 (one
/// HttpProxy and one IIS file a month, named as Exchange and IIS name
/// them) that show nothing.
fn quiet_logs(c: &Path) {
    for i in 0..26 {
        let (y, m) = (2020 + (11 + i) / 12, (11 + i) % 12 + 1);
        let days = match m {
            2 if y % 4 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let stamps: Vec<String> =
            (1..=days).map(|d| format!("{y}-{m:02}-{d:02}")).collect();
        let rows: Vec<(String, &str, &str)> = stamps
            .iter()
            .map(|d| (format!("{d}T08:00:00Z"), "Smtp~a@contoso.local", "200"))
            .collect();
        let rows: Vec<(&str, &str, &str)> =
            rows.iter().map(|(a, b, c)| (a.as_str(), *b, *c)).collect();
        write(
            c,
            &format!(
                "{V15}/Logging/HttpProxy/Owa/HttpProxy_{y}{m:02}0100-1.LOG"
            ),
            httpproxy(&rows).as_bytes(),
        );
        let lines: Vec<String> = stamps
            .iter()
            .map(|d| {
                format!(
                    "{d} 08:00:00 10.0.0.5 GET /owa/ - 443 a 10.0.0.7 M - 200"
                )
            })
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        write(
            c,
            &format!(
                "inetpub/logs/LogFiles/W3SVC1/u_ex{:02}{m:02}.log",
                y - 2000
            ),
            iis(&lines).as_bytes(),
        );
    }
    write(c, &format!("{AUTH}/logon.aspx"), b"<%@ Page %>");
    std::fs::create_dir_all(c.join("inetpub/wwwroot/aspnet_client")).unwrap();
}

fn run(inputs: &[PathBuf]) -> HuntOutput {
    let opts =
        HuntOptions { inputs: inputs.to_vec(), ..HuntOptions::default() };
    hunt(&opts, &|_| {}).unwrap()
}

fn find<'a>(
    out: &'a HuntOutput,
    rule: &str,
    key: &str,
    needle: &str,
) -> Option<(usize, &'a Finding)> {
    out.report.findings.iter().enumerate().find(|(_, f)| {
        f.rule_id == rule
            && f.details.get(key).is_some_and(|v| v.contains(needle))
    })
}

#[test]
fn real_otrf_proxylogon_run_is_compromised_with_the_whole_chain() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("MXS01").join("C");
    write(
        &c,
        "Windows/System32/winevt/Logs/proxylogon_ssrf_rce_poc.json",
        &otrf_events(),
    );
    // The shell the run wrote, as found on the disk (a stand-in body).
    write(&c, &format!("{AUTH}/ohyeah.aspx"), b"stand-in");
    let out = run(&[c]);
    let r = &out.report;
    assert_eq!(r.verdict, Verdict::Compromised, "{:#?}", r.families);
    assert_eq!(r.host, "MXS01");
    let (oab, _) =
        find(&out, "VG-EV-001", "cmdlet", "Set-OabVirtualDirectory").unwrap();
    assert!(r.findings[oab].details["payload"].contains("<script"));
    let (write_i, w) =
        find(&out, "VG-EV-002", "written_path", "ohyeah.aspx").unwrap();
    assert_eq!(w.details["exists"], "true");
    assert!(w.details["evidence_path"].ends_with("ohyeah.aspx"));
    let (child, _) =
        find(&out, "VG-EV-003", "command_line", "whoami").unwrap();
    // The evidence chain: each step is cited by its family's verdict.
    let fam =
        |f: Family| r.families.iter().find(|v| v.family == f).unwrap().clone();
    let pl = fam(Family::ProxyLogon);
    assert_eq!(pl.verdict, Verdict::Exploited);
    assert!(pl.findings.contains(&oab));
    let post = fam(Family::PostExploitation);
    assert_eq!(post.verdict, Verdict::Compromised);
    assert!(post.findings.contains(&write_i));
    assert!(post.findings.contains(&child));
    // Payload, then the write, then the shell's child, in time order.
    assert!(oab < write_i && write_i < child);
    let ev = r.coverage.iter().find(|c| c.source == LogSource::EventJson);
    assert_eq!(ev.unwrap().records, 218);
    assert!(out.timeline.len() >= 3);
    assert!(out.timeline.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
}

#[test]
fn loose_event_export_alone_is_judged_without_a_disk() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("proxylogon.json");
    std::fs::write(&p, otrf_events()).unwrap();
    let out = run(&[p]);
    assert_eq!(out.report.verdict, Verdict::Compromised);
    let (_, w) =
        find(&out, "VG-EV-002", "written_path", "ohyeah.aspx").unwrap();
    assert_eq!(w.details["exists"], "unknown");
    assert_eq!(out.report.host, "MXS01");
}

/// Path -> (bytes, mtime) of every file below `root`.
fn fingerprint(
    root: &Path,
) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                let m = e.metadata().unwrap();
                let bytes = std::fs::read(e.path()).unwrap();
                out.insert(e.path(), (bytes, m.modified().unwrap()));
            }
        }
    }
    out
}

#[test]
fn evidence_is_never_modified() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("EX01").join("C");
    quiet_logs(&c);
    write(&c, "Windows/System32/winevt/Logs/proxylogon.json", &otrf_events());
    write(&c, &format!("{AUTH}/ohyeah.aspx"), b"stand-in");
    write(&c, "ProgramData/it.zip", b"PK\x03\x04");
    let before = fingerprint(dir.path());
    let out = run(&[c]);
    assert_eq!(out.report.verdict, Verdict::Compromised);
    assert_eq!(fingerprint(dir.path()), before);
}

#[test]
fn clean_tree_with_covering_logs_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("EX01").join("C");
    quiet_logs(&c);
    let out = run(&[c]);
    let r = &out.report;
    assert_eq!(r.verdict, Verdict::Clean, "{:#?}", r.families);
    assert!(r.findings.is_empty());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.host, "EX01");
    let hp = r.coverage.iter().find(|c| c.source == LogSource::HttpProxy);
    assert!(hp.unwrap().covers_window);
}

#[test]
fn no_logs_is_inconclusive_never_clean() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("EX01").join("C");
    write(&c, &format!("{AUTH}/logon.aspx"), b"<%@ Page %>");
    let out = run(&[c]);
    assert_eq!(out.report.verdict, Verdict::Inconclusive);
    assert!(out.report.findings.is_empty());
    assert!(out.notes.iter().any(|n| n.contains("no log files")));
    // Logs that start after the window are no better.
    let late = dir.path().join("late");
    let proxy =
        httpproxy(&[("2024-05-01T08:00:00Z", "Smtp~a@contoso.local", "200")]);
    write(&late, "HttpProxy_2024050108-1.LOG", proxy.as_bytes());
    let out = run(&[late.join("HttpProxy_2024050108-1.LOG")]);
    assert_eq!(out.report.verdict, Verdict::Inconclusive);
}

#[test]
fn hostile_inputs_become_errors_and_the_hunt_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("EX01").join("C");
    quiet_logs(&c);
    let logs = c.join(format!("{V15}/Logging/HttpProxy/Ecp"));
    // Binary garbage, a line far over the cap, truncated EVTX, 0 bytes.
    let garbage: Vec<u8> = (0..200_000u32).map(|i| (i * 7919) as u8).collect();
    write(&logs, "HttpProxy_binary.LOG", &garbage);
    let mut huge = b"#Fields: DateTime,AnchorMailbox\n".to_vec();
    huge.extend(std::iter::repeat_n(b'A', 3 << 20));
    write(&logs, "HttpProxy_huge.LOG", &huge);
    let evtx_dir = c.join("Windows/System32/winevt/Logs");
    write(&evtx_dir, "Security.evtx", b"ElfFile\0truncated");
    write(&evtx_dir, "Empty.evtx", b"");
    write(&c, "inetpub/logs/LogFiles/W3SVC1/u_ex210101.log", b"");
    write(
        &evtx_dir,
        "export.json",
        b"{\"EventID\": 1, \"Message\": \"x\"\n\xff\xfe",
    );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&c, c.join("Windows/loop")).unwrap();
    }
    let out = run(std::slice::from_ref(&c));
    let r = &out.report;
    let about = |name: &str| r.errors.iter().any(|e| e.subject.contains(name));
    assert!(about("HttpProxy_huge.LOG"), "{:#?}", r.errors);
    assert!(about("Security.evtx"), "{:#?}", r.errors);
    assert!(about("export.json"), "{:#?}", r.errors);
    #[cfg(unix)]
    assert!(about("loop"), "{:#?}", r.errors);
    // The good logs were still read.
    let iis = r.coverage.iter().find(|c| c.source == LogSource::Iis).unwrap();
    assert!(iis.covers_window);
    assert_eq!(iis.files, 27);
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_an_error_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("EX01").join("C");
    quiet_logs(&c);
    let p = c.join("inetpub/logs/LogFiles/W3SVC1/u_ex210102.log");
    std::fs::write(&p, "x").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000))
        .unwrap();
    if std::fs::read(&p).is_ok() {
        eprintln!("running as root: permissions do not apply, skipped");
        return;
    }
    let out = run(&[c]);
    assert!(
        out.report.errors.iter().any(|e| e.subject.contains("u_ex210102")),
        "{:#?}",
        out.report.errors
    );
}

#[test]
fn exchange_root_inside_an_input_is_walked_once() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("EX01").join("C");
    let proxy = httpproxy(&[(
        "2021-03-03T01:00:00Z",
        "ServerInfo~a]@EX01.contoso.local:444/mapi/emsmdb/?#",
        "200",
    )]);
    write(
        &c,
        &format!("{V15}/Logging/HttpProxy/Mapi/HttpProxy_1.LOG"),
        proxy.as_bytes(),
    );
    let opts = HuntOptions {
        inputs: vec![c.clone()],
        exchange_root: Some(c.join(V15)),
        ..HuntOptions::default()
    };
    let out = hunt(&opts, &|_| {}).unwrap();
    let hits: Vec<_> = out
        .report
        .findings
        .iter()
        .filter(|f| f.rule_id == "VG-PL-001")
        .collect();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(out.report.verdict, Verdict::Exploited);
}

#[test]
fn missing_inputs_are_errors_and_none_at_all_is_fatal() {
    let opts = HuntOptions {
        inputs: vec!["/nonexistent/vigie".into()],
        ..HuntOptions::default()
    };
    let err = hunt(&opts, &|_| {}).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/vigie"));
    let dir = tempfile::tempdir().unwrap();
    let opts = HuntOptions {
        inputs: vec![dir.path().into(), "/nonexistent/vigie".into()],
        ..HuntOptions::default()
    };
    let out = hunt(&opts, &|_| {}).unwrap();
    assert_eq!(out.report.errors.len(), 1);
    assert_eq!(out.report.verdict, Verdict::Inconclusive);
}

/// Defect 7 of issue 14: a thread count above the cap is refused before
/// any input is looked at (the input here does not even exist).
#[test]
fn threads_above_the_cap_are_refused_before_io() {
    let opts = HuntOptions {
        inputs: vec!["/nonexistent/vigie".into()],
        threads: vigie_hunt::engine::MAX_THREADS + 1,
        ..HuntOptions::default()
    };
    let err = hunt(&opts, &|_| {}).unwrap_err();
    assert!(err.to_string().contains("limit of 256"), "{err}");
}
