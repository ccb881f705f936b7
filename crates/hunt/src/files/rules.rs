//! The file rules' fixed descriptions (id, title, CVEs, ATT&CK,
//! references) and the one place findings about a file are built, so
//! every file finding carries the same context: where the file was on the
//! server, its size and times, and the URL it was served under.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use vigie_model::{Family, Finding, Grade, Severity, SourceRef};

use crate::place::{Place, WinPath, place_of, url_path};

/// One file rule. Ids are stable: reports and suppressions refer to them.
#[derive(Debug)]
pub struct FsRule {
    /// `VG-FS-xxx`.
    pub id: &'static str,
    /// Title for people.
    pub title: &'static str,
    /// CVEs the evidence points to (empty: any of several).
    pub cves: &'static [&'static str],
    /// ATT&CK technique ids.
    pub attack: &'static [&'static str],
    /// Where the indicator was published.
    pub references: &'static [&'static str],
}

const MSTIC_HAFNIUM: &str = "https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/";
const MSERT_GUIDANCE: &str = "https://github.com/microsoft/CSS-Exchange/blob/main/Security/Defender-MSERT-Guidance.md";
const TEST_PROXYLOGON: &str =
    "https://github.com/microsoft/CSS-Exchange/tree/main/Security";
const SIGBASE: &str = "https://github.com/Neo23x0/signature-base";

/// A YARA rule matched the file.
pub const YARA: FsRule = FsRule {
    id: "VG-FS-001",
    title: "YARA rule match (web shell or attacker tool)",
    cves: &[],
    attack: &["T1505.003"],
    references: &[MSERT_GUIDANCE, SIGBASE],
};

/// The file's SHA-256 is on a known-bad list.
pub const HASH: FsRule = FsRule {
    id: "VG-FS-002",
    title: "Known-bad file hash",
    cves: &[],
    attack: &["T1505.003"],
    references: &[MSTIC_HAFNIUM],
};

/// A file that Exchange or IIS did not put in a drop folder.
pub const DROP_DIR: FsRule = FsRule {
    id: "VG-FS-003",
    title: "Unexpected file in a web shell drop folder",
    cves: &[],
    attack: &["T1505.003"],
    references: &[
        MSTIC_HAFNIUM,
        MSERT_GUIDANCE,
        "https://github.com/cert-lv/exchange_webshell_detection",
    ],
};

/// A mailbox export or certificate request saved as a script page.
pub const EXPORT_PAGE: FsRule = FsRule {
    id: "VG-FS-004",
    title: "Mailbox export (PST) or certificate request saved as a page",
    cves: &["CVE-2021-34473", "CVE-2021-34523", "CVE-2021-31207"],
    attack: &["T1505.003"],
    references: &[
        "https://github.com/Neo23x0/signature-base/blob/master/yara/expl_proxyshell.yar",
        "https://msrc.microsoft.com/update-guide/vulnerability/CVE-2021-34473",
    ],
};

/// ASP.NET compiled a page that does not belong to Exchange.
pub const COMPILED: FsRule = FsRule {
    id: "VG-FS-005",
    title: "Unexpected page compiled by ASP.NET (the page ran)",
    cves: &[],
    attack: &["T1505.003"],
    references: &[
        MSERT_GUIDANCE,
        "https://github.com/OTRF/Security-Datasets/blob/master/datasets/atomic/_metadata/SDWIN-210314014019.yaml",
    ],
};

/// A memory dump of LSASS.
pub const LSASS: FsRule = FsRule {
    id: "VG-FS-006",
    title: "LSASS memory dump",
    cves: &[],
    attack: &["T1003.001"],
    references: &[MSTIC_HAFNIUM, TEST_PROXYLOGON],
};

/// An archive or mailbox file staged for exfiltration.
pub const ARCHIVE: FsRule = FsRule {
    id: "VG-FS-007",
    title: "Archive or mailbox file staged in a staging or web folder",
    cves: &[],
    attack: &["T1074.001", "T1560.001"],
    references: &[MSTIC_HAFNIUM, TEST_PROXYLOGON],
};

/// A filename IOC matched the full path.
pub const NAME_IOC: FsRule = FsRule {
    id: "VG-FS-008",
    title: "Filename IOC match",
    cves: &[],
    attack: &[],
    references: &[
        "https://github.com/Neo23x0/signature-base/blob/master/iocs/filename-iocs.txt",
    ],
};

/// A memory dump of another process in a staging folder.
pub const DUMP: FsRule = FsRule {
    id: "VG-FS-009",
    title: "Process memory dump in a staging folder",
    cves: &[],
    attack: &["T1003"],
    references: &[TEST_PROXYLOGON],
};

