//! The CmdletInfra logs of remote PowerShell: `Rps_Http` (each request
//! the back end's PowerShell endpoint served) and the cmdlet logs (each
//! cmdlet run, with its parameters and who ran it).
//!
//! Rps_Http, as CrowdStrike's `Rps_Http-IOC.ps1` reads it: Exchange's
//! own clients leave `ClientInfo` empty, `Microsoft WinRM Client` or
//! `Exchange BackEnd Probes`; a request proxied from OWA (OWASSRF) or
//! autodiscover (ProxyNotShell) carries the attacker's user agent there,
//! with the authenticated account and the chain of client addresses. A
//! file without a `#Fields:` header is read with the script's fixed
//! column list. Cmdlet logs go through [`persist::classify`].

use std::collections::BTreeMap;

use vigie_logs::{Header, csv_header, split_csv};
use vigie_model::{Family, Grade};

use super::LogScanOptions;
use super::common::{Rule, Scan, parse_time};
use super::persist;

/// OWASSRF seen from the back end (CrowdStrike's indicator).
pub const RPS_OWASSRF: Rule = Rule {
    id: "VG-RPS-001",
    title: "Remote PowerShell request proxied with a foreign client (OWASSRF)",
    family: Family::Owassrf,
    cves: &["CVE-2022-41080", "CVE-2022-41082"],
    attack: &["T1190", "T1059.001"],
};

/// The same through autodiscover (ProxyNotShell).
pub const RPS_PROXYNOTSHELL: Rule = Rule {
    id: "VG-RPS-002",
    title: "Remote PowerShell request proxied from autodiscover (ProxyNotShell)",
    family: Family::ProxyNotShell,
    cves: &["CVE-2022-41040", "CVE-2022-41082"],
    attack: &["T1190", "T1059.001"],
};

/// A cmdlet that keeps access or reads mail, from the cmdlet logs.
pub const CMDLET_PERSIST: Rule = Rule {
    id: "VG-CMD-001",
    title: "Exchange cmdlet for mailbox abuse or persistence",
    family: Family::Persistence,
    cves: &[],
    attack: &["T1098", "T1114"],
};

const CROWDSTRIKE: &str = "https://github.com/CrowdStrike/OWASSRF";
const CS_BLOG: &str = "https://www.crowdstrike.com/blog/owassrf-exploit-analysis-and-recommendations/";
const MS_PNS: &str = "https://msrc.microsoft.com/blog/2022/09/customer-guidance-for-reported-zero-day-vulnerabilities-in-microsoft-exchange-server/";
const MS_CMDLET_LOGS: &str = "https://learn.microsoft.com/en-us/exchange/policy-and-compliance/admin-audit-logging/admin-audit-logging";
const ATTACK_EMAIL_RULES: &str =
    "https://attack.mitre.org/techniques/T1114/003/";

/// Rps_Http columns as CrowdStrike's script names them (used when a file
/// carries no header of its own).
const RPS_HTTP_FIELDS: &[&str] = &[
    "DateTime",
    "StartTime",
    "RequestId",
    "MajorVersion",
    "MinorVersion",
    "BuildVersion",
    "RevisionVersion",
    "ClientRequestId",
    "UrlHost",
    "UrlStem",
    "AuthenticationType",
    "IsAuthenticated",
    "AuthenticatedUser",
    "Organization",
    "ManagedOrganization",
    "ClientIpAddress",
    "ServerHostName",
    "FrontEndServer",
    "HttpStatus",
    "SubStatus",
    "ErrorCode",
    "Action",
    "CommandId",
    "CommandName",
    "SessionId",
    "ShellId",
    "FailFast",
    "ContributeToFailFast",
    "RequestBytes",
    "ClientInfo",
    "CPU",
    "Memory",
    "ActivityContextLifeTime",
    "TotalTime",
    "UrlQuery",
    "GenericLatency",
    "GenericInfo",
    "GenericErrors",
];

/// `ClientInfo` values Exchange's own clients send.
const BENIGN_CLIENTS: &[&str] =
    &["microsoft winrm client", "exchange backend probes"];

/// Which rows a reader judges.
type RowCheck = fn(&mut Scan, &Header, &[String], u64, Option<Ts>);
type Ts = chrono::DateTime<chrono::Utc>;

/// Scan one Rps_Http log.
pub fn scan_rps_http(scan: &mut Scan, opts: &LogScanOptions) {
    scan_csv(scan, opts, Header::new(RPS_HTTP_FIELDS), check_rps_http);
}

/// Scan one cmdlet log.
pub fn scan_cmdlet(scan: &mut Scan, opts: &LogScanOptions) {
    scan_csv(scan, opts, Header::default(), check_cmdlet);
}

