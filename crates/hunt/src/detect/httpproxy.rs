//! HttpProxy logs (every protocol folder): the ProxyLogon SSRF
//! (CVE-2021-26855) and the ECP virtual directory reset of CVE-2021-27065.
//!
//! Test-ProxyLogon matches `AnchorMailbox -like 'ServerInfo~*/*'` and drops
//! autodiscover-only and `localhost` hits as noise; vigie keeps them as
//! graded probes/attempts and also matches the `BackEndCookie` variant the
//! script never adopted (CSS-Exchange#310).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use vigie_logs::{Header, csv_header, split_csv};
use vigie_model::{Family, Grade};

use super::LogScanOptions;
use super::common::{Candidates, Prefilter, Rule, Scan, parse_time};
use super::tpl;

/// CVE-2021-26855 SSRF via the AnchorMailbox / BackEndCookie routing.
pub const SSRF: Rule = Rule {
    id: "VG-PL-001",
    title: "ProxyLogon SSRF (CVE-2021-26855) in HttpProxy log",
    family: Family::ProxyLogon,
    cves: &["CVE-2021-26855"],
    attack: &["T1190"],
};

/// CVE-2021-27065 ECP `Reset*VirtualDirectory` through the SSRF.
pub const RESET_VDIR: Rule = Rule {
    id: "VG-PL-002",
    title: "ProxyLogon ECP virtual directory reset (CVE-2021-27065)",
    family: Family::ProxyLogon,
    cves: &["CVE-2021-26855", "CVE-2021-27065"],
    attack: &["T1190", "T1505.003"],
};

/// OWASSRF: remote PowerShell reached through OWA's front end
/// (`/owa/<mailbox>/powershell`, CVE-2022-41080).
pub const HP_OWASSRF: Rule = Rule {
    id: "VG-HP-001",
    title: "Remote PowerShell reached through OWA (OWASSRF) in HttpProxy log",
    family: Family::Owassrf,
    cves: &["CVE-2022-41080", "CVE-2022-41082"],
    attack: &["T1190"],
};

/// ProxyNotShell: an authenticated autodiscover SSRF to PowerShell.
pub const HP_PROXYNOTSHELL: Rule = Rule {
    id: "VG-HP-002",
    title: "Autodiscover SSRF to remote PowerShell (ProxyNotShell) in HttpProxy log",
    family: Family::ProxyNotShell,
    cves: &["CVE-2022-41040", "CVE-2022-41082"],
    attack: &["T1190"],
};

/// ProxyShell: the unauthenticated autodiscover SSRF, with the
/// `X-Rps-CAT` token decoded.
pub const HP_PROXYSHELL: Rule = Rule {
    id: "VG-HP-003",
    title: "Autodiscover SSRF to remote PowerShell (ProxyShell) in HttpProxy log",
    family: Family::ProxyShell,
    cves: &["CVE-2021-34473", "CVE-2021-34523", "CVE-2021-31207"],
    attack: &["T1190"],
};

const REF_OWASSRF: &str = "https://www.crowdstrike.com/blog/owassrf-exploit-analysis-and-recommendations/";
const REF_PNS: &str = "https://www.microsoft.com/en-us/security/blog/2022/09/30/analyzing-attacks-using-the-exchange-vulnerabilities-cve-2022-41040-and-cve-2022-41082/";
const REF_PS: &str = "https://www.zerodayinitiative.com/blog/2021/8/17/from-pwn2own-2021-a-new-attack-surface-on-microsoft-exchange-proxyshell";

/// Columns copied into a finding's details.
const DETAIL_COLUMNS: &[(&str, &str)] = &[
    ("urlstem", "url"),
    ("useragent", "user_agent"),
    ("clientipaddress", "client_ip"),
    ("httpstatus", "status"),
    ("anchormailbox", "anchor_mailbox"),
    ("backendcookie", "backend_cookie"),
    ("authenticateduser", "user"),
    ("targetserver", "target_server"),
    ("method", "method"),
];

/// Literals (lower-case) one of which a row holds whenever a rule can
/// fire on it: tails of the `ServerInfo~` anchor and the `Server~`
/// back-end cookie (the SIMD search keys on a literal's first bytes, and
/// `ServerLocatorCallTime` puts `server` in every row).
/// `owershell` also catches `%50owershell`, as ProxyNotShell's public
/// requests spell it; `rps-cat=` the ProxyShell token.
static LITERALS: LazyLock<Prefilter> = LazyLock::new(|| {
    Prefilter::new(["info~", "ver~", "owershell", "rps-cat="])
});

/// Headers met so far in one file.
#[derive(Default, Clone)]
pub struct State {
    /// The header in force.
    header: Header,
    /// Line 1 as Test-ProxyLogon's `Import-Csv` reads it.
    first: Header,
    /// Whether the header puts `DateTime` first (every known layout).
    time_first: bool,
}

