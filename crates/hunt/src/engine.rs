//! The hunt: walk the evidence once, check files, read logs, judge.
//!
//! Two phases, because each needs the other's results:
//! 1. The walker streams every regular file through a bounded channel to
//!    a rayon pool; each thread checks non-log files with its own
//!    [`FileWorker`] and sets log files aside. Web shells found here give
//!    the URLs that make later IIS requests to them findings.
//! 2. Log files are read in parallel by the detectors, with those URLs.
//!
//! Then the paths the OAB exploit logged as written are looked up on the
//! evidence (does the file still exist, what is its hash), findings are
//! put in time order, coverage is merged and the verdicts drawn.
//! Nothing under a hunted path is ever written.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use vigie_model::hunt::{HuntReport, LogSource, TimelineEvent};
use vigie_model::{Finding, ItemError, ToolInfo};

use crate::coverage::{FileCoverage, WindowOptions};
use crate::detect::{LogScanOptions, classify_log, scan_log};
use crate::discover::{self, Landmarks, Root, RootKind};
use crate::files::{FileIntel, FileIntelOptions, sha256_file};
use crate::place::{EXCHANGE_DEFAULT, normalise_logged_path};
use crate::walk::{self, WalkItem, WalkSummary};
use crate::{coverage, timeline, verdict};

/// What to hunt and how.
#[derive(Debug, Clone, Default)]
pub struct HuntOptions {
    /// Paths handed over: image, triage folder, install folder, files.
    pub inputs: Vec<PathBuf>,
    /// `--exchange-root`: the Exchange install folder, when it is not
    /// where discovery would find it.
    pub exchange_root: Option<PathBuf>,
    /// Also hunt the machine vigie runs on, laid out as discovered
    /// (Windows; see [`discover::live_roots`]).
    pub live: Option<vigie_live::Layout>,
    /// Ignore log records before this time; also the start of every
    /// family's window the logs must cover (default: each family's first
    /// known exploitation, [`crate::coverage::first_exploitation`]).
    pub since: Option<DateTime<Utc>>,
    /// Ignore log records after this time.
    pub until: Option<DateTime<Utc>>,
    /// The server's name; discovered from the logs or folders if unset.
    pub hostname: Option<String>,
    /// Rules and lists for the file checks.
    pub intel: FileIntelOptions,
    /// Worker threads (0: one per core; at most [`MAX_THREADS`]).
    pub threads: usize,
    /// The day the update fixing each family was installed, where known
    /// (the server's registry lists installed updates with their dates):
    /// the family's exposure window ends there instead of at the last
    /// record.
    pub fixed_on: BTreeMap<vigie_model::Family, chrono::NaiveDate>,
    /// The responder's Sigma rules (`--sigma`), evaluated over every log
    /// record alongside vigie's own detectors.
    pub sigma: Option<std::sync::Arc<vigie_sigma::RuleSet>>,
}

/// The most worker threads a hunt starts: far more than the disks can
/// feed, low enough that a typo cannot exhaust the process's threads.
pub const MAX_THREADS: usize = 256;

/// Where the hunt is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Phase 1: files walked and checked so far.
    Files {
        /// Files done.
        done: u64,
    },
    /// Phase 2: log files read so far, of `total`.
    Logs {
        /// Log files done.
        done: u64,
        /// Log files in all.
        total: u64,
    },
}

/// Why a hunt could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum HuntError {
    /// None of the inputs could be read.
    #[error("nothing to hunt: {0}")]
    NoInput(String),
    /// The worker threads could not be started.
    #[error("cannot start worker threads: {0}")]
    Threads(String),
}

/// The result of a hunt: the report, its timeline, and notes for people
/// (where logs were found, which sources miss the window).
#[derive(Debug, Clone)]
pub struct HuntOutput {
    /// The report (what `--format json` prints).
    pub report: HuntReport,
    /// The merged timeline, in time order.
    pub timeline: Vec<TimelineEvent>,
    /// Discovery notes and coverage warnings, one sentence each.
    pub notes: Vec<String>,
}

