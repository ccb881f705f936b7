//! IIS W3C logs: ProxyLogon, ProxyShell, OWASSRF and ProxyToken request
//! patterns, and requests to web shells found on disk.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use vigie_logs::{Header, split_w3c, w3c_header};
use vigie_model::{Family, Grade};

use super::LogScanOptions;
use super::common::{Candidates, Prefilter, Rule, Scan, parse_time};
use super::rpscat;

/// ProxyLogon request patterns.
pub const PROXYLOGON: Rule = Rule {
    id: "VG-IIS-001",
    title: "ProxyLogon exploit request in IIS log",
    family: Family::ProxyLogon,
    cves: &["CVE-2021-26855", "CVE-2021-27065"],
    attack: &["T1190"],
};

/// ProxyShell autodiscover SSRF.
pub const PROXYSHELL: Rule = Rule {
    id: "VG-IIS-002",
    title: "ProxyShell autodiscover SSRF in IIS log",
    family: Family::ProxyShell,
    cves: &["CVE-2021-34473", "CVE-2021-34523", "CVE-2021-31207"],
    attack: &["T1190"],
};

/// OWASSRF PowerShell via OWA.
pub const OWASSRF: Rule = Rule {
    id: "VG-IIS-003",
    title: "OWASSRF PowerShell request through OWA in IIS log",
    family: Family::Owassrf,
    cves: &["CVE-2022-41080", "CVE-2022-41082"],
    attack: &["T1190"],
};

/// ProxyNotShell: the autodiscover SSRF to remote PowerShell, sent by
/// an authenticated user and without ProxyShell's `X-Rps-CAT` token.
pub const PROXYNOTSHELL: Rule = Rule {
    id: "VG-IIS-007",
    title: "ProxyNotShell autodiscover SSRF to PowerShell in IIS log",
    family: Family::ProxyNotShell,
    cves: &["CVE-2022-41040", "CVE-2022-41082"],
    attack: &["T1190"],
};

/// ProxyToken inbox rule creation.
pub const PROXYTOKEN: Rule = Rule {
    id: "VG-IIS-004",
    title: "ProxyToken ECP request with SecurityToken in IIS log",
    family: Family::ProxyToken,
    cves: &["CVE-2021-33766"],
    attack: &["T1190", "T1114.003"],
};

/// Request to a web shell found on disk.
pub const WEBSHELL: Rule = Rule {
    id: "VG-IIS-005",
    title: "Request to a web shell found on disk",
    family: Family::PostExploitation,
    cves: &[],
    attack: &["T1505.003"],
};

/// Request from a user agent seen in ProxyLogon exploitation.
pub const EXPLOIT_AGENT: Rule = Rule {
    id: "VG-IIS-006",
    title: "Request from a known ProxyLogon exploit user agent",
    family: Family::ProxyLogon,
    cves: &["CVE-2021-26855", "CVE-2021-27065"],
    attack: &["T1190"],
};

/// Where a user agent counts, and the agents (lower-case, `+` already
/// turned into spaces). From Microsoft's HAFNIUM/MSTIC list as carried by
/// signature-base `apt_hafnium_log_sigs.yar` and Sigma
/// `web_exchange_exploitation_hafnium.yml`.
enum AgentScope {
    /// Anywhere on the server (no legitimate client sends it).
    Anywhere,
    /// Only on `/ecp/` or `/owa/auth/` (real crawlers and admin scripts
    /// use these agents elsewhere).
    EcpOrOwaAuth,
}