/// An Outlook on the web / ECP sign-in page or script changed to
/// capture credentials.
pub const OWA_TAMPER: FsRule = FsRule {
    id: "VG-FS-010",
    title: "Outlook on the web / ECP sign-in page changed to capture credentials",
    cves: &[],
    attack: &["T1056.003", "T1505.003"],
    references: &[
        "https://attack.mitre.org/techniques/T1056/003/",
        "https://www.microsoft.com/en-us/security/blog/2022/12/12/iis-modules-the-evolution-of-web-shells-and-how-to-detect-them/",
    ],
};

/// A transport agent Exchange does not ship.
pub const AGENT_UNKNOWN: FsRule = FsRule {
    id: "VG-TA-001",
    title: "Transport agent that Exchange does not ship",
    cves: &[],
    attack: &["T1505.002"],
    references: &[
        "https://attack.mitre.org/techniques/T1505/002/",
        "https://learn.microsoft.com/en-us/exchange/mail-flow/transport-agents/transport-agents",
        "https://www.welivesecurity.com/2019/05/07/turla-lightneuron-email-too-far/",
    ],
};

/// A transport agent whose assembly lies outside the install tree.
pub const AGENT_PATH: FsRule = FsRule {
    id: "VG-TA-002",
    title: "Transport agent assembly outside the Exchange install tree",
    cves: &[],
    attack: &["T1505.002"],
    references: &[
        "https://attack.mitre.org/techniques/T1505/002/",
        "https://learn.microsoft.com/en-us/exchange/mail-flow/transport-agents/transport-agents",
    ],
};

/// Every file rule, in id order (for the catalogue test).
#[cfg(test)]
pub const ALL: [&FsRule; 12] = [
    &YARA,
    &HASH,
    &DROP_DIR,
    &EXPORT_PAGE,
    &COMPILED,
    &LSASS,
    &ARCHIVE,
    &NAME_IOC,
    &DUMP,
    &OWA_TAMPER,
    &AGENT_UNKNOWN,
    &AGENT_PATH,
];

/// Severity follows grade, as for the log rules.
pub fn severity_of(grade: Grade) -> Severity {
    grade.severity()
}

/// What the rules know about the file being checked.
#[derive(Debug)]
pub struct FileCtx<'a> {
    /// Where it is on this machine (the finding's source path).
    pub path: &'a Path,
    /// Where it was on the server.
    pub win: &'a WinPath,
    /// File name as on the server.
    pub name: &'a str,
    /// File name, lower case.
    pub name_lower: String,
    /// Extension, lower case, no dot (`""` if none).
    pub ext: String,
    /// Kind of place.
    pub place: Place,
    /// Size in bytes.
    pub size: u64,
    /// Last write time.
    pub modified: Option<DateTime<Utc>>,
    /// Creation time, where the file system keeps one.
    pub created: Option<DateTime<Utc>>,
}

impl<'a> FileCtx<'a> {
    /// Gather the context of one file.
    pub fn new(
        path: &'a Path,
        win: &'a WinPath,
        meta: &std::fs::Metadata,
    ) -> Self {
        let name = win.display.rsplit('\\').next().unwrap_or_default();
        let name_lower = name.to_lowercase();
        let ext = name_lower
            .rsplit_once('.')
            .map_or(String::new(), |(_, e)| e.to_string());
        FileCtx {
            path,
            win,
            name,
            ext,
            name_lower,
            place: place_of(&win.lower),
            size: meta.len(),
            modified: meta.modified().ok().map(DateTime::<Utc>::from),
            created: meta.created().ok().map(DateTime::<Utc>::from),
        }
    }

    /// A finding about this file, dated by its last write.
    pub fn finding(
        &self,
        rule: &FsRule,
        grade: Grade,
        severity: Severity,
        summary: String,
        mut details: BTreeMap<String, String>,
    ) -> Finding {
        details.insert("win_path".into(), self.win.display.clone());
        details.insert("size".into(), self.size.to_string());
        if let Some(m) = self.modified {
            details.insert("modified".into(), rfc3339(m));
        }
        if let Some(c) = self.created {
            details.insert("created".into(), rfc3339(c));
        }
        if let Some(url) = url_path(&self.win.lower) {
            details.insert("url".into(), url);
        }
        details.insert("references".into(), rule.references.join(" "));
        Finding {
            rule_id: rule.id.to_string(),
            title: rule.title.to_string(),
            family: Family::PostExploitation,
            grade,
            severity,
            cves: rule.cves.iter().map(|s| s.to_string()).collect(),
            attack: rule.attack.iter().map(|s| s.to_string()).collect(),
            timestamp: self.modified,
            source: SourceRef {
                path: self.path.display().to_string(),
                line: None,
                record_id: None,
            },
            summary,
            details,
        }
    }
}

/// RFC 3339 in UTC with seconds, as everywhere in vigie's output.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Details from `(key, value)` pairs.
pub fn details<const N: usize>(
    pairs: [(&str, String); N],
) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}
