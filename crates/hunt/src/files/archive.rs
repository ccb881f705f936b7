//! Archives and mailbox files staged for exfiltration.
//!
//! HAFNIUM packed stolen data with 7-Zip into `C:\ProgramData` and
//! `C:\root`; Test-ProxyLogon lists every `.zip/.7z/.rar` under
//! ProgramData and drowned its users in vendor archives (CSS-Exchange
//! #311). vigie judges by place and time instead of by name: an archive
//! (by magic or name) directly in a staging folder's root, anywhere in
//! `C:\root`, or anywhere IIS serves, written on or after 2020-12-01
//! (the start of the Exchange exploitation waves) is high; an older one
//! is listed as context with that reason, and does not move the verdict.

use chrono::{DateTime, TimeZone, Utc};
use vigie_model::{Finding, Grade, Severity};

use super::rules::{self, FileCtx, details, rfc3339};
use crate::place::{Place, is_script_ext};

/// Archive kinds by magic, first bytes.
const MAGIC: [(&[u8], &str); 6] = [
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"MSCF", "cab"),
    (b"!BDN", "pst"),
];

/// Archive kinds by extension.
const EXTS: [&str; 5] = ["zip", "7z", "rar", "cab", "pst"];

/// Zip-based document and package formats: PK magic, not an archive
/// someone staged.
const ZIP_FORMATS: [&str; 12] = [
    "docx", "xlsx", "pptx", "jar", "nupkg", "msix", "appx", "vsix", "odt",
    "ods", "xpi", "apk",
];

/// Staging folders whose root (not subfolders) is judged.
const STAGING_ROOTS: [&str; 6] = [
    r"c:\programdata\",
    r"c:\windows\temp\",
    r"c:\users\public\",
    r"c:\perflogs\",
    r"c:\users\all users\",
    r"c:\root\",
];

/// The start of the Exchange exploitation waves (HAFNIUM was active from
/// early January 2021; a month of margin).
pub fn cutoff() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 12, 1, 0, 0, 0).single().unwrap_or_default()
}

/// What kind of archive a file is, by magic then by name.
pub fn kind(ext: &str, head: &[u8]) -> Option<&'static str> {
    if ZIP_FORMATS.contains(&ext) {
        return None;
    }
    MAGIC
        .iter()
        .find(|(m, _)| head.starts_with(m))
        .map(|(_, k)| *k)
        .or_else(|| EXTS.iter().find(|e| **e == ext).copied())
}

/// How deep below a staging folder's root a path is (0: directly in
/// it), and whether that root is `C:\root` (attacker-made: any depth).
pub fn staging_depth(lower: &str) -> Option<(usize, bool)> {
    STAGING_ROOTS.iter().find_map(|root| {
        let below = lower.strip_prefix(root)?;
        Some((below.matches('\\').count(), *root == r"c:\root\"))
    })
}

/// Whether the place is one where staged archives are judged.
fn staged_place(ctx: &FileCtx<'_>) -> bool {
    match ctx.place {
        Place::ShellDrop | Place::WebRoot => true,
        Place::Staging => staging_depth(&ctx.win.lower)
            .is_some_and(|(depth, root)| root || depth == 0),
        Place::TempAspNet | Place::Other => false,
    }
}

/// A finding for an archive staged where attackers stage them. Script
/// pages with PST content are [`super::webshell::export_page`]'s.
pub fn check(ctx: &FileCtx<'_>, head: &[u8]) -> Option<Finding> {
    if is_script_ext(&ctx.ext) || !staged_place(ctx) {
        return None;
    }
    let kind = kind(&ctx.ext, head)?;
    let what = if kind == "pst" {
        "mailbox file (PST)".to_string()
    } else {
        format!("{kind} archive")
    };
    let served = matches!(ctx.place, Place::ShellDrop | Place::WebRoot);
    let where_ = if served {
        "in a folder IIS serves (downloadable)"
    } else {
        "in a staging folder"
    };
    let cut = cutoff();
    let recent = ctx.modified.is_none_or(|m| m >= cut);
    let (grade, severity, why) = if recent {
        (
            Grade::Attempt,
            Severity::High,
            format!(
                "written on or after {}, when Exchange exploitation began",
                cut.format("%Y-%m-%d")
            ),
        )
    } else {
        (
            Grade::Info,
            Severity::Low,
            format!(
                "written before {}: predates the Exchange exploitation \
                 waves, likely a vendor or admin archive",
                cut.format("%Y-%m-%d")
            ),
        )
    };
    let summary = format!("{}: {what} {where_}, {why}", ctx.win.display);
    let d = details([
        ("archive_kind", kind.to_string()),
        ("judged_against", rfc3339(cut)),
    ]);
    Some(ctx.finding(&rules::ARCHIVE, grade, severity, summary, d))
}
