//! What a judgement is: a stable id, a status, the evidence it rests on,
//! why it matters and where the rule comes from. These are the records
//! `vigie check --host` prints and serialises.

use serde::Serialize;
use vigie_model::ItemError;

pub use vigie_model::health::{CveVerdict, Evidence, Group, Status};

/// One judgement about one server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    /// Stable id (`ep.vdir`, `mitigation.cve-2022-41040`, ...); see
    /// docs/health.md.
    pub id: &'static str,
    /// What it is about when the id repeats (a virtual directory, a CVE,
    /// a module name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Table section.
    pub group: Group,
    /// The verdict.
    pub status: Status,
    /// One line: what was found.
    pub summary: String,
    /// Facts it rests on.
    pub evidence: Vec<Evidence>,
    /// Why it matters.
    pub why: &'static str,
    /// Where the rule comes from.
    pub reference: &'static str,
    /// For `unknown`: the file or export that would settle it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settle: Option<String>,
}

/// Fixed text of a judgement kind: its id, section, why and reference.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable id.
    pub id: &'static str,
    /// Table section.
    pub group: Group,
    /// Why it matters.
    pub why: &'static str,
    /// Where the rule comes from.
    pub reference: &'static str,
}

impl Rule {
    /// A judgement of this kind.
    pub fn judge(
        &self,
        status: Status,
        summary: impl Into<String>,
        evidence: Vec<Evidence>,
    ) -> Judgement {
        Judgement {
            id: self.id,
            subject: None,
            group: self.group,
            status,
            summary: summary.into(),
            evidence,
            why: self.why,
            reference: self.reference,
            settle: None,
        }
    }

    /// An `unknown` judgement naming what would settle it.
    pub fn unknown(
        &self,
        summary: impl Into<String>,
        settle: impl Into<String>,
    ) -> Judgement {
        let mut j = self.judge(Status::Unknown, summary, Vec::new());
        j.settle = Some(settle.into());
        j
    }
}

impl Judgement {
    /// The same judgement about a named subject.
    pub fn about(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }
}

/// A CVE state from the build, adjusted by what the configuration shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdjustedCve {
    /// `CVE-2022-24516`.
    pub cve: String,
    /// The state from the build alone (`vigie check`'s state).
    pub build_state: vigie_model::build::CveState,
    /// The state once the configuration is taken into account.
    pub state: CveVerdict,
    /// Which configuration requirement decided it, and how.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
    /// Id of the judgement that settled the requirement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judgement: Option<&'static str>,
}

/// Everything judged about one server.
#[derive(Debug, Clone, Serialize)]
pub struct ServerHealth {
    /// Server name (from the folder or the registry).
    pub server: String,
    /// The folder judged.
    pub root: String,
    /// The build judged (ExSetup.exe if read, else the registry's CU).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// Every judgement, in table order.
    pub judgements: Vec<Judgement>,
    /// CVE states adjusted by configuration.
    pub cves: Vec<AdjustedCve>,
    /// Inputs that could not be read (the judgements needing them say
    /// `unknown`).
    pub errors: Vec<ItemError>,
}

impl ServerHealth {
    /// Whether something needs action: a failed judgement or a CVE left
    /// open by the build or by configuration.
    pub fn needs_action(&self) -> bool {
        self.judgements.iter().any(|j| j.status == Status::Fail)
            || self.cves.iter().any(|c| c.state.is_open())
    }
}
