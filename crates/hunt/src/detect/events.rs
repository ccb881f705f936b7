//! Windows event rules (JSON/JSONL exports; EVTX records use the same
//! flat view): CVE-2021-26857 UM crashes, CVE-2021-27065 cmdlets, web
//! shell writes and web server processes spawning shells.

use std::collections::BTreeMap;

use serde_json::Value;
use vigie_logs::json::{Position, Problem};
use vigie_model::{Family, Grade};

use super::LogScanOptions;
use super::common::{Rule, Scan, parse_time};
use super::{persist, tpl};

/// Exchange management cmdlet used by the exploit chains.
pub const CMDLET: Rule = Rule {
    id: "VG-EV-001",
    title: "Exchange cmdlet used to plant or stage (CVE-2021-27065 etc.)",
    family: Family::ProxyLogon,
    cves: &["CVE-2021-27065"],
    attack: &["T1505.003", "T1114"],
};

/// `.aspx` written into a web folder (Sysmon 11 / Security 5145).
pub const ASPX_WRITE: Rule = Rule {
    id: "VG-EV-002",
    title: "ASPX file written into an Exchange/IIS web folder",
    family: Family::PostExploitation,
    cves: &[],
    attack: &["T1505.003"],
};

/// Web server or UM process spawning a shell (Sysmon 1 / Security 4688).
pub const SHELL_CHILD: Rule = Rule {
    id: "VG-EV-003",
    title: "Exchange web/UM process spawned a shell",
    family: Family::PostExploitation,
    cves: &[],
    attack: &["T1505.003", "T1059"],
};

/// Unified Messaging deserialisation crash (CVE-2021-26857).
pub const UM_CAST: Rule = Rule {
    id: "VG-EV-004",
    title: "Unified Messaging InvalidCastException (CVE-2021-26857)",
    family: Family::ProxyLogon,
    cves: &["CVE-2021-26857"],
    attack: &["T1190"],
};

const WEB_DIRS: &[&str] = &[
    r"\inetpub\wwwroot\aspnet_client",
    r"\frontend\httpproxy\owa\auth",
    r"\frontend\httpproxy\ecp\auth",
    r"\clientaccess\oab",
];
const PARENTS: &[&str] = &["w3wp.exe", "umworkerprocess.exe", "umservice.exe"];
const SHELLS: &[&str] = &[
    "cmd.exe",
    "powershell.exe",
    "pwsh.exe",
    "wscript.exe",
    "cscript.exe",
    "mshta.exe",
    "rundll32.exe",
    "certutil.exe",
    "net.exe",
    "whoami.exe",
];

/// Every flat field the rules below read (`Event` refuses others): an
/// EVTX record is built with these only, which spares copying the rest.
pub const FIELDS: &[&str] = &[
    "EventID",
    "Level",
    "Channel",
    "SourceName",
    "Message",
    "TargetFilename",
    "RelativeTargetName",
    "Image",
    "ParentImage",
    "ParentProcessName",
    "NewProcessName",
    "CommandLine",
];

/// Texts (ASCII case ignored) one of which a record must hold for any
/// rule below to fire: an EVTX record holding none (in its values or its
/// template's text) is not rendered, only counted (see
/// `vigie_logs::evtx::Fields::Holding`). Each is what a rule's test
/// needs whole in one value: `cmdlet` the cmdlet names it grades,
/// `aspx_write` the `.aspx` ending, `shell_child` the parent image
/// name, `um_cast` the exception. A rule reading another text must add
/// it here (`every_rule_needs_a_needle` checks the rules' own cases).
pub const NEEDLES: &[&str] = &[
    "-oabvirtualdirectory",
    "new-mailboxexportrequest",
    "new-managementroleassignment",
    "new-exchangecertificate",
    ".aspx",
    "w3wp.exe",
    "umworkerprocess.exe",
    "umservice.exe",
    "system.invalidcastexception",
    // The persistence cmdlets (`persist::NEEDLES`, checked equal in a
    // test).
    "-inboxrule",
    "-mailboxexportrequest",
    "-managementroleassignment",
    "add-mailboxpermission",
    "add-recipientpermission",
    "add-adpermission",
    "-transportrule",
    "virtualdirectory",
    "-transportagent",
    "set-mailbox",
    "binaryformatter.deserialize",
    "agents.config",
];

