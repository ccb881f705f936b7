//! Web shells: files Exchange never puts in its drop folders, mailbox
//! exports and certificate requests saved as pages (ProxyShell), YARA
//! hits and known-bad hashes.
//!
//! The drop-folder check is an allowlist (cert-lv's idea, kept separate
//! from name blocklists, which attackers change at will): in `owa\auth`,
//! `ecp\auth` and `aspnet_client` only a few known files belong, so any
//! other page there is a web shell until shown otherwise.

use vigie_model::{Finding, Grade, Severity};
use vigie_yara::RuleMatch;

use super::hashes::BadHash;
use super::rules::{self, FileCtx, details, severity_of};
use crate::place::{ShellDir, is_legit_in, is_script_ext, shell_drop_dir};

/// Extra known-good files per drop folder (beyond `place.rs`).
const ALLOWLIST: &str = include_str!("../../data/shell-dir-allowlist.txt");

/// Known-good files below the drop folders, from the embedded list.
#[derive(Debug, Default)]
pub struct Allowlist {
    entries: Vec<(ShellDir, Vec<String>)>,
}

impl Allowlist {
    /// The embedded list (its format is checked by a unit test).
    pub fn embedded() -> Self {
        let mut entries = Vec::new();
        for line in ALLOWLIST.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((dir, rest)) = line.split_once(';') else { continue };
            let dir = match dir {
                "owa_auth" => ShellDir::OwaAuth,
                "ecp_auth" => ShellDir::EcpAuth,
                "aspnet_client" => ShellDir::AspnetClient,
                _ => continue,
            };
            let parts = rest.split('\\').map(str::to_string).collect();
            entries.push((dir, parts));
        }
        Allowlist { entries }
    }

    /// Number of entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether `below` (lower case, below the drop folder) is listed.
    pub fn allows(&self, dir: ShellDir, below: &str) -> bool {
        let parts: Vec<&str> = below.split('\\').collect();
        self.entries.iter().any(|(d, pat)| {
            *d == dir
                && pat.len() == parts.len()
                && pat.iter().zip(&parts).all(|(p, s)| p == "*" || p == s)
        })
    }
}

fn dir_label(dir: ShellDir) -> &'static str {
    match dir {
        ShellDir::OwaAuth => r"owa\auth",
        ShellDir::EcpAuth => r"ecp\auth",
        ShellDir::AspnetClient => "aspnet_client",
    }
}

