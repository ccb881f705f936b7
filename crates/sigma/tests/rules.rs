//! Sigma rules written for these tests (never SigmaHQ's: DRL 1.1) over
//! small IIS, HttpProxy and JSON event logs: field matches, modifiers,
//! keywords, conditions, `logsource` selection, rules that do not load,
//! and the metadata a finding keeps.

use std::path::{Path, PathBuf};

use vigie_model::Severity;
use vigie_model::hunt::LogSource;
use vigie_sigma::{RuleSet, Window, scan_file};

const IIS: &str = "#Software: Microsoft Internet Information Services 10.0\n\
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port \
cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus \
sc-win32-status time-taken\n\
2021-03-03 01:02:03 10.0.0.5 POST /ecp/DDI/DDIService.svc/SetObject \
schema=ResetOAB 443 - 192.0.2.9 Mozilla/5.0+(compatible;+VigieScan) - 200 \
0 0 15\n\
2021-03-03 01:02:04 10.0.0.5 GET /owa/auth/logon.aspx - 443 - 192.0.2.10 \
python-requests/2.25 - 404 0 0 3\n\
2021-03-03 01:02:05 10.0.0.5 GET /owa/ q=UNION+SELECT 443 user 192.0.2.11 \
Mozilla/5.0 - 200 0 0 3\n";

const PROXY: &str = "#Software: Microsoft Exchange Server\n\
#Fields: DateTime,RequestId,UrlStem,UrlQuery,UserAgent,ClientIpAddress,\
HttpStatus,Method,AuthenticatedUser\n\
2022-09-29T10:00:00Z,1,/autodiscover/autodiscover.json,\
\"@x.com/powershell/?X-Rps-CAT=abc\",python-requests/2.28,198.51.100.4,\
200,POST,\n\
2022-09-29T10:00:01Z,2,/owa/,,Mozilla/5.0,10.0.0.7,200,GET,CONTOSO\\a\n";

const EVENTS: &str = r#"{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Image": "C:\\Windows\\System32\\cmd.exe", "ParentImage": "C:\\Windows\\System32\\inetsrv\\w3wp.exe", "CommandLine": "cmd /c whoami", "TimeCreated": "2021-03-03T01:02:06Z"}
{"EventID": 4104, "Channel": "Microsoft-Windows-PowerShell/Operational", "ScriptBlockText": "powershell -e SUVYIChJbnZva2UtVmlnaWVUZXN0IC1RdWlldCk=", "TimeCreated": "2021-03-03T01:02:07Z"}
{"EventID": 4688, "Channel": "Security", "NewProcessName": "C:\\Windows\\System32\\net.exe", "CommandLine": "net user vigie P@ss /add", "TimeCreated": "2021-03-03T01:02:08Z"}
"#;

struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        let lab = Lab { dir: tempfile::tempdir().unwrap() };
        lab.write("logs/u_ex210303.log", IIS);
        lab.write("logs/HttpProxy_2022092910-1.log", PROXY);
        lab.write("logs/events.jsonl", EVENTS);
        lab
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn rules(&self, rules: &[(&str, &str)]) -> RuleSet {
        let dir = self.dir.path().join("rules");
        let _ = std::fs::remove_dir_all(&dir);
        for (name, text) in rules {
            self.write(&format!("rules/{name}.yml"), text);
        }
        RuleSet::load(&[dir]).unwrap()
    }

    fn log(&self, name: &str) -> PathBuf {
        self.dir.path().join("logs").join(name)
    }

    /// (rule id, line or record) of every finding in one log.
    fn hits(&self, set: &RuleSet, name: &str, src: LogSource) -> Vec<String> {
        let out = scan_file(&self.log(name), src, set, &Window::default());
        let mut v: Vec<String> = out
            .findings
            .iter()
            .map(|f| format!("{}:{}", f.rule_id, f.source.line.unwrap_or(0)))
            .collect();
        v.sort();
        v
    }

    fn all_hits(&self, set: &RuleSet) -> Vec<String> {
        let mut v = self.hits(set, "u_ex210303.log", LogSource::Iis);
        v.extend(self.hits(
            set,
            "HttpProxy_2022092910-1.log",
            LogSource::HttpProxy,
        ));
        v.extend(self.hits(set, "events.jsonl", LogSource::EventJson));
        v
    }
}

