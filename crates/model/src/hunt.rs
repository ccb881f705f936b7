//! Hunt results: coverage of the evidence, the timeline, and the report.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
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
    /// Remote PowerShell requests as the back end saw them:
    /// `Logging\CmdletInfra\Powershell-Proxy\Http\Rps_Http_*.log`
    /// (what CrowdStrike's Rps_Http-IOC script reads).
    RpsHttp,
    /// Cmdlet logs: `Logging\CmdletInfra\{LocalPowerShell,Powershell-Proxy,
    /// ...}\Cmdlet\*.log` (every Exchange cmdlet run, by whom).
    Cmdlet,
}

/// How much one log source covers: the days (UTC) for which it holds
/// records, and the days it misses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceCoverage {
    /// The kind of log.
    pub source: LogSource,
    /// Files read.
    pub files: u64,
    /// Records (lines or events) read.
    pub records: u64,
    /// Earliest plausible timestamp seen (UTC).
    pub first: Option<DateTime<Utc>>,
    /// Latest plausible timestamp seen (UTC).
    pub last: Option<DateTime<Utc>>,
    /// Days with at least one plausibly dated record.
    #[serde(default)]
    pub days: u64,
    /// Records whose timestamp was implausible (before Exchange existed,
    /// after the run, far from the date in the file's name or `#Date`
    /// header): reported as errors and not counted as coverage.
    #[serde(default)]
    pub implausible: u64,
    /// Runs of days without a record between this source's first and
    /// last day, inside the exposure windows (log deletion shows here).
    #[serde(default)]
    pub gaps: Vec<DayRange>,
    /// Whether this source alone has records on every day of the widest
    /// exposure window.
    pub covers_window: bool,
}

/// Consecutive days (UTC), both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRange {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Days in the range.
    pub days: u64,
}

/// What ends a family's exposure window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowEnd {
    /// The day the fixing update was installed (known from the server).
    FixInstalled,
    /// The last plausibly dated record of the evidence.
    LastRecord,
}

/// The days a family's logs must cover for "no findings" to mean clean:
/// from its first known exploitation (or `--since`) to the day its fix
/// was installed, else to the last record of the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExposureWindow {
    /// First day.
    pub from: NaiveDate,
    /// Last day; `None` when the evidence holds no dated record.
    pub to: Option<NaiveDate>,
    /// What `to` is.
    pub ends: WindowEnd,
    /// Days in the window (0 when it is empty).
    pub days: u64,
    /// Days of the window for which none of the family's sources holds a
    /// record.
    pub missing: Vec<DayRange>,
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
    /// The exposure window judged (families read from logs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<ExposureWindow>,
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
    /// The responder's own Sigma rules (`hunt --sigma`): what loaded,
    /// what was skipped and why, what matched. Absent without `--sigma`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<SigmaSummary>,
}

/// Rule ids of findings made by the responder's Sigma rules start with
/// this; such findings never raise a family's verdict (see
/// [`Verdict::Suspicious`]).
pub const SIGMA_RULE_PREFIX: &str = "SIGMA-";

/// Whether a finding comes from a Sigma rule (`hunt --sigma`).
pub fn is_sigma_finding(f: &Finding) -> bool {
    f.rule_id.starts_with(SIGMA_RULE_PREFIX)
}

/// What `hunt --sigma` loaded and matched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SigmaSummary {
    /// The rule folders (or files) given.
    pub dirs: Vec<String>,
    /// Rule files that loaded.
    pub rules_loaded: u64,
    /// Of those, rules whose `logsource` is one vigie reads (the others
    /// load but can never match here).
    pub rules_applicable: u64,
    /// Rule files that did not load.
    pub rules_skipped: u64,
    /// Skipped files per reason (e.g. `unsupported modifier: expand`).
    pub skipped_by_reason: BTreeMap<String, u64>,
    /// Every skipped file with its reason.
    pub skipped: Vec<SkippedSigmaRule>,
    /// Records that matched a rule, in all (findings are capped per rule
    /// and file, this count is not).
    pub matches: u64,
    /// Matches per rule id (rules that matched at least once).
    pub matches_by_rule: BTreeMap<String, u64>,
    /// Matches beyond the per-rule, per-file cap, counted but not listed
    /// as findings.
    pub matches_not_listed: u64,
}

/// A Sigma rule file that did not load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedSigmaRule {
    /// The file.
    pub path: String,
    /// Its title, when the YAML had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The reason's class (the key of `skipped_by_reason`).
    pub reason: String,
    /// The full message.
    pub detail: String,
}
