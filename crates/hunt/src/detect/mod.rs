//! Log detectors: read one log file, emit findings and coverage.
//!
//! The engine decides which files are logs and of what kind; this module
//! reads each one with `vigie-logs` and applies the rules for its kind.
//! Rules are catalogued in `docs/hunt-rules.md`.

mod cmdletinfra;
mod common;
mod events;
mod httpproxy;
mod iis;
pub mod persist;
mod ranged;
pub mod rpscat;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_2022;
mod textlogs;
mod tpl;

use std::path::Path;

use chrono::{DateTime, Utc};
use vigie_model::hunt::{LogSource, SourceCoverage};
use vigie_model::{Finding, ItemError};

use crate::coverage::days::DaySet;

/// What the engine tells a detector about the hunt.
#[derive(Debug, Clone, Default)]
pub struct LogScanOptions {
    /// Ignore records before this time.
    pub since: Option<DateTime<Utc>>,
    /// Ignore records after this time.
    pub until: Option<DateTime<Utc>>,
    /// URL paths of web shells found on disk (lower-case, e.g.
    /// `/owa/auth/x.aspx`): requests to them in IIS logs are findings.
    pub webshell_urls: Vec<String>,
}

/// The outcome of reading one log file.
#[derive(Debug, Clone)]
pub struct LogScanResult {
    /// Evidence found.
    pub findings: Vec<Finding>,
    /// Records and time span of this one file.
    pub coverage: SourceCoverage,
    /// Problems met while reading (the file may still be partly read).
    pub errors: Vec<ItemError>,
    /// The days (UTC) for which the file holds plausibly dated records.
    pub days: DaySet,
}

/// Decide from its path whether a file is a log vigie reads, and which.
pub fn classify_log(path: &Path) -> Option<LogSource> {
    let full = path.to_string_lossy().replace('\\', "/").to_lowercase();
    let name = full.rsplit('/').next().unwrap_or("");
    if name.ends_with(".evtx") {
        return Some(LogSource::Evtx);
    }
    // JSON event exports; Exchange's own install tree holds many unrelated
    // .json files, so those are left out.
    if (name.ends_with(".json") || name.ends_with(".jsonl"))
        && !full.contains("/exchange server/")
    {
        return Some(LogSource::EventJson);
    }
    // Test-ProxyLogon reads OABGenerator logs with no extension filter.
    if full.contains("/oabgeneratorlog/") {
        return Some(LogSource::OabGenerator);
    }
    if !name.ends_with(".log") {
        return None;
    }
    // Remote PowerShell's own logs: `CmdletInfra\Powershell-Proxy\Http\
    // Rps_Http_*.log` (and an `HttpProxy\RpsHttp` folder where a
    // collector put them), and the cmdlet logs beside them.
    if full.contains("/httpproxy/rpshttp/")
        || (full.contains("/cmdletinfra/")
            && (name.starts_with("rps_http") || full.contains("/http/")))
    {
        return Some(LogSource::RpsHttp);
    }
    if full.contains("/cmdletinfra/") && full.contains("cmdlet/") {
        return Some(LogSource::Cmdlet);
    }
    if full.contains("/httpproxy/") {
        Some(LogSource::HttpProxy)
    } else if full.contains("/ecp/server/") {
        Some(LogSource::EcpServer)
    } else if full.contains("/oabgeneratorlog/") {
        Some(LogSource::OabGenerator)
    } else if name.starts_with("u_ex") || name.starts_with("ex") {
        Some(LogSource::Iis)
    } else {
        None
    }
}

/// Read one log file of the given kind and apply its rules.
pub fn scan_log(
    path: &Path,
    source: LogSource,
    opts: &LogScanOptions,
) -> LogScanResult {
    if matches!(source, LogSource::HttpProxy | LogSource::Iis)
        && let Some(r) = ranged::scan(path, source, opts, ranged::DEFAULT)
    {
        return r;
    }
    if source == LogSource::Evtx
        && let Some(r) = ranged::scan_evtx(path, opts, ranged::DEFAULT)
    {
        return r;
    }
    let mut scan = common::Scan::new(path, source);
    match source {
        LogSource::HttpProxy => httpproxy::scan(&mut scan, opts),
        LogSource::Iis => iis::scan(&mut scan, opts),
        LogSource::EventJson => events::scan_jsonl(&mut scan, opts),
        LogSource::Evtx => events::scan_evtx(&mut scan, opts),
        LogSource::OabGenerator => textlogs::scan_oab(&mut scan, opts),
        LogSource::EcpServer => textlogs::scan_ecp(&mut scan, opts),
        LogSource::RpsHttp => cmdletinfra::scan_rps_http(&mut scan, opts),
        LogSource::Cmdlet => cmdletinfra::scan_cmdlet(&mut scan, opts),
    }
    scan.finish()
}
