//! Exchange build numbers and the patch assessment of one build.
//!
//! The assessment is produced by `vigie-builds` and consumed by `check`,
//! `scan`, reports and the history store, so its shape lives here.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// How much of the build number the input revealed.
///
/// A security update changes only the last part (the revision), so a
/// 3-part build (`15.1.2176`) says which CU is installed but not which SU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// All four parts: the exact CU and SU.
    Exact,
    /// Major, minor and build: the CU, not the SU.
    CuOnly,
    /// Only major and minor: the product line.
    ProductOnly,
}

/// Where a build sits in its product's support life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupportState {
    /// The CU is one of the two latest of a supported product.
    Supported,
    /// The CU is older than the two latest: no more security updates.
    CuUnsupported,
    /// The whole product is past its end of support.
    ProductEndOfLife,
    /// Not enough information (build unknown to the table).
    Unknown,
}

/// The state of one CVE for one build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CveState {
    /// The build is older than the first fixed build of its CU line.
    Vulnerable,
    /// The build contains the fix.
    Patched,
    /// The build contains the fix, but it protects only with a
    /// configuration the build number cannot show (Extended Protection, AD
    /// preparation, no disabling setting override, ...): `config_note`
    /// says which and what would confirm it. Written `needs_config`;
    /// `patched_config_needed` (older reports) is still read.
    #[serde(rename = "needs_config", alias = "patched_config_needed")]
    PatchedConfigNeeded,
    /// The input precision does not allow a verdict (e.g. a CU-only build
    /// whose SU would fix it).
    Unknown,
    /// The CVE does not affect this product or CU line.
    NotAffected,
}

/// One CVE as judged for one build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CveStatus {
    /// `CVE-2021-26855`.
    pub cve: String,
    /// Family name: `ProxyLogon`, `ProxyShell`, ... or the impact
    /// (`Remote code execution`, `Spoofing`, ...) when it has no name.
    pub family: String,
    /// Impact from the CVE title: `Remote code execution`, `Elevation of
    /// privilege`, `Spoofing`, ... (`unknown` when not recorded).
    #[serde(default)]
    pub impact: String,
    /// Short description.
    pub name: String,
    /// CVSS v3.1 base score.
    pub cvss: Option<f32>,
    /// In CISA's Known Exploited Vulnerabilities catalogue.
    pub known_exploited: bool,
    /// The judgement.
    pub state: CveState,
    /// First build of this CU line that fixes it, if any.
    pub fixed_in: Option<String>,
    /// Configuration step needed beyond the build, if any.
    pub config_note: Option<String>,
}

/// One step on the way to a fully patched server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeStep {
    /// `install CU23`, `install Mar21SU`, ...
    pub action: String,
    /// Build number reached after the step.
    pub build: String,
    /// Name of that build (`CU23 Mar21SU`).
    pub name: String,
    /// The update is only for organisations enrolled in Microsoft's
    /// Extended Security Update programme (2016/2019 after 2025-10-14).
    #[serde(default)]
    pub esu_only: bool,
    /// How many of the build's open CVEs this step closes.
    #[serde(default)]
    pub closes: usize,
}

/// Everything vigie can say about the patch level of one build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchAssessment {
    /// The input as given.
    pub input: String,
    /// Normalised build (`15.1.2176.9`, or `15.1.2176` when CU-only).
    pub build: String,
    /// How precise the input was.
    pub precision: Precision,
    /// `Exchange Server 2016`.
    pub product: Option<String>,
    /// `CU20`, `SP3 RU32`, ...
    pub cu: Option<String>,
    /// `Mar21SU`, when known.
    pub su: Option<String>,
    /// Release date of the matched build.
    pub release_date: Option<NaiveDate>,
    /// How the table matched (exact, unknown revision, newer than table...).
    pub match_note: String,
    /// Support state as of the judgement date.
    pub support: SupportState,
    /// Whether the latest SU for the CU is installed (None when unknown).
    /// ESU-only updates count.
    pub latest_su_installed: Option<bool>,
    /// Name of the newest update of the CU line, `Aug26SU (ESU-only)`.
    #[serde(default)]
    pub latest_update: Option<String>,
    /// Days since the first fix this build is missing was released.
    pub days_behind: Option<i64>,
    /// Every CVE in the table, judged for this build.
    pub cves: Vec<CveStatus>,
    /// The minimal sequence to a fully patched state.
    pub upgrade_path: Vec<UpgradeStep>,
    /// The date the judgement was made for (`--as-of`).
    pub as_of: NaiveDate,
    /// The date the build and CVE table was current on.
    #[serde(default)]
    pub table_as_of: Option<NaiveDate>,
    /// Set when the judgement date is well past the table's as-of date:
    /// newer updates may exist, and how to load them.
    #[serde(default)]
    pub freshness: Option<String>,
}

impl UpgradeStep {
    /// The step in words, each thing said once: `install CU15` (not
    /// `install CU15 CU15`), `migrate to Exchange Server SE (RTM Aug26SU)`.
    pub fn text(&self) -> String {
        let update = self.name.split_whitespace().last().unwrap_or_default();
        if update.is_empty()
            || self.action.split_whitespace().any(|w| w == update)
        {
            self.action.clone()
        } else {
            format!("{} ({})", self.action, self.name)
        }
    }
}

impl PatchAssessment {
    /// CVEs still open for this build, most urgent first (known
    /// exploited, then CVSS).
    pub fn open_cves(&self) -> impl Iterator<Item = &CveStatus> {
        self.cves.iter().filter(|c| c.state == CveState::Vulnerable)
    }

    /// CVEs whose fix is installed but needs a configuration to protect.
    pub fn needs_config(&self) -> impl Iterator<Item = &CveStatus> {
        self.cves.iter().filter(|c| c.state == CveState::PatchedConfigNeeded)
    }
}
