//! Server health (`vigie check --host`) as other jobs read it back: the
//! status and section words every judgement carries, and a typed view of
//! one server's health record for reports and the history database.
//!
//! `vigie-health` builds these records (with `&'static` rule texts); a
//! report or `vigie history` reads them from JSON into
//! [`HealthRecord`], so neither needs the judging crate.

use serde::{Deserialize, Serialize};

use crate::ItemError;
use crate::build::CveState;

/// The verdict of one judgement.
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
pub enum Status {
    /// As it should be.
    Ok,
    /// Not dangerous by itself, but someone should look.
    Warn,
    /// A weakness or a fix that does not protect.
    Fail,
    /// Cannot be decided from what was given; `settle` says what would.
    Unknown,
}

impl Status {
    /// Lower-case word for tables.
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
        }
    }
}

/// The table section a judgement is printed in.
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
pub enum Group {
    /// Build (registry and ExSetup.exe) and CVE states.
    BuildAndCves,
    /// Extended Protection, AMSI, overrides, IIS modules, TLS.
    SecurityConfiguration,
    /// URL Rewrite mitigations and the Emergency Mitigation service.
    Mitigations,
    /// Windows settings HealthChecker judges from the registry.
    OperatingSystem,
}

impl Group {
    /// Every section, in table order.
    pub const ALL: [Group; 4] = [
        Group::BuildAndCves,
        Group::SecurityConfiguration,
        Group::Mitigations,
        Group::OperatingSystem,
    ];

    /// Heading for tables.
    pub fn title(self) -> &'static str {
        match self {
            Group::BuildAndCves => "build and CVEs",
            Group::SecurityConfiguration => "security configuration",
            Group::Mitigations => "mitigations",
            Group::OperatingSystem => "operating system",
        }
    }
}

/// One fact a judgement rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The file (local path) or hive the fact was read from.
    pub source: String,
    /// Element path in an XML file (`location[@path='Default Web
    /// Site/ECP']/.../extendedProtection@tokenChecking`) or registry key
    /// and value (`ControlSet001\Services\X` `Start`).
    pub location: String,
    /// The value seen (`(absent)` when the element or value is missing).
    pub seen: String,
}

impl Evidence {
    /// Build one piece of evidence.
    pub fn new(
        source: impl Into<String>,
        location: impl Into<String>,
        seen: impl Into<String>,
    ) -> Self {
        Evidence {
            source: source.into(),
            location: location.into(),
            seen: seen.into(),
        }
    }
}

/// A CVE's state on this server, build and configuration together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CveVerdict {
    /// The fix is missing.
    Vulnerable,
    /// The fix is installed, but the configuration it needs is missing
    /// or undone (EP off, an override disabling it, mitigation removed).
    VulnerableByConfig,
    /// Fixed, and its configuration (if any) is in place.
    Protected,
    /// Fixed, but whether its configuration is in place could not be told.
    NeedsConfigUnknown,
    /// Cannot be told from the build.
    Unknown,
    /// Does not affect this product or CU.
    NotAffected,
}

/// One judgement as read back from a health record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgementRecord {
    /// Stable id (`ep.vdir`, `iis.module`, ...).
    pub id: String,
    /// What it is about when the id repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Table section.
    pub group: Group,
    /// The verdict.
    pub status: Status,
    /// One line: what was found.
    pub summary: String,
    /// Facts it rests on.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Why it matters.
    #[serde(default)]
    pub why: String,
    /// Where the rule comes from.
    #[serde(default)]
    pub reference: String,
    /// For `unknown`: what would settle it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle: Option<String>,
}

/// One adjusted CVE state as read back from a health record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CveRecord {
    /// `CVE-2022-24516`.
    pub cve: String,
    /// The state from the build alone.
    pub build_state: CveState,
    /// The state once the configuration is taken into account.
    pub state: CveVerdict,
    /// Which configuration requirement decided it, and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
    /// Id of the judgement that settled the requirement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judgement: Option<String>,
}

/// One server's health, as `vigie check --host --format json|jsonl`
/// writes it (each element of `servers`, or each `"type":"server"`
/// line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthRecord {
    /// Server name.
    pub server: String,
    /// The folder judged.
    #[serde(default)]
    pub root: String,
    /// The build judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// Every judgement, in table order.
    #[serde(default)]
    pub judgements: Vec<JudgementRecord>,
    /// CVE states adjusted by configuration.
    #[serde(default)]
    pub cves: Vec<CveRecord>,
    /// Inputs that could not be read.
    #[serde(default)]
    pub errors: Vec<ItemError>,
}

impl HealthRecord {
    /// Whether something needs action: a failed judgement or a CVE left
    /// open by the build or by configuration (as `vigie check --host`
    /// decides its exit code).
    pub fn needs_action(&self) -> bool {
        self.judgements.iter().any(|j| j.status == Status::Fail)
            || self.cves.iter().any(|c| c.state.is_open())
    }

    /// Judgements with a status, counted.
    pub fn count(&self, status: Status) -> usize {
        self.judgements.iter().filter(|j| j.status == status).count()
    }

    /// CVEs in a state, counted.
    pub fn cves_in(&self, state: CveVerdict) -> usize {
        self.cves.iter().filter(|c| c.state == state).count()
    }
}

impl CveVerdict {
    /// Open by build or by configuration.
    pub fn is_open(self) -> bool {
        matches!(self, CveVerdict::Vulnerable | CveVerdict::VulnerableByConfig)
    }

    /// Snake-case word, as serialised.
    pub fn word(self) -> &'static str {
        match self {
            CveVerdict::Vulnerable => "vulnerable",
            CveVerdict::VulnerableByConfig => "vulnerable_by_config",
            CveVerdict::Protected => "protected",
            CveVerdict::NeedsConfigUnknown => "needs_config_unknown",
            CveVerdict::Unknown => "unknown",
            CveVerdict::NotAffected => "not_affected",
        }
    }
}
