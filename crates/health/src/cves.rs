//! CVE states from the build, adjusted by the judged configuration.
//!
//! A build can carry a fix that only protects with configuration:
//! Extended Protection on, no setting override switching the fix off,
//! serialized data signing on, a mitigation kept in place. [`adjust`]
//! takes the build assessment's CVE list and the server's judgements and
//! settles each such CVE, keyed by [`Requirement`].
//!
//! Merge note: `vigie-builds` is gaining a `needs_config` state with the
//! requirement of each CVE as data; until then [`REQUIREMENTS`] holds the
//! mapping here (from HealthChecker's analyzers, server-health.md §2, §4,
//! §6) and `PatchedConfigNeeded` stands for `needs_config`.

use serde::Serialize;
use vigie_model::build::{CveState, CveStatus};

use crate::check::{mitigation, security};
use crate::model::{AdjustedCve, CveVerdict, Judgement, Status};

/// What configuration a fix needs to protect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// Extended Protection on every virtual directory.
    ExtendedProtection,
    /// No setting override disabling the fix.
    SettingOverrideAbsent,
    /// Serialized data signing enabled.
    SerializedDataSigning,
    /// A mitigation rule kept in place.
    MitigationInPlace,
    /// Active Directory preparation (not judged from a server's files).
    ActiveDirectoryPreparation,
    /// The dedicated Exchange hybrid application (not judged offline).
    HybridApplication,
}

/// CVE → the configuration its fix needs.
pub const REQUIREMENTS: &[(&str, Requirement)] = &[
    ("CVE-2022-24516", Requirement::ExtendedProtection),
    ("CVE-2022-21979", Requirement::ExtendedProtection),
    ("CVE-2022-21980", Requirement::ExtendedProtection),
    ("CVE-2022-24477", Requirement::ExtendedProtection),
    ("CVE-2022-30134", Requirement::ExtendedProtection),
    ("CVE-2024-21410", Requirement::ExtendedProtection),
    ("CVE-2024-49040", Requirement::SettingOverrideAbsent),
    ("CVE-2025-25005", Requirement::SettingOverrideAbsent),
    ("CVE-2025-25006", Requirement::SettingOverrideAbsent),
    ("CVE-2025-25007", Requirement::SettingOverrideAbsent),
    ("CVE-2025-33051", Requirement::SettingOverrideAbsent),
    ("CVE-2025-53782", Requirement::SettingOverrideAbsent),
    ("CVE-2025-59248", Requirement::SettingOverrideAbsent),
    ("CVE-2023-36050", Requirement::SerializedDataSigning),
    ("CVE-2023-36039", Requirement::SerializedDataSigning),
    ("CVE-2023-36035", Requirement::SerializedDataSigning),
    ("CVE-2023-36439", Requirement::SerializedDataSigning),
    ("CVE-2026-42897", Requirement::MitigationInPlace),
    ("CVE-2021-34470", Requirement::ActiveDirectoryPreparation),
    ("CVE-2022-21978", Requirement::ActiveDirectoryPreparation),
    ("CVE-2025-53786", Requirement::HybridApplication),
];

/// The requirement of a CVE, if its fix needs configuration.
pub fn requirement(cve: &str) -> Option<Requirement> {
    REQUIREMENTS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(cve))
        .map(|(_, r)| *r)
}

/// How a requirement was judged: met, not met, or unknown, and by which
/// judgement.
fn judged(
    req: Requirement,
    cve: &str,
    js: &[Judgement],
) -> (Option<bool>, Option<&'static str>) {
    let by = |id: &'static str, subject: Option<&str>| {
        js.iter()
            .find(|j| {
                j.id == id
                    && subject.is_none_or(|s| j.subject.as_deref() == Some(s))
            })
            .map(|j| (status_met(j.status), Some(j.id)))
            .unwrap_or((None, Some(id)))
    };
    match req {
        Requirement::ExtendedProtection => {
            (security::ep_ok(js), Some(security::EP.id))
        }
        Requirement::SettingOverrideAbsent => {
            by(security::OVERRIDE_CVE.id, Some(cve))
        }
        Requirement::SerializedDataSigning => by(security::SDS.id, None),
        Requirement::MitigationInPlace => {
            by(mitigation::MITIGATION.id, Some(cve))
        }
        Requirement::ActiveDirectoryPreparation
        | Requirement::HybridApplication => (None, None),
    }
}

fn status_met(s: Status) -> Option<bool> {
    match s {
        Status::Ok => Some(true),
        Status::Fail => Some(false),
        Status::Warn | Status::Unknown => None,
    }
}

/// Adjust the build's CVE states by the judged configuration.
pub fn adjust(cves: &[CveStatus], js: &[Judgement]) -> Vec<AdjustedCve> {
    cves.iter()
        .filter(|c| c.state != CveState::NotAffected)
        .map(|c| {
            let req = requirement(&c.cve);
            let base = AdjustedCve {
                cve: c.cve.clone(),
                build_state: c.state,
                state: CveVerdict::Unknown,
                because: None,
                judgement: None,
            };
            match (c.state, req) {
                (CveState::Vulnerable, _) => {
                    AdjustedCve { state: CveVerdict::Vulnerable, ..base }
                }
                (CveState::Unknown, _) => base,
                (CveState::NotAffected, _) => {
                    AdjustedCve { state: CveVerdict::NotAffected, ..base }
                }
                (CveState::Patched, None) => {
                    AdjustedCve { state: CveVerdict::Protected, ..base }
                }
                (CveState::PatchedConfigNeeded, None) => AdjustedCve {
                    state: CveVerdict::NeedsConfigUnknown,
                    because: c.config_note.clone(),
                    ..base
                },
                (_, Some(r)) => {
                    let (met, id) = judged(r, &c.cve, js);
                    let name = serde_json::to_value(r)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    let (state, how) = match met {
                        Some(true) => (CveVerdict::Protected, "met"),
                        Some(false) => {
                            (CveVerdict::VulnerableByConfig, "not met")
                        }
                        None => (
                            CveVerdict::NeedsConfigUnknown,
                            "not decidable from what was given",
                        ),
                    };
                    AdjustedCve {
                        state,
                        because: Some(format!("{name}: {how}")),
                        judgement: id,
                        ..base
                    }
                }
            }
        })
        .collect()
}