/// A transport agent configuration written by a process outside the
/// Exchange install tree (Sysmon 11): how a rogue agent gets registered
/// by hand (EVTX-to-MITRE-Attack's "Exchange transport config modified"
/// sample: notepad++ editing `agents.config`).
pub const AGENTS_WRITE: Rule = Rule {
    id: "VG-EV-007",
    title: "Transport agent configuration written by a non-Exchange process",
    family: Family::Persistence,
    cves: &[],
    attack: &["T1505.002"],
};

/// CVE-2021-42321: Microsoft's check for exploitation attempts (Nov
/// 2021 security update post): an error of `MSExchange Common` whose
/// message holds `BinaryFormatter.Deserialize`.
pub const DESERIALIZE: Rule = Rule {
    id: "VG-EV-006",
    title: "Exchange deserialization error (CVE-2021-42321 attempt)",
    family: Family::Other,
    cves: &["CVE-2021-42321"],
    attack: &["T1190"],
};

/// A persistence cmdlet in the MSExchange Management log.
pub const MGMT_PERSIST: Rule = Rule {
    id: "VG-EV-005",
    title: "Exchange cmdlet for mailbox abuse or persistence (MSExchange Management)",
    family: Family::Persistence,
    cves: &[],
    attack: &["T1098", "T1114"],
};

/// A flat view of one event.
pub struct Event<'a> {
    /// The whole record, for field lookup.
    pub value: &'a Value,
}