/// Known exploit user agents: substring (lower-case) and scope.
const EXPLOIT_AGENTS: &[(&str, AgentScope)] = &[
    ("exchangeservicesclient/0.0.0.0", AgentScope::Anywhere),
    ("antsword/", AgentScope::Anywhere),
    ("python-requests/", AgentScope::EcpOrOwaAuth),
    ("duckduckbot/", AgentScope::EcpOrOwaAuth),
    ("facebookexternalhit/", AgentScope::EcpOrOwaAuth),
    ("baiduspider/", AgentScope::EcpOrOwaAuth),
    ("bingbot/", AgentScope::EcpOrOwaAuth),
    ("googlebot/", AgentScope::EcpOrOwaAuth),
    ("exabot-thumbnails", AgentScope::EcpOrOwaAuth),
    ("yahoo! slurp", AgentScope::EcpOrOwaAuth),
    ("yandexbot/", AgentScope::EcpOrOwaAuth),
    ("chrome/51.0.2704.103", AgentScope::EcpOrOwaAuth),
];

/// Literals (lower-case) one of which a raw line holds whenever the
/// user-agent rule can fire on it: `+` and space forms of multi-word
/// agents, and for long agents a distinctive tail (the SIMD search keys
/// on a literal's first bytes, and `exchange`/`chrome` start many lines).
pub const AGENT_LITERALS: &[&str] = &[
    "t/0.0.0.0", // exchangeservicesclient/0.0.0.0
    "antsword/",
    "python-requests/",
    "duckduckbot/",
    "facebookexternalhit/",
    "baiduspider/",
    "bingbot/",
    "googlebot/",
    "exabot-thumbnails",
    "yahoo!+slurp",
    "yahoo! slurp",
    "yandexbot/",
    "2704.103", // chrome/51.0.2704.103
];

/// One parsed request.
struct Request<'a> {
    stem: String,
    query: String,
    cookie: &'a str,
    method: &'a str,
    status: &'a str,
    agent: String,
    user: &'a str,
}

/// Literals (lower-case) one of which a raw line holds whenever a request
/// rule (other than the user agents and web shell URLs) can fire on it;
/// tails of long paths, as for [`AGENT_LITERALS`].
const REQUEST_LITERALS: &[&str] = &[
    "x-beresource=",
    "x-anonresource-backend=",
    "themes/resources/", // /owa/auth/current/themes/resources/
    "r.json",            // /autodiscover/autodiscover.json
    "/powershell",
    "securitytoken=",
];

/// The fixed literals, for hunts that found no web shell on disk.
static LITERALS: LazyLock<Prefilter> =
    LazyLock::new(|| Prefilter::new(literals(&[])));

fn literals(webshell_urls: &[String]) -> Vec<String> {
    REQUEST_LITERALS
        .iter()
        .chain(AGENT_LITERALS)
        .map(|l| l.to_string())
        .chain(webshell_urls.iter().filter(|u| !u.is_empty()).cloned())
        .collect()
}

/// Scan one IIS log.
///
/// Blocks of lines are searched for the literals first; a request
/// without one only counts for coverage, from its raw date and time.
pub fn scan(scan: &mut Scan, opts: &LogScanOptions) {
    scan_from(scan, opts, State::default());
}

/// The header in force when a range of a file starts (see `ranged`).
#[derive(Default, Clone)]
pub struct State {
    header: Header,
    time_first: bool,
}

impl State {
    /// The header in force.
    pub fn header(&self) -> &Header {
        &self.header
    }
}

/// The first header of a file, from its head.
pub fn start_state(head: &[u8]) -> Option<State> {
    head.split(|&b| b == b'\n')
        .map(vigie_logs::blocks::clean)
        .filter(|t| t.first() == Some(&b'#'))
        .find_map(|t| w3c_header(&String::from_utf8_lossy(t)))
        .map(|h| State {
            time_first: h.index("date") == Some(0)
                && h.index("time") == Some(1),
            header: h,
        })
}

