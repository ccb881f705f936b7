//! Hunt results: coverage of the evidence, the timeline, and the report.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Family, Finding, ItemError, ToolInfo, Verdict};

/// The kinds of log vigie reads.
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
pub enum LogSource {
    /// `Logging\HttpProxy\<protocol>\*.log`.
    HttpProxy,
    /// `Logging\ECP\Server\*.log`.
    EcpServer,
    /// `Logging\OABGeneratorLog\*.log`.
    OabGenerator,
    /// IIS W3C `u_ex*.log`.
    Iis,
    /// Windows event log files (`.evtx`).
    Evtx,
    /// JSON or JSONL event exports.
    EventJson,
}

/// How much one log source covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceCoverage {
    /// The kind of log.
    pub source: LogSource,
    /// Files read.
    pub files: u64,
    /// Records (lines or events) read.
    pub records: u64,
    /// Earliest timestamp seen (UTC).
    pub first: Option<DateTime<Utc>>,
    /// Latest timestamp seen (UTC).
    pub last: Option<DateTime<Utc>>,
    /// Whether the logs reach back to the start of the exposure window.
    pub covers_window: bool,
}

/// One entry of the merged timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// When (UTC).
    pub timestamp: DateTime<Utc>,
    /// What kind of time it is (`log`, `event`, `file_created`,
    /// `file_modified`).
    pub kind: String,
    /// One line for people (raw attacker text: escape on output).
    pub message: String,
    /// Where it was read.
    pub source: String,
    /// The rule that flagged it, if any.
    pub rule_id: Option<String>,
}

/// The verdict for one family, with the findings that justify it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyVerdict {
    /// The family.
    pub family: Family,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in one sentence.
    pub reason: String,
    /// Indexes into [`HuntReport::findings`].
    pub findings: Vec<usize>,
}

/// The whole result of hunting one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HuntReport {
    /// Always `hunt`.
    pub record: String,
    /// Tool, version and schema.
    pub tool: ToolInfo,
    /// The server's name (discovered or `--hostname`).
    pub host: String,
    /// Paths hunted.
    pub inputs: Vec<String>,
    /// When the hunt ran.
    pub started_at: DateTime<Utc>,
    /// Overall verdict.
    pub verdict: Verdict,
    /// Per-family verdicts.
    pub families: Vec<FamilyVerdict>,
    /// Every finding.
    pub findings: Vec<Finding>,
    /// Per-source coverage.
    pub coverage: Vec<SourceCoverage>,
    /// Per-item errors (unreadable files, bad rules, ...).
    pub errors: Vec<ItemError>,
    /// Counters (files walked, bytes read, ...).
    pub stats: BTreeMap<String, u64>,
}