fn rule(id: &str, logsource: &str, detection: &str) -> String {
    format!(
        "title: Test rule {id}\nid: {id}\nstatus: test\nauthor: vigie tests\n\
         level: high\nreferences:\n  - https://example.invalid/{id}\n\
         tags:\n  - attack.initial-access\n  - attack.t1190\n  - cve.2021-26855\n\
         logsource:\n{logsource}\ndetection:\n{detection}\n"
    )
}

const WEB: &str = "  category: webserver";
const PROC: &str = "  category: process_creation\n  product: windows";

fn check(detection: &str, logsource: &str, want: &[&str]) {
    let lab = Lab::new();
    let set = lab.rules(&[("r", &rule("r", logsource, detection))]);
    assert!(set.skipped().is_empty(), "{:?}", set.skipped());
    assert_eq!(lab.all_hits(&set), want, "{detection}");
}

#[test]
fn field_equality_is_case_insensitive_and_numbers_match_text() {
    check(
        "  sel:\n    cs-method: post\n    sc-status: 200\n  condition: sel",
        WEB,
        // IIS line 3 and the HttpProxy POST
        &["SIGMA-r:3", "SIGMA-r:3"],
    );
}

/// The prefilter: a line lacking a literal of every clause of every
/// rule is never split nor evaluated.
#[test]
fn only_lines_holding_every_clause_are_evaluated() {
    let lab = Lab::new();
    let set = lab.rules(&[(
        "r",
        &rule("r", WEB, "  sel:\n    cs-method: POST\n    cs-uri-stem|contains: setobject\n  condition: sel"),
    )]);
    let out = scan_file(
        &lab.log("u_ex210303.log"),
        LogSource::Iis,
        &set,
        &Window::default(),
    );
    assert_eq!(out.records_evaluated, 1);
    assert_eq!(out.findings.len(), 1);
}

#[test]
fn contains_startswith_endswith() {
    check(
        "  sel:\n    cs-uri-stem|startswith: '/ecp/'\n    \
         cs-uri-stem|endswith: '/setobject'\n    \
         cs-uri-query|contains: 'ResetOAB'\n  condition: sel",
        WEB,
        &["SIGMA-r:3"],
    );
}

#[test]
fn iis_user_agent_plus_is_a_space() {
    check(
        "  sel:\n    cs-user-agent|contains: 'compatible; VigieScan'\n  \
         condition: sel",
        WEB,
        &["SIGMA-r:3"],
    );
}

#[test]
fn regular_expression_and_all() {
    check(
        "  sel:\n    cs-user-agent|re: '^python-requests/[0-9.]+$'\n  \
         condition: sel",
        WEB,
        &["SIGMA-r:4", "SIGMA-r:3"],
    );
    check(
        "  sel:\n    CommandLine|contains|all:\n      - 'net '\n      \
         - ' /add'\n  condition: sel",
        PROC,
        &["SIGMA-r:3"],
    );
}

#[test]
fn base64offset_finds_an_encoded_command() {
    check(
        "  sel:\n    ScriptBlockText|base64offset|contains: \
         'Invoke-VigieTest'\n  condition: sel",
        "  product: windows\n  category: ps_script",
        &["SIGMA-r:2"],
    );
}

#[test]
fn keywords_match_inside_any_value() {
    // Chainsaw cannot load keyword rules; vigie matches them anywhere in
    // a value, as Sigma's other tools do.
    // (IIS keeps the query as sent: `+` for a space)
    check(
        "  keywords:\n    - '=union+select'\n  condition: keywords",
        WEB,
        &["SIGMA-r:5"],
    );
    check(
        "  keywords:\n    - 'whoami'\n  condition: keywords",
        PROC,
        &["SIGMA-r:1"],
    );
}