/// OAB virtual directories: Exchange serves only address book files and
/// a `web.config` there, never a page (shells were dropped there too).
const PAGE_FREE: [(&str, &str); 2] = [
    (r"\frontend\httpproxy\oab\", r"HttpProxy\OAB"),
    (r"\clientaccess\oab\", r"ClientAccess\OAB"),
];

/// A page in an OAB folder.
fn oab_page(ctx: &FileCtx<'_>) -> Option<Finding> {
    let (_, label) =
        PAGE_FREE.iter().find(|(n, _)| ctx.win.lower.contains(n))?;
    if !is_script_ext(&ctx.ext) {
        return None;
    }
    let grade = Grade::Compromised;
    let summary = format!(
        "{} in {label}: a page IIS runs, where Exchange serves only \
         address book files",
        ctx.win.display
    );
    let d = details([("folder", label.to_string())]);
    Some(ctx.finding(&rules::DROP_DIR, grade, severity_of(grade), summary, d))
}

/// A file in a drop folder that Exchange and IIS do not put there.
pub fn drop_dir(ctx: &FileCtx<'_>, allow: &Allowlist) -> Option<Finding> {
    let Some((dir, below)) = shell_drop_dir(&ctx.win.lower) else {
        return oab_page(ctx);
    };
    if is_legit_in(dir, below) || allow.allows(dir, below) {
        return None;
    }
    let label = dir_label(dir);
    let (grade, why) = if is_script_ext(&ctx.ext) {
        (
            Grade::Compromised,
            "a page IIS runs, where only Exchange's own pages belong",
        )
    } else if ctx.ext == "config" {
        (Grade::Attempt, "a config file can make IIS run other files as pages")
    } else {
        (Grade::Info, "not a page, but Exchange does not put it there")
    };
    let summary = format!("{} in {label}: {why}", ctx.win.display);
    let d = details([("folder", label.to_string())]);
    Some(ctx.finding(&rules::DROP_DIR, grade, severity_of(grade), summary, d))
}

/// What the first bytes of a page say it really is.
pub fn export_kind(ext: &str, head: &[u8]) -> Option<&'static str> {
    // `.cer` is an ASP extension to IIS but also the normal name of a
    // DER certificate: only PST content counts there.
    if !is_script_ext(ext) {
        return None;
    }
    if head.starts_with(b"!BDN") {
        return Some("PST mailbox export (New-MailboxExportRequest)");
    }
    if ext == "cer" {
        return None;
    }
    if head.len() >= 4 && head[0] == 0x30 && head[1] == 0x82 {
        return Some("DER certificate request (New-ExchangeCertificate)");
    }
    let text = String::from_utf8_lossy(&head[..head.len().min(256)]);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("-----BEGIN NEW CERTIFICATE REQUEST-----")
        || text.starts_with("-----BEGIN CERTIFICATE REQUEST-----")
    {
        return Some("PEM certificate request (New-ExchangeCertificate)");
    }
    None
}

/// A mailbox export or certificate request written as a page: the
/// ProxyShell way to drop a web shell through Exchange's own cmdlets.
pub fn export_page(ctx: &FileCtx<'_>, head: &[u8]) -> Option<Finding> {
    let kind = export_kind(&ctx.ext, head)?;
    let summary = format!(
        "{}: a {kind} saved as a page; a shell hidden inside runs when \
         the page is requested",
        ctx.win.display
    );
    let d = details([("content", kind.to_string())]);
    let grade = Grade::Compromised;
    Some(ctx.finding(
        &rules::EXPORT_PAGE,
        grade,
        severity_of(grade),
        summary,
        d,
    ))
}

/// Grade of a YARA hit from its `score` meta (signature-base: 0-100;
/// YARA Forge counts a missing score as 75).
fn yara_grade(m: &RuleMatch) -> Grade {
    let score = m
        .meta
        .get("score")
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or(75);
    match score {
        70.. => Grade::Compromised,
        40..=69 => Grade::Attempt,
        _ => Grade::Info,
    }
}

/// One finding per matching rule, each keeping the rule's author and
/// reference (the Detection Rule License asks for the author in every
/// message based on a match).
pub fn yara_findings(ctx: &FileCtx<'_>, hits: &[RuleMatch]) -> Vec<Finding> {
    hits.iter()
        .map(|m| {
            let grade = yara_grade(m);
            let author = m.meta.get("author").cloned().unwrap_or_default();
            let desc = m.meta.get("description").cloned().unwrap_or_default();
            let summary = format!(
                "{}: YARA rule {} by {}{}",
                ctx.win.display,
                m.rule,
                if author.is_empty() { "(no author)" } else { &author },
                if desc.is_empty() {
                    String::new()
                } else {
                    format!(": {desc}")
                }
            );
            let mut d = details([
                ("yara_rule", m.rule.clone()),
                ("yara_origin", m.origin.clone()),
                ("yara_namespace", m.namespace.clone()),
            ]);
            if !m.tags.is_empty() {
                d.insert("yara_tags".into(), m.tags.join(" "));
            }
            for (k, v) in &m.meta {
                d.insert(format!("yara_{k}"), v.clone());
            }
            ctx.finding(&rules::YARA, grade, severity_of(grade), summary, d)
        })
        .collect()
}

/// The file's hash is on a known-bad list.
pub fn hash_finding(
    ctx: &FileCtx<'_>,
    sha256: &str,
    bad: &BadHash,
) -> Finding {
    let summary = format!(
        "{}: SHA-256 on a known-bad list ({})",
        ctx.win.display,
        if bad.comment.is_empty() { "no comment" } else { &bad.comment }
    );
    let d = details([
        ("sha256", sha256.to_string()),
        ("hash_comment", bad.comment.clone()),
        ("hash_list", bad.origin.clone()),
    ]);
    let grade = Grade::Compromised;
    ctx.finding(&rules::HASH, grade, Severity::Critical, summary, d)
}