/// The loop both share: headers (`#Fields:` or a bare `DateTime,...`
/// line, re-declared anywhere), directives, then rows.
fn scan_csv(
    scan: &mut Scan,
    opts: &LogScanOptions,
    fallback: Header,
    check: RowCheck,
) {
    let mut header = fallback;
    scan.lines(|scan, number, text| {
        if let Some(h) = csv_header(text) {
            scan.saw_directive = true;
            header = h;
            return;
        }
        if text.starts_with('#') {
            scan.directive(text.as_bytes());
            return;
        }
        if text.trim().is_empty() {
            return;
        }
        let row = split_csv(text);
        let ts = header.get(&row, "DateTime").and_then(parse_time);
        scan.record(ts);
        if ts.is_some() && Scan::in_window(opts, ts) {
            check(scan, &header, &row, number, ts);
        }
    });
}

/// Copy the named columns that hold a value into details.
fn copy(
    header: &Header,
    row: &[String],
    cols: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let mut d = BTreeMap::new();
    for (col, key) in cols {
        if let Some(v) = header.get(row, col).filter(|v| !v.trim().is_empty())
        {
            d.insert(key.to_string(), v.to_string());
        }
    }
    d
}

fn check_rps_http(
    scan: &mut Scan,
    header: &Header,
    row: &[String],
    number: u64,
    ts: Option<Ts>,
) {
    let client = header.get(row, "ClientInfo").unwrap_or("").trim();
    let lc = client.to_ascii_lowercase();
    // The script's test: any word character, not a header, not benign.
    if !client.chars().any(char::is_alphanumeric)
        || lc == "clientinfo"
        || BENIGN_CLIENTS.contains(&lc.as_str())
    {
        return;
    }
    let status = header.get(row, "HttpStatus").unwrap_or("").trim();
    let mut d = copy(
        header,
        row,
        &[
            ("AuthenticatedUser", "user"),
            ("ClientIpAddress", "client_ip"),
            ("FrontEndServer", "front_end"),
            ("ServerHostName", "server"),
            ("HttpStatus", "status"),
            ("UrlStem", "url"),
            ("UrlQuery", "query"),
            ("CommandName", "command"),
            ("AuthenticationType", "auth_type"),
        ],
    );
    d.insert("client_info".into(), client.to_string());
    // CrowdStrike prints the proxied path as `a -> b`.
    if let Some(ip) = d.get("client_ip").cloned() {
        let chain: Vec<&str> = ip.split_whitespace().collect();
        d.insert("client_chain".into(), chain.join(" -> "));
    }
    let via =
        row.iter().any(|v| v.to_ascii_lowercase().contains("autodiscover"));
    let rule = if via { &RPS_PROXYNOTSHELL } else { &RPS_OWASSRF };
    let refs =
        if via { [MS_PNS, CROWDSTRIKE] } else { [CS_BLOG, CROWDSTRIKE] };
    d.insert("references".into(), refs.join(" "));
    let grade =
        if status == "200" { Grade::Exploited } else { Grade::Attempt };
    let user = d.get("user").map_or("(no user)", String::as_str);
    let summary = format!(
        "remote PowerShell as {user} with client {client:?}, status {status}"
    );
    scan.push(rule, grade, number, ts, summary, d);
}

fn check_cmdlet(
    scan: &mut Scan,
    header: &Header,
    row: &[String],
    number: u64,
    ts: Option<Ts>,
) {
    let cmdlet = header.get(row, "Cmdlet").unwrap_or("");
    let params = header.get(row, "Parameters").unwrap_or("");
    let Some(j) = persist::classify(cmdlet, params) else { return };
    let result = header.get(row, "ExecutionResult").unwrap_or("");
    let ok = match result.trim().to_ascii_lowercase().as_str() {
        "" => None,
        "success" => Some(true),
        _ => Some(false),
    };
    let grade = persist::grade(&j, ok);
    let mut d = copy(
        header,
        row,
        &[
            ("Cmdlet", "cmdlet"),
            ("Parameters", "parameters"),
            ("AuthenticatedUser", "user"),
            ("ExecutingUserSid", "user_sid"),
            ("ClientApplication", "client_application"),
            ("ProcessName", "process"),
            ("ServerHostName", "server"),
            ("ExecutionResult", "result"),
        ],
    );
    // `PSSenderInfo=DOMAIN\user` in GenericInfo: the remote session's
    // account, where the cmdlet came from.
    if let Some(info) = header.get(row, "GenericInfo")
        && let Some(i) = info.find("PSSenderInfo=")
    {
        let v = info[i + 13..].split(';').next().unwrap_or("");
        d.insert("ps_sender".into(), v.to_string());
    }
    d.insert(
        "references".into(),
        [MS_CMDLET_LOGS, ATTACK_EMAIL_RULES].join(" "),
    );
    let who = d
        .get("user")
        .or(d.get("ps_sender"))
        .map_or("(unknown user)", String::as_str);
    let summary = format!("{cmdlet} by {who}: {}", j.why);
    scan.push(&CMDLET_PERSIST, grade, number, ts, summary, d);
    if let Some(f) = scan.findings.last_mut() {
        f.attack = j.attack.iter().map(|s| s.to_string()).collect();
    }
}