/// Hunt one server's evidence. Per-item problems end up in
/// `report.errors`; only unusable inputs or thread failure are errors.
pub fn hunt(
    opts: &HuntOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<HuntOutput, HuntError> {
    // Checked before any I/O.
    if opts.threads > MAX_THREADS {
        return Err(HuntError::Threads(format!(
            "{} threads is more than the limit of {MAX_THREADS}",
            opts.threads
        )));
    }
    let started_at = Utc::now();
    let (mut roots, mut errors) =
        discover::roots(&opts.inputs, opts.exchange_root.as_deref());
    if let Some(layout) = &opts.live {
        errors.extend(layout.errors.iter().cloned());
        roots.extend(
            discover::live_roots(layout)
                .into_iter()
                .filter(|r| r.walk.exists()),
        );
    }
    if roots.is_empty() {
        let why = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(HuntError::NoInput(if why.is_empty() {
            "no input given".into()
        } else {
            why
        }));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .thread_name(|i| format!("vigie-hunt-{i}"))
        .build()
        .map_err(|e| HuntError::Threads(e.to_string()))?;
    let (intel, intel_errors) = FileIntel::load(&opts.intel);
    errors.extend(intel_errors);

    let files = files_phase(&roots, &intel, &pool, progress)?;
    errors.extend(files.errors);
    let mut findings = files.findings;

    let log_opts = LogScanOptions {
        since: opts.since,
        until: opts.until,
        webshell_urls: files.webshell_urls.into_iter().collect(),
    };
    let sigma = opts.sigma.as_deref();
    let logs = logs_phase(&files.logs, &log_opts, sigma, &pool, progress);
    findings.extend(logs.findings);
    errors.extend(logs.errors);

    check_written_paths(&mut findings, &roots, &files.walk.landmarks);
    let window_opts = WindowOptions {
        since: opts.since.map(|t| t.date_naive()),
        fixed_on: opts.fixed_on.clone(),
    };
    let coverage = coverage::merge(logs.coverage, window_opts);
    findings.extend(coverage.gap_findings());
    sort_findings(&mut findings);

    let landmarks = &files.walk.landmarks;
    let persistence_seen = persistence_seen(&coverage, files.agent_configs);
    let ctx = verdict::Context {
        coverage: &coverage,
        web_folders_seen: !landmarks.exchange.is_empty()
            || landmarks.volume_roots.iter().any(|r| has_inetpub(r)),
        persistence_seen: &persistence_seen,
    };
    let (overall, families) = verdict::judge(&findings, &ctx);
    let host = opts
        .hostname
        .clone()
        .or_else(|| host_from_logs(&files.logs))
        .or_else(|| discover::host_from_inputs(&opts.inputs))
        .unwrap_or_else(|| "unknown-host".into());

    let mut notes = landmark_notes(landmarks);
    notes.extend(coverage::warnings(&coverage));
    let timeline = timeline::build(&findings, files.timeline);
    let mut stats = BTreeMap::new();
    stats.insert("dirs_walked".into(), files.walk.dirs);
    stats.insert("files_walked".into(), files.walk.files);
    stats.insert("links_not_followed".into(), files.walk.links_not_followed);
    stats.insert("special_files_skipped".into(), files.walk.special_skipped);
    stats.insert("file_bytes_read".into(), files.bytes_read);
    stats.insert("log_files".into(), files.logs.len() as u64);
    stats.insert(
        "log_records".into(),
        coverage.sources.iter().map(|c| c.records).sum(),
    );
    stats.insert("threads".into(), pool.current_num_threads() as u64);
    stats.insert("timeline_events".into(), timeline.len() as u64);
    for (k, v) in intel.stats() {
        stats.insert(k, v);
    }
    let report = HuntReport {
        record: "hunt".into(),
        tool: ToolInfo::current(),
        host,
        inputs: roots.iter().map(|r| r.walk.display().to_string()).collect(),
        started_at,
        verdict: overall,
        families,
        findings,
        coverage: coverage.sources,
        errors,
        stats,
        sigma: logs.sigma,
    };
    Ok(HuntOutput { report, timeline, notes })
}

/// What the persistence rules read, one phrase each: the cmdlet logs and
/// the transport agent configurations (the MSExchange Management log
/// counts with the event logs, which every hunt lists anyway).
fn persistence_seen(
    cov: &coverage::Coverage,
    agent_configs: u64,
) -> Vec<String> {
    let mut seen = Vec::new();
    let cmdlet_files = cov
        .sources
        .iter()
        .find(|c| c.source == LogSource::Cmdlet)
        .map_or(0, |c| c.files);
    if cmdlet_files > 0 {
        seen.push(format!("{cmdlet_files} cmdlet log file(s)"));
    }
    if agent_configs > 0 {
        seen.push(format!(
            "{agent_configs} transport agent configuration file(s)"
        ));
    }
    seen
}

fn has_inetpub(volume_root: &Path) -> bool {
    std::fs::read_dir(volume_root).is_ok_and(|rd| {
        rd.flatten().any(|e| e.file_name().eq_ignore_ascii_case("inetpub"))
    })
}

/// What phase 1 gave.
#[derive(Default)]
struct FilesPhase {
    findings: Vec<Finding>,
    timeline: Vec<TimelineEvent>,
    errors: Vec<ItemError>,
    webshell_urls: BTreeSet<String>,
    logs: Vec<LogFile>,
    bytes_read: u64,
    agent_configs: u64,
    walk: WalkSummary,
}

/// A log file set aside for phase 2.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct LogFile {
    path: PathBuf,
    source: LogSource,
}

impl FilesPhase {
    fn absorb(&mut self, other: FilesPhase) {
        self.findings.extend(other.findings);
        self.timeline.extend(other.timeline);
        self.errors.extend(other.errors);
        self.webshell_urls.extend(other.webshell_urls);
        self.logs.extend(other.logs);
        self.bytes_read += other.bytes_read;
        self.agent_configs += other.agent_configs;
    }
}

fn files_phase(
    roots: &[Root],
    intel: &FileIntel,
    pool: &rayon::ThreadPool,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<FilesPhase, HuntError> {
    // An --exchange-root inside another input is walked once, as itself.
    let skip: Vec<PathBuf> = roots
        .iter()
        .filter(|r| r.kind == RootKind::ExchangeRoot)
        .map(|r| r.walk.clone())
        .collect();
    let loose: Vec<PathBuf> = roots
        .iter()
        .filter(|r| r.kind == RootKind::File)
        .map(|r| r.walk.clone())
        .collect();
    let (rx, walker) = walk::spawn(roots.to_vec(), skip)
        .map_err(|e| HuntError::Threads(e.to_string()))?;
    let parts = Mutex::new(Vec::new());
    let done = AtomicU64::new(0);
    pool.scope(|s| {
        for _ in 0..pool.current_num_threads() {
            s.spawn(|_| {
                let mut worker = intel.worker();
                let mut part = FilesPhase::default();
                for item in rx.iter() {
                    match item {
                        WalkItem::Error(e) => part.errors.push(e),
                        WalkItem::File(f) => {
                            let is_loose = loose.contains(&f.path);
                            match log_kind(&f.path, &f.win.lower, is_loose) {
                                Some(source) => part
                                    .logs
                                    .push(LogFile { path: f.path, source }),
                                None => {
                                    let o =
                                        worker.check(&f.path, &f.win, &f.meta);
                                    part.findings.extend(o.findings);
                                    part.timeline.extend(o.timeline);
                                    part.errors.extend(o.errors);
                                    part.bytes_read += o.bytes_read;
                                    part.agent_configs +=
                                        u64::from(o.agent_config);
                                    part.webshell_urls.extend(o.webshell_url);
                                }
                            }
                            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                            if n.is_multiple_of(64) {
                                progress(Progress::Files { done: n });
                            }
                        }
                    }
                }
                if let Ok(mut p) = parts.lock() {
                    p.push(part);
                }
            });
        }
    });
    let mut out = FilesPhase::default();
    for part in parts.into_inner().unwrap_or_default() {
        out.absorb(part);
    }
    out.walk = walker.join().unwrap_or_default();
    progress(Progress::Files { done: done.load(Ordering::Relaxed) });
    // Stable order whatever thread saw what first.
    out.logs.sort();
    out.errors.sort_by(|a, b| a.subject.cmp(&b.subject));
    Ok(out)
}

/// Whether a walked file is a log to read, and which. Files handed over
/// one by one are trusted; inside a whole disk, `.json` files must look
/// like event exports and `ex*.log` must sit in an IIS log folder, so
/// that application configs and unrelated logs do not count as evidence
/// (or as errors).
fn log_kind(path: &Path, win_lower: &str, loose: bool) -> Option<LogSource> {
    let source = classify_log(path)?;
    if loose {
        return Some(source);
    }
    let ok = match source {
        LogSource::EventJson => looks_like_event_export(path),
        LogSource::Iis => {
            let name = win_lower.rsplit('\\').next().unwrap_or("");
            name.starts_with("u_ex")
                || win_lower.contains(r"\logfiles\")
                || win_lower.contains(r"\w3svc")
        }
        _ => true,
    };
    ok.then_some(source)
}

/// The first 64 KiB (decoded, if UTF-16) name an event id field.
fn looks_like_event_export(path: &Path) -> bool {
    let Ok(f) = std::fs::File::open(path) else { return true };
    let Ok((_, reader)) = vigie_logs::encoding::utf8_reader(f) else {
        return true; // let the detector report the read error
    };
    let mut head = Vec::with_capacity(1 << 16);
    if reader.take(1 << 16).read_to_end(&mut head).is_err() {
        return true;
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    text.contains("\"eventid\"") || text.contains("\"event_id\"")
}

/// What phase 2 gave.
struct LogsPhase {
    findings: Vec<Finding>,
    coverage: Vec<FileCoverage>,
    errors: Vec<ItemError>,
    sigma: Option<vigie_model::hunt::SigmaSummary>,
}

fn logs_phase(
    logs: &[LogFile],
    opts: &LogScanOptions,
    sigma: Option<&vigie_sigma::RuleSet>,
    pool: &rayon::ThreadPool,
    progress: &(dyn Fn(Progress) + Sync),
) -> LogsPhase {
    let total = logs.len() as u64;
    let done = AtomicU64::new(0);
    let window = vigie_sigma::Window { since: opts.since, until: opts.until };
    let results: Vec<_> = pool.install(|| {
        logs.par_iter()
            .map(|log| {
                let r = scan_log(&log.path, log.source, opts);
                let s = sigma.map(|set| {
                    vigie_sigma::scan_file(&log.path, log.source, set, &window)
                });
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(Progress::Logs { done: n, total });
                (r, s)
            })
            .collect()
    });
    let mut out = LogsPhase {
        findings: Vec::new(),
        coverage: Vec::new(),
        errors: Vec::new(),
        sigma: sigma.map(vigie_sigma::RuleSet::summary),
    };
    for (r, s) in results {
        out.findings.extend(r.findings);
        out.coverage.push(FileCoverage { coverage: r.coverage, days: r.days });
        out.errors.extend(r.errors);
        if let (Some(s), Some(summary)) = (s, out.sigma.as_mut()) {
            vigie_sigma::add_counts(summary, &s);
            out.findings.extend(s.findings);
        }
    }
    out
}

/// The server name from the first logs that carry one.
fn host_from_logs(logs: &[LogFile]) -> Option<String> {
    let pick = |source: LogSource| {
        logs.iter()
            .filter(|l| l.source == source)
            .take(8)
            .find_map(|l| discover::sniff_host(&l.path, source))
    };
    pick(LogSource::HttpProxy).or_else(|| pick(LogSource::EventJson))
}

/// Time order (undated last), then source and position, then rule.
fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            (
                f.timestamp.is_none(),
                f.timestamp,
                f.source.path.clone(),
                f.source.line,
                f.source.record_id,
                f.rule_id.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
}

/// For each finding naming a path the exploit wrote (`written_path`),
/// say whether that file is in the evidence now, where, and its hash.
fn check_written_paths(
    findings: &mut [Finding],
    roots: &[Root],
    landmarks: &Landmarks,
) {
    let has_disk = !landmarks.volume_roots.is_empty()
        || roots.iter().any(|r| r.kind == RootKind::ExchangeRoot);
    for f in findings.iter_mut() {
        let Some(logged) = f.details.get("written_path") else { continue };
        let Some(lower) = normalise_logged_path(logged) else { continue };
        if !has_disk {
            f.details.insert("exists".into(), "unknown".into());
            continue;
        }
        match find_on_evidence(&lower, roots, landmarks) {
            Some(local) => {
                f.details.insert("exists".into(), "true".into());
                f.details.insert(
                    "evidence_path".into(),
                    local.display().to_string(),
                );
                if let Ok(h) = sha256_file(&local) {
                    f.details.insert("sha256".into(), h);
                }
            }
            None => {
                f.details.insert("exists".into(), "false".into());
            }
        }
    }
}

/// Look a lower-case `c:\...` path up below each volume root and
/// Exchange install root of the evidence.
pub fn find_on_evidence(
    lower: &str,
    roots: &[Root],
    landmarks: &Landmarks,
) -> Option<PathBuf> {
    let rest = lower.strip_prefix(r"c:\")?;
    for vr in &landmarks.volume_roots {
        if let Some(p) = resolve_ci(vr, rest) {
            return Some(p);
        }
    }
    let below_install = lower.strip_prefix(EXCHANGE_DEFAULT)?;
    roots
        .iter()
        .filter(|r| r.kind == RootKind::ExchangeRoot)
        .find_map(|r| resolve_ci(&r.walk, below_install))
}

/// Resolve a `\`-separated lower-case relative path below `root`, one
/// component at a time, ignoring case. `.` and `..` are resolved first
/// and never climb above `root`; links are not followed.
pub fn resolve_ci(root: &Path, rel: &str) -> Option<PathBuf> {
    let mut parts: Vec<&str> = Vec::new();
    for c in rel.split('\\') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut cur = root.to_path_buf();
    for part in parts {
        let rd = std::fs::read_dir(&cur).ok()?;
        let hit = rd.flatten().find(|e| {
            e.file_name().to_string_lossy().to_lowercase() == part
        })?;
        if hit.file_type().ok()?.is_symlink() {
            return None;
        }
        cur = hit.path();
    }
    std::fs::symlink_metadata(&cur).ok()?.is_file().then_some(cur)
}

fn landmark_notes(lm: &Landmarks) -> Vec<String> {
    let list = |v: &[PathBuf]| {
        v.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut notes = Vec::new();
    if lm.exchange.is_empty() {
        notes.push(
            "no Exchange install folder (...\\Exchange Server\\V15) found: \
             use --exchange-root if it is elsewhere"
                .to_string(),
        );
    } else {
        notes.push(format!("Exchange install: {}", list(&lm.exchange)));
    }
    if !lm.iis_logs.is_empty() {
        notes.push(format!("IIS logs: {}", list(&lm.iis_logs)));
    }
    if !lm.event_logs.is_empty() {
        notes.push(format!("event logs: {}", list(&lm.event_logs)));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_paths_resolve_case_insensitively_and_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let auth = dir
            .path()
            .join("C/Program Files/Microsoft/Exchange Server/V15")
            .join("FrontEnd/HttpProxy/owa/auth");
        std::fs::create_dir_all(&auth).unwrap();
        std::fs::write(auth.join("OhYeah.aspx"), "x").unwrap();
        let lm = Landmarks {
            volume_roots: vec![dir.path().join("C")],
            ..Landmarks::default()
        };
        let logged = normalise_logged_path(
            r"\\127.0.0.1\C$\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\owa\auth\ohyeah.aspx",
        )
        .unwrap();
        let p = find_on_evidence(&logged, &[], &lm).unwrap();
        assert!(p.ends_with("OhYeah.aspx"));
        assert!(find_on_evidence(r"c:\nope.aspx", &[], &lm).is_none());
        // `..` cannot climb out of the evidence.
        let up = resolve_ci(&auth, r"..\..\..\..\..\..\..\..\..\etc\passwd");
        assert!(up.is_none());
    }

    #[test]
    fn inside_a_disk_only_event_shaped_json_counts() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.json");
        std::fs::write(&cfg, "{\"a\": 1}\n").unwrap();
        let ev = dir.path().join("events.json");
        std::fs::write(&ev, "{\"EventID\": 1}\n").unwrap();
        assert_eq!(log_kind(&cfg, r"c:\x\config.json", false), None);
        assert_eq!(
            log_kind(&cfg, r"c:\x\config.json", true),
            Some(LogSource::EventJson)
        );
        assert_eq!(
            log_kind(&ev, r"c:\x\events.json", false),
            Some(LogSource::EventJson)
        );
        let ex = dir.path().join("explorer.log");
        assert_eq!(log_kind(&ex, r"c:\windows\explorer.log", false), None);
        assert_eq!(
            log_kind(
                &ex,
                r"c:\inetpub\logs\logfiles\w3svc1\ex2103.log",
                false
            ),
            Some(LogSource::Iis)
        );
    }
}
