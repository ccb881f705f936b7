//! Findings (one piece of evidence each) and verdicts built from them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How bad a single finding is on its own.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Context, not a problem by itself.
    Info,
    /// Worth a look.
    Low,
    /// Likely malicious activity that may have failed.
    Medium,
    /// Evidence of successful exploitation.
    High,
    /// Evidence of an attacker's foothold (web shell, dumped credentials).
    Critical,
}

/// The vulnerability or activity family a finding belongs to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// CVE-2021-26855, -26857, -26858, -27065 (March 2021).
    ProxyLogon,
    /// CVE-2021-34473, -34523, -31207 (2021).
    ProxyShell,
    /// CVE-2022-41040, -41082: the autodiscover SSRF to remote
    /// PowerShell (2022).
    ProxyNotShell,
    /// CVE-2021-33766.
    ProxyToken,
    /// Web shells, credential dumps, staging: what comes after any of them.
    PostExploitation,
    /// Anything not tied to one family.
    Other,
    /// CVE-2022-41080 + CVE-2022-41082: remote PowerShell reached through
    /// OWA, bypassing the ProxyNotShell URL rewrite mitigation (late
    /// 2022). Declared after the older families so their order (and
    /// stored reports) stay as they were.
    Owassrf,
    /// Access kept beyond web shells: mailbox rules and exports,
    /// permission and role grants, transport agents, virtual directory
    /// and Outlook on the web page changes.
    Persistence,
}

impl Family {
    /// All families, in report order.
    pub const ALL: [Family; 8] = [
        Family::ProxyLogon,
        Family::ProxyShell,
        Family::ProxyNotShell,
        Family::Owassrf,
        Family::ProxyToken,
        Family::PostExploitation,
        Family::Persistence,
        Family::Other,
    ];

    /// Human name, e.g. `ProxyNotShell`.
    pub fn label(self) -> &'static str {
        match self {
            Family::ProxyLogon => "ProxyLogon",
            Family::ProxyShell => "ProxyShell",
            Family::ProxyNotShell => "ProxyNotShell",
            Family::Owassrf => "OWASSRF",
            Family::ProxyToken => "ProxyToken",
            Family::PostExploitation => "Web shell / post-exploitation",
            Family::Other => "Other",
            Family::Persistence => "Persistence",
        }
    }
}

/// What a single finding shows happened, from weakest to strongest.
///
/// Test-ProxyLogon dropped scanner noise; vigie keeps it and grades it, so
/// a responder can tell "someone knocked" from "someone got in".
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// Context only (e.g. a legitimate but notable event).
    Info,
    /// A scanner probe or vulnerability check.
    Probe,
    /// An exploitation attempt with no sign of success.
    Attempt,
    /// The exploit worked (e.g. the SSRF was answered, a file was written).
    Exploited,
    /// The attacker has a foothold (web shell present or run, creds dumped).
    Compromised,
}

impl Grade {
    /// The severity a finding of this grade has unless its rule says
    /// otherwise: a probe is low, a success high, a foothold critical.
    pub fn severity(self) -> Severity {
        match self {
            Grade::Info => Severity::Info,
            Grade::Probe => Severity::Low,
            Grade::Attempt => Severity::Medium,
            Grade::Exploited => Severity::High,
            Grade::Compromised => Severity::Critical,
        }
    }
}

/// The overall judgement for one family or one server.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Logs cover the exposure window and show nothing.
    Clean,
    /// No findings, but the evidence does not cover what it must.
    Inconclusive,
    /// No built-in rule fired, but a `high` or `critical` rule of the
    /// responder's own (Sigma, `hunt --sigma`) matched: look at it. Never
    /// set by vigie's own rules, and never stronger than what they decide.
    Suspicious,
    /// Scanner probes only.
    Probed,
    /// Exploitation attempts, no sign of success.
    Attempted,
    /// Successful exploitation.
    Exploited,
    /// A foothold: web shell, credential theft, persistence.
    Compromised,
}

impl Verdict {
    /// The verdict a finding of this grade leads to on its own.
    pub fn from_grade(grade: Grade) -> Verdict {
        match grade {
            Grade::Info => Verdict::Clean,
            Grade::Probe => Verdict::Probed,
            Grade::Attempt => Verdict::Attempted,
            Grade::Exploited => Verdict::Exploited,
            Grade::Compromised => Verdict::Compromised,
        }
    }

    /// Lower-case name as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Suspicious => "suspicious",
            Verdict::Probed => "probed",
            Verdict::Attempted => "attempted",
            Verdict::Exploited => "exploited",
            Verdict::Compromised => "compromised",
        }
    }
}

/// Where a piece of evidence was read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourceRef {
    /// File path (or host/URL for remote evidence).
    pub path: String,
    /// 1-based line number in a text log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Record id in an event log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<u64>,
}

/// One piece of evidence, produced by one detector rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, e.g. `VG-PL-001`.
    pub rule_id: String,
    /// Rule title for people.
    pub title: String,
    /// Family the rule belongs to.
    pub family: Family,
    /// What the evidence shows happened.
    pub grade: Grade,
    /// Severity of this finding alone.
    pub severity: Severity,
    /// CVE ids the rule is about.
    pub cves: Vec<String>,
    /// MITRE ATT&CK technique ids.
    pub attack: Vec<String>,
    /// When it happened (UTC), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// Where it was read.
    pub source: SourceRef,
    /// One line for people (attacker text inside is raw: escape on output).
    pub summary: String,
    /// Extracted fields (url, user_agent, cmdlet, sha256, ...).
    pub details: BTreeMap<String, String>,
}