impl Event<'_> {
    fn str(&self, key: &str) -> &str {
        debug_assert!(FIELDS.contains(&key), "{key} missing from FIELDS");
        self.value.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// Event level as text (`2` = error); exports write it as a number
    /// or a string.
    fn level(&self) -> Option<String> {
        match self.value.get("Level")? {
            Value::String(s) if s.trim().eq_ignore_ascii_case("error") => {
                Some("2".into())
            }
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn id(&self) -> Option<u64> {
        let v = self.value.get("EventID")?;
        v.as_u64().or_else(|| v.as_str()?.parse().ok())
    }
}

/// Scan one JSON export: JSON Lines or one JSON array (any layout), in
/// UTF-8 or UTF-16. Findings of an array element point at its index
/// (as a record id), those of a line at the line.
pub fn scan_jsonl(scan: &mut Scan, opts: &LogScanOptions) {
    let Some(reader) = scan.open_text() else { return };
    let mut bad = 0u64;
    let mut errors = Vec::new();
    let mut too_long = Vec::new();
    vigie_logs::json::read_events(
        reader,
        |pos, value| {
            let ev = Event { value: &value };
            let ts = ["TimeCreated", "@timestamp", "UtcTime"]
                .iter()
                .find_map(|k| parse_time(value.get(k)?.as_str()?));
            scan.record(ts);
            if !Scan::in_window(opts, ts) {
                return;
            }
            let (number, element) = match pos {
                Position::Line(n) => (n, false),
                Position::Element(n) => (n, true),
            };
            let before = scan.findings.len();
            check_event(scan, &ev, number, ts);
            if element {
                for f in &mut scan.findings[before..] {
                    f.source.line = None;
                    f.source.record_id = Some(number);
                }
            }
        },
        |problem| match problem {
            Problem::TooLong(n) => too_long.push(n),
            Problem::Bad(e) => {
                bad += 1;
                if bad <= 3 {
                    errors.push(e);
                }
            }
        },
    );
    if bad > 3 {
        errors.push(format!("{} more problem(s) like these", bad - 3));
    }
    for n in too_long {
        scan.too_long(n);
    }
    for e in errors {
        scan.error(vigie_model::ItemErrorKind::Parse, e);
    }
}

/// Scan one `.evtx` file.
pub fn scan_evtx(scan: &mut Scan, opts: &LogScanOptions) {
    scan_evtx_part(scan, opts, None);
}

/// Scan one `.evtx` file, or only chunks `chunks` of it (see `ranged`).
pub fn scan_evtx_part(
    scan: &mut Scan,
    opts: &LogScanOptions,
    chunks: Option<std::ops::Range<u64>>,
) {
    let path = std::path::PathBuf::from(&scan.path);
    let mut errors = Vec::new();
    let on_error = |e| errors.push(e);
    let on_record = |rec: vigie_logs::evtx::EvtxRecord| {
        scan.record(rec.timestamp);
        if Scan::in_window(opts, rec.timestamp) {
            let ev = Event { value: &rec.value };
            let before = scan.findings.len();
            check_event(scan, &ev, rec.record_id, rec.timestamp);
            // EVTX findings point at the record id, not a line.
            for f in &mut scan.findings[before..] {
                f.source.line = None;
                f.source.record_id = Some(rec.record_id);
            }
        }
    };
    let fields =
        vigie_logs::evtx::Fields::Holding { fields: FIELDS, needles: NEEDLES };
    let res = match chunks {
        None => vigie_logs::evtx::read_evtx_fields(
            &path, fields, on_record, on_error,
        ),
        Some(c) => vigie_logs::evtx::read_evtx_chunks_fields(
            &path, c, fields, on_record, on_error,
        ),
    };
    if let Err(e) = res {
        errors.push(e);
    }
    for e in errors {
        scan.error(vigie_model::ItemErrorKind::Parse, e);
    }
}

/// Apply every event rule to one record.
pub fn check_event(
    scan: &mut Scan,
    ev: &Event<'_>,
    number: u64,
    ts: Option<chrono::DateTime<chrono::Utc>>,
) {
    let id = ev.id();
    let msg = ev.str("Message");
    let channel = ev.str("Channel");
    if channel.eq_ignore_ascii_case("MSExchange Management")
        && !cmdlet(scan, msg, number, ts)
    {
        persist_cmdlet(scan, msg, number, ts);
    }
    let sysmon =
        ev.str("SourceName").contains("Sysmon") || channel.contains("Sysmon");
    match (sysmon, id) {
        (true, Some(11)) | (false, Some(5145)) => {
            let target =
                [ev.str("TargetFilename"), ev.str("RelativeTargetName")]
                    .into_iter()
                    .find(|s| !s.is_empty())
                    .unwrap_or("");
            aspx_write(scan, target, ev.str("Image"), number, ts);
            if sysmon {
                agents_write(scan, target, ev.str("Image"), number, ts);
            }
        }
        (true, Some(1)) | (false, Some(4688)) => {
            let parent = [ev.str("ParentImage"), ev.str("ParentProcessName")]
                .into_iter()
                .find(|s| !s.is_empty())
                .unwrap_or("");
            let image = [ev.str("Image"), ev.str("NewProcessName")]
                .into_iter()
                .find(|s| !s.is_empty())
                .unwrap_or("");
            shell_child(
                scan,
                parent,
                image,
                ev.str("CommandLine"),
                number,
                ts,
            );
        }
        _ => {}
    }
    um_cast(scan, ev, msg, number, ts);
    deserialize(scan, ev, msg, number, ts);
}

/// `...\TransportRoles\...\*agents.config` written by an image that is
/// not under the same install root.
fn agents_write(
    scan: &mut Scan,
    target: &str,
    image: &str,
    n: u64,
    ts: Option<Ts>,
) {
    let t = target.to_ascii_lowercase();
    let Some(i) = t.find(r"\transportroles\") else { return };
    if !t.ends_with("agents.config")
        || image.to_ascii_lowercase().starts_with(&t[..=i])
    {
        return;
    }
    let mut d = BTreeMap::new();
    d.insert("written_path".into(), target.to_string());
    d.insert("image".into(), image.to_string());
    d.insert(
        "references".into(),
        "https://attack.mitre.org/techniques/T1505/002/".into(),
    );
    let s = format!("{target} written by {image}");
    scan.push(&AGENTS_WRITE, Grade::Attempt, n, ts, s, d);
}

/// CVE-2021-42321, as Microsoft's one-line check reads it.
fn deserialize(
    scan: &mut Scan,
    ev: &Event<'_>,
    msg: &str,
    n: u64,
    ts: Option<Ts>,
) {
    if !ev.str("SourceName").eq_ignore_ascii_case("MSExchange Common")
        || !tpl::like(msg, "*BinaryFormatter.Deserialize*")
        || ev.level().is_some_and(|l| l != "2")
    {
        return;
    }
    let mut d = BTreeMap::new();
    d.insert("message".into(), msg.chars().take(2000).collect());
    d.insert(
        "references".into(),
        "https://techcommunity.microsoft.com/t5/exchange-team-blog/released-november-2021-exchange-server-security-updates/ba-p/2933169".into(),
    );
    let s = "MSExchange Common error in BinaryFormatter.Deserialize".into();
    scan.push(&DESERIALIZE, Grade::Attempt, n, ts, s, d);
}

/// CVE-2021-26857: a Unified Messaging event with an
/// InvalidCastException. Test-ProxyLogon only reads error-level events;
/// others are kept as probes.
fn um_cast(
    scan: &mut Scan,
    ev: &Event<'_>,
    msg: &str,
    n: u64,
    ts: Option<Ts>,
) {
    let source = ev.str("SourceName");
    if !source.contains("Unified Messaging")
        || !tpl::like(msg, "*System.InvalidCastException*")
    {
        return;
    }
    let level = ev.level();
    let mut d = BTreeMap::new();
    d.insert("message".into(), msg.to_string());
    let grade = match level.as_deref() {
        None | Some("2") => Grade::Attempt,
        Some(l) => {
            d.insert("level".into(), l.to_string());
            Grade::Probe
        }
    };
    if tpl::cve_26857(source, level.as_deref().unwrap_or(""), msg) {
        d.insert(tpl::KEY.into(), "CVE-2021-26857".into());
    }
    let s = "UM service crashed on a cast (deserialisation)".to_string();
    scan.push(&UM_CAST, grade, n, ts, s, d);
}

fn ends_with_any(path: &str, names: &[&str]) -> bool {
    let l = path.to_ascii_lowercase();
    let name = l.rsplit(['\\', '/']).next().unwrap_or("");
    names.contains(&name)
}

/// "Cmdlet suceeded. Cmdlet Set-X, parameters ...": the name is the
/// first word after "cmdlet " that holds a verb-noun dash; the
/// parameters follow `parameters `.
///
/// An EVTX record carries no rendered message: its data values come
/// one per line, the cmdlet name first and its parameters second (as
/// `MSExchange CmdletLogs` writes them); that shape is read too.
fn cmdlet_parts(msg: &str) -> Option<(&str, &str)> {
    let l = msg.to_ascii_lowercase();
    let Some(start) =
        l.match_indices("cmdlet ").map(|(i, _)| i + 7).find(|&i| {
            l[i..].split([',', ' ']).next().is_some_and(|w| w.contains('-'))
        })
    else {
        let mut lines = msg.lines();
        let name = lines.next()?.trim();
        let verb_noun = name.split_once('-').is_some_and(|(v, n)| {
            !v.is_empty()
                && !n.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        return verb_noun.then(|| (name, lines.next().unwrap_or("").trim()));
    };
    let rest = &msg[start..];
    let name = rest.split([',', ' ']).next().unwrap_or("");
    let params = rest
        .split_once("parameters ")
        .map_or("", |(_, p)| p.trim_end_matches('.'));
    Some((name, params))
}

/// Mailbox abuse and persistence cmdlets (see `persist`): who ran them
/// is in the message where the export kept it.
fn persist_cmdlet(scan: &mut Scan, msg: &str, n: u64, ts: Option<Ts>) {
    let Some((name, params)) = cmdlet_parts(msg) else { return };
    let Some(j) = persist::classify(name, params) else { return };
    let l = msg.to_ascii_lowercase();
    // A failed run logs the exception (EVTX data) or says so.
    let ok = if l.contains("succeeded") || l.contains("suceeded") {
        Some(true)
    } else if l.contains("failed") || l.contains("exception") {
        Some(false)
    } else {
        None
    };
    let mut d = BTreeMap::new();
    d.insert("cmdlet".into(), name.to_string());
    d.insert("parameters".into(), params.to_string());
    d.insert("message".into(), msg.to_string());
    d.insert(
        "references".into(),
        "https://learn.microsoft.com/en-us/exchange/policy-and-compliance/admin-audit-logging/admin-audit-logging".into(),
    );
    let s = format!("{name}: {}", j.why);
    scan.push(&MGMT_PERSIST, persist::grade(&j, ok), n, ts, s, d);
    if let Some(f) = scan.findings.last_mut() {
        f.attack = j.attack.iter().map(|s| s.to_string()).collect();
    }
}

/// The cmdlets of the 2021 exploit chains (VG-EV-001); `true` if one
/// fired.
fn cmdlet(scan: &mut Scan, msg: &str, n: u64, ts: Option<Ts>) -> bool {
    let l = msg.to_ascii_lowercase();
    let Some((name, params)) = cmdlet_parts(msg) else { return false };
    let lname = name.to_ascii_lowercase();
    let lp = params.to_ascii_lowercase();
    let why = if lname.ends_with("-oabvirtualdirectory")
        && lp.contains("<script")
    {
        "script planted in OAB virtual directory URL"
    } else if lname.ends_with("-oabvirtualdirectory") && lp.contains("url") {
        "OAB virtual directory URL changed"
    } else if lname == "new-mailboxexportrequest" && lp.contains(".aspx") {
        "mailbox exported to an .aspx file"
    } else if lname == "new-managementroleassignment"
        && lp.contains("mailbox import export")
    {
        "Mailbox Import Export role granted"
    } else if lname == "new-exchangecertificate" && lp.contains("requestfile")
    {
        "certificate request written to a file"
    } else {
        return false;
    };
    let ok = l.contains("succeeded") || l.contains("suceeded");
    let planted = lp.contains("<script") || lp.contains(".aspx");
    let grade = if ok && planted { Grade::Exploited } else { Grade::Attempt };
    let mut d = BTreeMap::new();
    d.insert("cmdlet".into(), name.to_string());
    d.insert("parameters".into(), params.to_string());
    if let Some(i) = lp.find("<script") {
        d.insert("payload".into(), params[i..].to_string());
    }
    let s = format!("{name}: {why}");
    scan.push(&CMDLET, grade, n, ts, s, d);
    true
}

type Ts = chrono::DateTime<chrono::Utc>;

fn aspx_write(
    scan: &mut Scan,
    target: &str,
    image: &str,
    n: u64,
    ts: Option<Ts>,
) {
    let l = target.to_ascii_lowercase();
    if !l.ends_with(".aspx") || !WEB_DIRS.iter().any(|d| l.contains(d)) {
        return;
    }
    let mut d = BTreeMap::new();
    d.insert("written_path".into(), target.to_string());
    if !image.is_empty() {
        d.insert("image".into(), image.to_string());
    }
    let s = format!("ASPX written into web folder: {target}");
    scan.push(&ASPX_WRITE, Grade::Compromised, n, ts, s, d);
}

fn shell_child(
    scan: &mut Scan,
    parent: &str,
    image: &str,
    cmd: &str,
    n: u64,
    ts: Option<Ts>,
) {
    if !ends_with_any(parent, PARENTS) || !ends_with_any(image, SHELLS) {
        return;
    }
    let mut d = BTreeMap::new();
    d.insert("parent".into(), parent.to_string());
    d.insert("image".into(), image.to_string());
    d.insert("command_line".into(), cmd.to_string());
    let s = format!("{parent} spawned {cmd}");
    scan.push(&SHELL_CHILD, Grade::Compromised, n, ts, s, d);
}