/// Scan (a range of) one IIS log from a known header.
pub fn scan_from(scan: &mut Scan, opts: &LogScanOptions, st: State) {
    let own;
    let pre: &Prefilter = if opts.webshell_urls.is_empty() {
        &LITERALS
    } else {
        own = Prefilter::new(literals(&opts.webshell_urls));
        &own
    };
    let State { mut header, mut time_first } = st;
    let mut hits = Vec::new();
    let mut scratch = Vec::new();
    scan.blocks(|scan, lines| {
        pre.hits(lines.data, &mut scratch, &mut hits);
        let mut cand = Candidates::new(&hits);
        for line in lines.iter() {
            let text = line.bytes;
            if text.first() == Some(&b'#') {
                scan.directive(text);
                if let Some(h) = w3c_header(&String::from_utf8_lossy(text)) {
                    scan.saw_header(&h);
                    time_first = h.index("date") == Some(0)
                        && h.index("time") == Some(1);
                    header = h;
                }
                continue;
            }
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let candidate = cand.has(line.offset, line.end);
            if !candidate
                && time_first
                && text.len() >= 19
                && text[10] == b' '
                && text.get(19).is_none_or(|&c| c == b' ')
                && scan.record_canonical(&text[..19])
            {
                continue;
            }
            let text = String::from_utf8_lossy(text);
            let row = split_w3c(&text);
            let ts = match (header.get(&row, "date"), header.get(&row, "time"))
            {
                (Some(d), Some(t)) => parse_time(&format!("{d} {t}")),
                _ => None,
            };
            scan.record(ts);
            if candidate && Scan::in_window(opts, ts) {
                check_row(scan, opts, &header, &row, line.number, ts);
            }
        }
    });
}

fn check_row(
    scan: &mut Scan,
    opts: &LogScanOptions,
    header: &Header,
    row: &[String],
    number: u64,
    ts: Option<chrono::DateTime<chrono::Utc>>,
) {
    let get = |n: &str| header.get(row, n).unwrap_or("");
    let req = Request {
        stem: get("cs-uri-stem").to_ascii_lowercase(),
        query: get("cs-uri-query").to_ascii_lowercase(),
        cookie: get("cs(Cookie)"),
        method: get("cs-method"),
        status: get("sc-status"),
        agent: get("cs(User-Agent)").replace('+', " ").to_ascii_lowercase(),
        user: get("cs-username"),
    };
    let Some((rule, why)) = classify(&req, opts) else { return };
    let ok = req.status.starts_with('2');
    let post = req.method.eq_ignore_ascii_case("POST");
    let grade = if rule.id == EXPLOIT_AGENT.id {
        // An agent alone proves no success: probe, or attempt when it
        // posts to the server.
        if post { Grade::Attempt } else { Grade::Probe }
    } else if rule.id == WEBSHELL.id && ok {
        Grade::Compromised
    } else if ok {
        Grade::Exploited
    } else {
        Grade::Attempt
    };
    let mut details = BTreeMap::new();
    for (col, key) in [
        ("cs-uri-stem", "url"),
        ("cs-uri-query", "query"),
        ("cs(User-Agent)", "user_agent"),
        ("c-ip", "client_ip"),
        ("sc-status", "status"),
        ("cs-method", "method"),
        ("cs-username", "user"),
    ] {
        let v = get(col);
        if !v.is_empty() {
            let v = if col == "cs(User-Agent)" {
                v.replace('+', " ")
            } else {
                v.to_string()
            };
            details.insert(key.to_string(), v);
        }
    }
    let mut summary = format!("{why}: {} {}", req.method, get("cs-uri-stem"));
    if let Some(raw) = rpscat::param(get("cs-uri-query")) {
        summary.push_str(&rps_cat_details(raw, &mut details));
    }
    scan.push(rule, grade, number, ts, summary, details);
}