impl State {
    /// The header in force.
    pub fn header(&self) -> &Header {
        &self.header
    }
}

/// Scan one HttpProxy log.
///
/// Blocks of lines are searched for the literals first; a row without
/// one only counts for coverage, from its raw first column.
pub fn scan(scan: &mut Scan, opts: &LogScanOptions) {
    scan_from(scan, opts, State::default());
}

/// What a range of a file starts with: the first header of the file in
/// force, line 1 as Test-ProxyLogon reads it (see `ranged`).
pub fn start_state(head: &[u8]) -> Option<State> {
    let mut st = State::default();
    let mut lines = head.split(|&b| b == b'\n');
    let line1 = vigie_logs::blocks::clean(lines.next()?);
    st.first = Header::new(split_csv(&lossy(line1)));
    for text in
        std::iter::once(line1).chain(lines.map(vigie_logs::blocks::clean))
    {
        if header_like(text)
            && let Some(h) = csv_header(&lossy(text))
        {
            st.time_first = h.index("DateTime") == Some(0);
            st.header = h;
            return Some(st);
        }
    }
    None
}

/// Scan (a range of) one HttpProxy log from a known state.
pub fn scan_from(scan: &mut Scan, opts: &LogScanOptions, mut st: State) {
    let from_start = scan.at_file_start();
    let mut hits = Vec::new();
    let mut scratch = Vec::new();
    scan.blocks(|scan, lines| {
        LITERALS.hits(lines.data, &mut scratch, &mut hits);
        let mut cand = Candidates::new(&hits);
        for line in lines.iter() {
            let text = line.bytes;
            if line.number == 1 && from_start {
                st.first = Header::new(split_csv(&lossy(text)));
            }
            if header_like(text)
                && let Some(h) = csv_header(&lossy(text))
            {
                scan.saw_header(&h);
                st.time_first = h.index("DateTime") == Some(0);
                st.header = h;
                continue;
            }
            if text.first() == Some(&b'#') {
                scan.directive(text);
                continue;
            }
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let candidate = cand.has(line.offset, line.end);
            if !candidate && st.time_first {
                let comma = memchr::memchr(b',', text).unwrap_or(text.len());
                scan.record_raw(&text[..comma]);
                continue;
            }
            slow_row(scan, opts, &st, &lossy(text), line.number, candidate);
        }
    });
}

/// A row that may hold a hit, or whose time is not in the first column.
fn slow_row(
    scan: &mut Scan,
    opts: &LogScanOptions,
    st: &State,
    text: &str,
    number: u64,
    candidate: bool,
) {
    let row = split_csv(text);
    let ts = st.header.get(&row, "DateTime").and_then(parse_time);
    scan.record(ts);
    if !candidate || !Scan::in_window(opts, ts) {
        return;
    }
    let headers = Headers { own: &st.header, first: &st.first };
    check_row(scan, headers, &row, number, ts);
}

/// A line that may be a header: a directive, or a bare header line
/// (first column `DateTime` or `date-time`).
fn header_like(text: &[u8]) -> bool {
    matches!(text.first(), Some(b'#' | b'D' | b'd' | b' ' | b'\t'))
}

fn lossy(text: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(text)
}

/// The header in force, and the one Test-ProxyLogon would use.
#[derive(Clone, Copy)]
struct Headers<'a> {
    own: &'a Header,
    first: &'a Header,
}

/// Which Test-ProxyLogon checks report this row, reading its columns the
/// way `Import-Csv` does (names from line 1).
fn tpl_label(
    scan: &Scan,
    first: &Header,
    row: &[String],
) -> Vec<&'static str> {
    let anchor = first.get(row, "AnchorMailbox").unwrap_or("");
    let status = first.get(row, "HttpStatus").unwrap_or("");
    let mut out = Vec::new();
    if tpl::cve_26855(anchor) {
        out.push("CVE-2021-26855");
    }
    if tpl::cve_27065_reset(&scan.path, anchor, status) {
        out.push("CVE-2021-27065");
    }
    out
}