#[test]
fn conditions_and_or_not_one_of_all_of() {
    let d = "  sel_get:\n    cs-method: GET\n  sel_owa:\n    \
             cs-uri-stem|startswith: /owa/\n  filter:\n    sc-status: 404\n";
    check(
        &format!("{d}  condition: sel_get and not filter"),
        WEB,
        &["SIGMA-r:5", "SIGMA-r:4"],
    );
    check(
        &format!("{d}  condition: all of sel_* and not filter"),
        WEB,
        &["SIGMA-r:5", "SIGMA-r:4"],
    );
    check(
        &format!("{d}  condition: 1 of sel_* or filter"),
        WEB,
        &["SIGMA-r:4", "SIGMA-r:5", "SIGMA-r:4"],
    );
    check(
        &format!("{d}  condition: (sel_get or sel_owa) and filter"),
        WEB,
        &["SIGMA-r:4"],
    );
    check(
        &format!("{d}  condition: not 1 of them"),
        WEB,
        &["SIGMA-r:3", "SIGMA-r:3"],
    );
}

#[test]
fn logsource_decides_the_sources() {
    // A web rule on every source: IIS and HttpProxy only.
    check(
        "  sel:\n    cs-user-agent|startswith: python-requests\n  \
         condition: sel",
        WEB,
        &["SIGMA-r:4", "SIGMA-r:3"],
    );
    // A process creation rule: Sysmon 1 and Security 4688 (its
    // NewProcessName is Sigma's Image), not PowerShell nor web logs.
    check(
        "  sel:\n    Image|endswith:\n      - '\\cmd.exe'\n      \
         - '\\net.exe'\n  condition: sel",
        PROC,
        &["SIGMA-r:1", "SIGMA-r:3"],
    );
    // A Security-service rule never sees Sysmon.
    check(
        "  sel:\n    EventID: 1\n  condition: sel",
        "  product: windows\n  service: security",
        &[],
    );
}

#[test]
fn httpproxy_columns_have_webserver_names() {
    check(
        "  sel:\n    cs-uri-stem|contains: autodiscover.json\n    \
         cs-uri-query|contains: '/powershell'\n    c-ip: 198.51.100.4\n  \
         condition: sel",
        WEB,
        &["SIGMA-r:3"],
    );
    check(
        "  sel:\n    AuthenticatedUser: 'CONTOSO\\a'\n  condition: sel",
        "  product: exchange\n  service: httpproxy",
        &["SIGMA-r:4"],
    );
}

#[test]
fn rules_that_do_not_load_are_listed_with_their_reason() {
    let lab = Lab::new();
    let set = lab.rules(&[
        (
            "ok",
            &rule("ok", WEB, "  sel:\n    cs-method: GET\n  condition: sel"),
        ),
        (
            "expand",
            &rule(
                "expand",
                WEB,
                "  sel:\n    cs-uri-stem|expand: '%path%'\n  condition: sel",
            ),
        ),
        ("yaml", "title: broken\ndetection: [unclosed\n"),
        (
            "corr",
            "title: Many logons\nid: c1\ncorrelation:\n  type: event_count\n  \
             rules: [ok]\n  group-by: [c-ip]\n  timespan: 1h\n  \
             condition:\n    gte: 10\n",
        ),
        (
            "undefined",
            &rule(
                "undefined",
                WEB,
                "  sel:\n    cs-method: GET\n  condition: nope",
            ),
        ),
        ("notrule", "just: a mapping\n"),
    ]);
    assert_eq!(set.rules().len(), 1);
    let mut got: Vec<(String, String)> = set
        .skipped()
        .iter()
        .map(|s| {
            let file = Path::new(&s.path).file_stem().unwrap();
            (file.to_string_lossy().into_owned(), s.reason.clone())
        })
        .collect();
    got.sort();
    let want = [
        ("corr", "correlation rule"),
        ("expand", "unsupported modifier: expand"),
        ("notrule", "not a Sigma rule"),
        ("undefined", "condition names an undefined selection"),
        ("yaml", "bad YAML"),
    ];
    let want: Vec<(String, String)> =
        want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(got, want);
    let sum = set.summary();
    assert_eq!(sum.rules_loaded, 1);
    assert_eq!(sum.rules_skipped, 5);
    assert_eq!(sum.skipped_by_reason["bad YAML"], 1);
}

