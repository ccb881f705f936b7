//! CLI tests of `vigie report` and `vigie notify`: formats, per-line
//! errors, hostile text kept inert, and the page checked in a real
//! headless browser when chromium is installed.

mod common_report;

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::cargo_bin_cmd;
use common_report::*;

fn fleet(dir: &Path) -> PathBuf {
    let path = dir.join("scan.jsonl");
    let hosts = vec![host(1443, OLD, 10), host(2443, NEW, 10), hostile(10)];
    let hunt = serde_json::to_string(&hostile_hunt()).unwrap();
    write_jsonl(
        &path,
        &hosts,
        &format!(
            "not json\n{{\"record\":\"other\"}}\n{{\"record\":\"scan\"}}\n\
             {hunt}\n"
        ),
    );
    path
}

#[test]
fn bad_lines_are_reported_by_line_and_the_rest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let scan = fleet(dir.path());
    let out = cargo_bin_cmd!("vigie")
        .args(["report", "--format", "md"])
        .arg(&scan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "vulnerable hosts: exit 1");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("scan.jsonl:4: not JSON"), "{err}");
    assert!(err.contains("scan.jsonl:5: unknown record kind"), "{err}");
    assert!(err.contains("scan.jsonl:6: bad scan line"), "{err}");
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("of 3 Exchange servers have open CVEs"), "{md}");
    assert!(md.contains("\\<img"), "markdown keeps html inert: {md}");
    assert!(!md.replace("\\<", "").contains("<img"), "{md}");
}

#[test]
fn csv_neutralises_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let out = cargo_bin_cmd!("vigie")
        .args(["report", "--format", "csv"])
        .arg(fleet(dir.path()))
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with("record,host,ip,port,state"));
    assert!(csv.contains("\"'=HYPERLINK("), "{csv}");
    assert!(!csv.contains(",=HYPERLINK"), "{csv}");
}

#[test]
fn notify_writes_one_report_per_owner_with_only_their_servers() {
    let dir = tempfile::tempdir().unwrap();
    let owners = dir.path().join("owners.csv");
    std::fs::write(
        &owners,
        "owner,contact,cidr_or_domain\n\
         Alpha,soc@alpha.test,mail1443.example.test\n\
         Beta,it@beta.test,127.0.0.0/8\n\
         Gamma,x@gamma.test,192.0.2.0/24\n\
         broken line\n",
    )
    .unwrap();
    let out_dir = dir.path().join("notify");
    let out = cargo_bin_cmd!("vigie")
        .args(["notify", "--owners"])
        .arg(&owners)
        .arg("-o")
        .arg(&out_dir)
        .arg(fleet(dir.path()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("owners.csv:5"), "{err}");
    let index = std::fs::read_to_string(out_dir.join("index.csv")).unwrap();
    assert!(index.contains("\"Alpha\",\"soc@alpha.test\",1,1,001-Alpha.md"));
    assert!(index.contains("\"Beta\",\"it@beta.test\",3,"), "{index}");
    assert!(!index.contains("Gamma"), "no servers, no report: {index}");
    let alpha = std::fs::read_to_string(out_dir.join("001-Alpha.md")).unwrap();
    assert!(alpha.contains("mail1443.example.test"));
    assert!(!alpha.contains("mail2443"), "only Alpha's server: {alpha}");
    assert!(alpha.contains("vigie hunt"));
    let html = std::fs::read_to_string(out_dir.join("002-Beta.html")).unwrap();
    assert!(!html.contains("<img"));
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| {
            std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .map(move |d| d.join(name))
        })
        .find(|p| p.is_file())
}

/// Whether this is a CI run (`CI=true`, as GitHub Actions, GitLab and
/// `.ci/run` set it).
fn under_ci() -> bool {
    std::env::var("CI")
        .is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Run headless chromium on a page; returns (stdout, stderr).
fn browse(browser: &Path, page: &Path, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn html_report_runs_in_a_real_browser_with_payloads_inert() {
    let Some(browser) = chromium() else {
        // Issue 14: under CI the browser is installed on purpose, so a
        // missing one is a broken CI image, not a reason to pass.
        assert!(
            !under_ci(),
            "CI=true but no chromium on PATH: the browser test cannot be \
             skipped under CI (install Debian's chromium, see .ci/packages)"
        );
        eprintln!("SKIPPED: chromium not installed (see .ci/packages)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    cargo_bin_cmd!("vigie")
        .arg("report")
        .arg(fleet(dir.path()))
        .arg("-o")
        .arg(&page)
        .assert()
        .code(1);
    let (dom, log) = browse(&browser, &page, &["--dump-dom".into()]);
    assert!(!log.contains("Uncaught"), "console error: {log}");
    assert!(dom.contains("data-ready=\"1\""), "script ran: {dom}");
    assert!(!dom.contains("data-pwned"), "payload ran: {dom}");
    assert!(!dom.contains("<img"), "payload became markup");
    assert!(dom.contains("&lt;img src=x onerror="), "shown as text");
    assert!(dom.contains("class=\"v vulnerable\""), "verdicts shown");
    assert!(dom.contains("class=\"v compromised\""), "hunt verdict");
    let hunts = dom.find("id=\"hunts\"").expect("hunt table");
    let hosts = dom.find("id=\"hosts\"").expect("host table");
    assert!(hunts < hosts, "hunt verdicts come first");
    assert!(dom.contains("owa/auth/\"'&gt;&lt;img"), "file name as text");
    assert!(dom.contains("<rect class=\"bar\""), "charts rendered");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    let (_, log) = browse(
        &browser,
        &page,
        &[
            format!("--screenshot={}", target.display()),
            "--window-size=1200,1400".into(),
        ],
    );
    assert!(target.is_file(), "no screenshot: {log}");
    eprintln!("screenshot: {}", target.display());
}

fn format_output(format: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = cargo_bin_cmd!("vigie")
        .args(["report", "--format", format])
        .arg(fleet(dir.path()))
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("report_md", format_output("md"));
}

#[test]
fn csv_snapshot() {
    insta::assert_snapshot!("report_csv", format_output("csv"));
}