fn check_row(
    scan: &mut Scan,
    headers: Headers<'_>,
    row: &[String],
    number: u64,
    ts: Option<chrono::DateTime<chrono::Utc>>,
) {
    let header = headers.own;
    let anchor = header.get(row, "AnchorMailbox").unwrap_or("");
    let cookie = header.get(row, "BackEndCookie").unwrap_or("");
    let status = header.get(row, "HttpStatus").unwrap_or("");
    let via_anchor = like_serverinfo(anchor);
    let via_cookie = like_backend_cookie(cookie);
    if !via_anchor && !via_cookie {
        powershell_row(scan, header, row, number, ts);
        return;
    }
    let mut details = BTreeMap::new();
    for (col, key) in DETAIL_COLUMNS {
        if let Some(v) = header.get(row, col).filter(|v| !v.is_empty()) {
            details.insert(key.to_string(), v.to_string());
        }
    }
    let label = tpl_label(scan, headers.first, row);
    if !label.is_empty() {
        details.insert(tpl::KEY.into(), label.join(","));
    }
    let lower = anchor.to_ascii_lowercase();
    let answered = status == "200" || status == "241";
    if via_anchor && is_reset_vdir(anchor) && status == "200" {
        details.insert("cmdlet".into(), reset_cmdlet(anchor));
        let summary = format!("ECP {} answered 200", reset_cmdlet(anchor));
        scan.push(&RESET_VDIR, Grade::Exploited, number, ts, summary, details);
        return;
    }
    let (grade, why) = if lower.starts_with("serverinfo~localhost") {
        (Grade::Probe, "localhost cookie probe (scanner)")
    } else if via_anchor && lower.contains("/autodiscover") {
        (Grade::Attempt, "autodiscover-only SSRF (no mailbox found)")
    } else if answered {
        (Grade::Exploited, "SSRF request answered by the back end")
    } else {
        (Grade::Attempt, "SSRF request not answered")
    };
    details.insert("match".into(), why.into());
    let summary = format!("SSRF routing {why}, status {status}");
    scan.push(&SSRF, grade, number, ts, summary, details);
}

/// `AnchorMailbox -like 'ServerInfo~*/*'` (PowerShell `-like` ignores
/// case).
fn like_serverinfo(anchor: &str) -> bool {
    anchor.get(..11).is_some_and(|p| p.eq_ignore_ascii_case("ServerInfo~"))
        && anchor[11..].contains('/')
}

/// `BackEndCookie -like 'Server~*/*~*'`.
fn like_backend_cookie(cookie: &str) -> bool {
    let Some(rest) = cookie
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("Server~"))
        .map(|_| &cookie[7..])
    else {
        return false;
    };
    rest.find('/').is_some_and(|i| rest[i..].contains('~'))
}

/// `ServerInfo~*/*Reset*VirtualDirectory#`, also without the trailing
/// `#` (a query string after the schema name hides it from the script).
fn is_reset_vdir(anchor: &str) -> bool {
    let l = anchor.to_ascii_lowercase();
    l.find("reset").is_some_and(|i| l[i..].contains("virtualdirectory"))
}

fn reset_cmdlet(anchor: &str) -> String {
    let l = anchor.to_ascii_lowercase();
    let start = l.find("reset").unwrap_or(0);
    let end = l[start..]
        .find("virtualdirectory")
        .map_or(l.len(), |i| start + i + "virtualdirectory".len());
    anchor[start..end].to_string()
}

/// Remote PowerShell reached through another front-end protocol: OWA
/// (OWASSRF) or autodiscover (ProxyShell without a user or with
/// `X-Rps-CAT`, else ProxyNotShell). Rows of the PowerShell protocol
/// itself (`/powershell`) are Exchange's own remote PowerShell.
fn powershell_row(
    scan: &mut Scan,
    header: &Header,
    row: &[String],
    number: u64,
    ts: Option<chrono::DateTime<chrono::Utc>>,
) {
    let get = |c: &str| header.get(row, c).unwrap_or("");
    let stem = get("UrlStem").to_ascii_lowercase();
    let query = get("UrlQuery");
    let lq = query.to_ascii_lowercase();
    let joined = format!("{stem}?{lq}");
    let cat = joined.contains("x-rps-cat=");
    if stem.starts_with("/powershell")
        || !(joined.contains("owershell") || cat)
    {
        return;
    }
    let user = get("AuthenticatedUser").trim();
    let (rule, why, reference) = if stem.starts_with("/owa/") {
        (&HP_OWASSRF, "PowerShell through OWA", REF_OWASSRF)
    } else if !joined.contains("autodiscover.json") {
        return;
    } else if cat || user.is_empty() {
        (
            &HP_PROXYSHELL,
            "unauthenticated autodiscover SSRF to PowerShell",
            REF_PS,
        )
    } else {
        (
            &HP_PROXYNOTSHELL,
            "authenticated autodiscover SSRF to PowerShell",
            REF_PNS,
        )
    };
    let mut details = BTreeMap::new();
    for (col, key) in DETAIL_COLUMNS
        .iter()
        .chain(&[("urlquery", "query"), ("protocol", "protocol")])
    {
        if let Some(v) = header.get(row, col).filter(|v| !v.is_empty()) {
            details.insert(key.to_string(), v.to_string());
        }
    }
    details.insert("references".into(), reference.into());
    let status = get("HttpStatus");
    let grade =
        if status == "200" { Grade::Exploited } else { Grade::Attempt };
    let who = if user.is_empty() { "no user" } else { user };
    let mut summary = format!("{why} as {who}, status {status}");
    if let Some(raw) = super::rpscat::param(query) {
        summary.push_str(&super::iis::rps_cat_details(raw, &mut details));
    }
    scan.push(rule, grade, number, ts, summary, details);
}