#[test]
fn a_finding_keeps_the_rule_metadata_and_the_record() {
    let lab = Lab::new();
    let set = lab.rules(&[(
        "r",
        &rule(
            "r",
            WEB,
            "  sel:\n    cs-uri-query|contains: resetoab\n  condition: sel",
        ),
    )]);
    let out = scan_file(
        &lab.log("u_ex210303.log"),
        LogSource::Iis,
        &set,
        &Window::default(),
    );
    assert_eq!(out.findings.len(), 1);
    let f = &out.findings[0];
    assert_eq!(f.rule_id, "SIGMA-r");
    assert_eq!(f.title, "Test rule r");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.attack, ["T1190"]);
    assert_eq!(f.cves, ["CVE-2021-26855"]);
    assert_eq!(f.details["sigma_author"], "vigie tests");
    assert_eq!(f.details["sigma_level"], "high");
    assert_eq!(f.details["sigma_references"], "https://example.invalid/r");
    assert!(f.details["sigma_tags"].contains("attack.t1190"));
    assert_eq!(
        f.details["record.cs-uri-stem"],
        "/ecp/DDI/DDIService.svc/SetObject"
    );
    assert_eq!(f.source.line, Some(3));
    assert_eq!(f.timestamp.unwrap().to_rfc3339(), "2021-03-03T01:02:03+00:00");
    let json = serde_json::to_value(f).unwrap();
    assert_eq!(json["details"]["sigma_id"], "r");
    assert_eq!(out.matches_by_rule["r"], 1);
}

#[test]
fn since_and_until_limit_the_records() {
    let lab = Lab::new();
    let set = lab.rules(&[(
        "r",
        &rule(
            "r",
            WEB,
            "  sel:\n    cs-method|exists: true\n  condition: sel",
        ),
    )]);
    let t = |s: &str| Some(s.parse().unwrap());
    let w = Window {
        since: t("2021-03-03T01:02:04Z"),
        until: t("2021-03-03T01:02:04Z"),
    };
    let out = scan_file(&lab.log("u_ex210303.log"), LogSource::Iis, &set, &w);
    assert_eq!(out.findings.len(), 1);
    assert_eq!(out.findings[0].source.line, Some(4));
}

#[test]
fn a_noisy_rule_is_counted_not_listed_past_the_cap() {
    let lab = Lab::new();
    let mut iis = IIS.to_string();
    for _ in 0..150 {
        iis.push_str("2021-03-04 00:00:00 10.0.0.5 GET /owa/ - 443 - 10.0.0.7 M - 200 0 0 1\n");
    }
    lab.write("logs/u_ex210304.log", &iis);
    let set = lab.rules(&[(
        "r",
        &rule("r", WEB, "  sel:\n    cs-method: GET\n  condition: sel"),
    )]);
    let out = scan_file(
        &lab.log("u_ex210304.log"),
        LogSource::Iis,
        &set,
        &Window::default(),
    );
    assert_eq!(
        out.findings.len() as u64,
        vigie_sigma::MAX_FINDINGS_PER_RULE_AND_FILE
    );
    assert_eq!(out.matches_by_rule["r"], 152);
    assert_eq!(out.matches_not_listed, 52);
}

#[test]
fn hostile_rule_text_is_an_error_not_a_panic() {
    for text in [
        "",
        "\u{0}\u{1}",
        "title: x\nlogsource: {}\ndetection:\n  condition: '((((('\n",
        "title: x\nlogsource: {}\ndetection:\n  a: {b|re: '('}\n  condition: a\n",
        "title: x\nlogsource: 7\ndetection: 3\n",
        "- - - - [",
        "title: x\nlogsource: {}\ndetection:\n  a: [1, {x: 2}]\n  condition: a\n",
    ] {
        let _ = vigie_sigma::parse_rule(text, Path::new("x.yml"));
    }
}