fn classify(
    r: &Request<'_>,
    opts: &LogScanOptions,
) -> Option<(&'static Rule, &'static str)> {
    if opts.webshell_urls.contains(&r.stem) {
        return Some((&WEBSHELL, "request to web shell on disk"));
    }
    let ssrf_cookie = r.cookie.contains("X-BEResource=")
        || r.cookie.contains("X-AnonResource-Backend=");
    if r.stem.starts_with("/ecp/") && short_js(&r.stem[5..]) && ssrf_cookie {
        return Some((&PROXYLOGON, "SSRF cookie on short ECP .js"));
    }
    if r.stem.starts_with("/owa/auth/current/themes/resources/")
        && r.method.eq_ignore_ascii_case("POST")
    {
        return Some((&PROXYLOGON, "POST to OWA themes resources"));
    }
    if r.stem.contains("/autodiscover/autodiscover.json")
        && r.query.contains("owershell")
        && !r.user.is_empty()
        && r.user != "-"
        && !r.query.contains("x-rps-cat=")
    {
        return Some((
            &PROXYNOTSHELL,
            "authenticated autodiscover SSRF to PowerShell",
        ));
    }
    if r.stem.contains("/autodiscover/autodiscover.json")
        && (r.query.contains('@')
            || r.query.contains("email=")
            || r.query.contains("powershell"))
    {
        return Some((&PROXYSHELL, "autodiscover.json SSRF"));
    }
    if r.stem.starts_with("/owa/") && r.stem.contains("/powershell") {
        return Some((&OWASSRF, "PowerShell through OWA"));
    }
    if r.stem.starts_with("/ecp/") && r.cookie.contains("SecurityToken=") {
        return Some((&PROXYTOKEN, "ECP request with SecurityToken"));
    }
    exploit_agent(r).map(|why| (&EXPLOIT_AGENT, why))
}

/// Decode a ProxyShell `X-Rps-CAT` token into `details` (`rps_cat_*`);
/// returns the text the summary gains (the impersonated account).
pub(super) fn rps_cat_details(
    raw: &str,
    details: &mut BTreeMap<String, String>,
) -> String {
    let t = rpscat::decode(raw);
    let fields = [
        ("rps_cat_user_sid", t.user_sid.clone()),
        ("rps_cat_logon_name", t.logon_name.clone()),
        ("rps_cat_auth_type", t.auth_type.clone()),
        ("rps_cat_version", t.version.clone()),
        ("rps_cat_error", t.error.clone()),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            details.insert(k.into(), v);
        }
    }
    if !t.groups.is_empty() {
        details.insert("rps_cat_groups".into(), t.groups.join(" "));
    }
    match (&t.logon_name, &t.user_sid) {
        (Some(n), Some(s)) => format!(" (X-Rps-CAT impersonates {n}, {s})"),
        (None, Some(s)) => format!(" (X-Rps-CAT impersonates {s})"),
        (Some(n), None) => format!(" (X-Rps-CAT impersonates {n})"),
        (None, None) => " (X-Rps-CAT token unreadable)".into(),
    }
}

/// The known exploit agent this request carries, where it counts.
fn exploit_agent(r: &Request<'_>) -> Option<&'static str> {
    let targeted =
        r.stem.starts_with("/ecp/") || r.stem.starts_with("/owa/auth/");
    EXPLOIT_AGENTS
        .iter()
        .find(|(a, scope)| {
            r.agent.contains(a)
                && (targeted || matches!(scope, AgentScope::Anywhere))
        })
        .map(|_| "known exploit user agent")
}

/// `<1-3 chars>.js` as in ProxyLogon's `/ecp/y.js`.
fn short_js(name: &str) -> bool {
    name.strip_suffix(".js")
        .is_some_and(|b| (1..=3).contains(&b.len()) && !b.contains('/'))
}

#[cfg(test)]
mod prefilter_tests {
    use super::*;

    /// Regression: a prefilter literal missing from what a rule matches
    /// would hide that rule's hits (the fixtures only hold some agents).
    #[test]
    fn every_rule_marker_holds_a_prefilter_literal() {
        let lits = literals(&[]);
        let covered = |s: &str| lits.iter().any(|l| s.contains(l.as_str()));
        for (agent, _) in EXPLOIT_AGENTS {
            assert!(covered(agent), "{agent}");
            assert!(covered(&agent.replace(' ', "+")), "{agent}");
        }
        for marker in [
            "x-beresource=",
            "x-anonresource-backend=",
            "/owa/auth/current/themes/resources/",
            "/autodiscover/autodiscover.json",
            "/powershell",
            "securitytoken=",
        ] {
            assert!(covered(marker), "{marker}");
        }
    }
}
