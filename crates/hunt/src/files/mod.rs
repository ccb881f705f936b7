//! File checks: what one file on the server's disk shows.
//!
//! The engine walks the evidence and hands every regular file that is not
//! a log to a [`FileWorker`] (one per rayon thread). The worker decides
//! from the file's Windows path and size what to read: web shells in the
//! web folders (YARA, known-bad hashes, Exchange's allowlists), compiled
//! pages in `Temporary ASP.NET Files`, LSASS dumps by content, archives
//! staged in `ProgramData` and web folders, IIS modules IIS and Exchange
//! do not ship (every `applicationHost.config` and `web.config`), and
//! filename IOCs everywhere.
//! Everything it loads once (rules, hash and name lists) is a
//! [`FileIntel`], shared read-only by all workers.
//!
//! Reading is bounded: every non-empty file has its first 4 KiB read
//! (magic bytes); only files in web, staging and compiled-page folders
//! (or with an extension IIS runs) are read whole, up to
//! [`vigie_yara::MAX_SCAN_SIZE`], hashed and scanned. Rule ids and what
//! each detects: `docs/hunt-rules.md`, section "File rules".

pub mod agents;
mod archive;
mod compiled;
mod hashes;
mod intel;
mod lsass;
pub mod modules;
mod names;
mod owa;
mod rules;
mod webshell;

#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use vigie_model::hunt::TimelineEvent;
use vigie_model::{Finding, Grade, ItemError, ItemErrorKind, Severity};
use vigie_yara::{FileContext, MAX_SCAN_SIZE, RuleSet, Scanner};

use self::hashes::{HashList, sha256_bytes, sha256_reader};
use self::intel::Counters;
use self::names::NameIocs;
use self::rules::{FileCtx, details};
use self::webshell::Allowlist;
use crate::place::{Place, WinPath, is_script_ext, url_path};

/// Bytes read from every file for magic-byte checks.
const HEAD: usize = 4096;

/// Where the file checks' intelligence comes from.
#[derive(Debug, Clone, Default)]
pub struct FileIntelOptions {
    /// `--yara DIR`: extra rule directories (signature-base and the like).
    pub yara_dirs: Vec<PathBuf>,
    /// `--no-embedded-yara`: leave vigie's own rules out.
    pub no_embedded_yara: bool,
    /// `--hashes FILE`: extra known-bad SHA-256 lists.
    pub hash_files: Vec<PathBuf>,
    /// `--filename-iocs FILE`: signature-base style filename IOC lists.
    pub filename_ioc_files: Vec<PathBuf>,
}

/// Rules and lists loaded once per hunt.
#[derive(Debug, Default)]
pub struct FileIntel {
    yara: Option<RuleSet>,
    hashes: HashList,
    names: NameIocs,
    allow: Allowlist,
    counters: Counters,
}

impl FileIntel {
    /// Load everything `opts` names; each file that cannot be loaded is
    /// one error, and the rest is still used.
    pub fn load(opts: &FileIntelOptions) -> (FileIntel, Vec<ItemError>) {
        let mut errors = Vec::new();
        let yara = intel::load_yara(opts, &mut errors);
        let hashes = intel::load_hashes(opts, &mut errors);
        let names = NameIocs::load(&opts.filename_ioc_files, &mut errors);
        let intel = FileIntel {
            yara,
            hashes,
            names,
            allow: Allowlist::embedded(),
            counters: Counters::default(),
        };
        (intel, errors)
    }

    /// Counters for the report's `stats` (rules loaded, hashes, ...).
    pub fn stats(&self) -> Vec<(String, u64)> {
        let c = &self.counters;
        let summary = self.yara.as_ref().map(|y| y.summary.clone());
        let mut out = vec![
            ("files_checked", Counters::get(&c.checked)),
            ("files_sniffed", Counters::get(&c.sniffed)),
            ("files_hashed", Counters::get(&c.hashed)),
            ("files_yara_scanned", Counters::get(&c.yara_scanned)),
            ("yara_bytes_scanned", Counters::get(&c.yara_bytes)),
            ("hash_iocs", self.hashes.len() as u64),
            ("hash_iocs_not_sha256", self.hashes.ignored),
            ("filename_iocs", self.names.len() as u64),
        ];
        if let Some(s) = summary {
            out.push(("yara_rules", s.rules as u64));
            out.push(("yara_files_loaded", s.sources_loaded as u64));
            out.push(("yara_files_failed", s.sources_failed as u64));
        } else {
            out.push(("yara_rules", 0));
        }
        out.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// A worker for one thread.
    pub fn worker(&self) -> FileWorker<'_> {
        FileWorker {
            intel: self,
            scanner: self.yara.as_ref().map(RuleSet::scanner),
            buf: Vec::new(),
        }
    }
}

/// What checking one file gave.
#[derive(Debug, Clone, Default)]
pub struct FileOutcome {
    /// Evidence (paths in findings are the evidence paths as given).
    pub findings: Vec<Finding>,
    /// File times of files with findings (`file_created`,
    /// `file_modified`).
    pub timeline: Vec<TimelineEvent>,
    /// Problems reading this file.
    pub errors: Vec<ItemError>,
    /// Bytes read from the file.
    pub bytes_read: u64,
    /// The URL path (lower case, `/owa/auth/x.aspx`) of a web shell
    /// found here, so IIS log requests to it become findings.
    pub webshell_url: Option<String>,
    /// Whether this file was a transport agent configuration that was
    /// read (for the Persistence family's "what was looked at").
    pub agent_config: bool,
}

/// Per-thread checker (YARA scanners are per thread).
pub struct FileWorker<'i> {
    intel: &'i FileIntel,
    scanner: Option<Scanner<'i>>,
    /// Whole-file buffer, reused from file to file.
    buf: Vec<u8>,
}

impl std::fmt::Debug for FileWorker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileWorker")
            .field("yara", &self.scanner.is_some())
            .finish()
    }
}

/// What was read of one file.
#[derive(Default)]
struct Content {
    /// The first bytes (up to [`HEAD`]).
    head: Vec<u8>,
    /// SHA-256, when the file was read whole.
    sha256: Option<[u8; 32]>,
    /// Whether the worker's buffer holds the whole file (for YARA).
    whole: bool,
    /// The open file, for the minidump reader.
    file: Option<File>,
}

impl FileWorker<'_> {
    /// Check one regular file. `path` is where it is on this machine,
    /// `win` where it was on the server, `meta` its metadata.
    pub fn check(
        &mut self,
        path: &Path,
        win: &WinPath,
        meta: &std::fs::Metadata,
    ) -> FileOutcome {
        let intel = self.intel;
        Counters::bump(&intel.counters.checked, 1);
        let ctx = FileCtx::new(path, win, meta);
        let mut out = FileOutcome::default();
        let mut found: Vec<Finding> = Vec::new();
        found.extend(self.name_iocs(&ctx));
        found.extend(webshell::drop_dir(&ctx, &intel.allow));
        if agents::applies(&win.lower) {
            found.extend(self.agent_config(&ctx, &mut out));
        }
        let mut content = self.read(&ctx, &mut out);
        found.extend(self.content_checks(&ctx, &mut content, &mut out));
        if modules::is_module_config(&ctx.name_lower) {
            found.extend(modules::check(&ctx, &mut out.errors));
        }
        if found.is_empty() {
            return out;
        }
        let sha = content
            .sha256
            .or_else(|| hash_small(&ctx, &mut content, &mut out));
        let sha_hex = sha.map(hex::encode);
        for f in &mut found {
            if let Some(h) = &sha_hex {
                f.details.entry("sha256".into()).or_insert_with(|| h.clone());
            }
        }
        out.timeline = file_times(&ctx, &found[0].rule_id);
        if out.webshell_url.is_none() && found.iter().any(is_shell) {
            out.webshell_url = url_path(&win.lower);
        }
        out.findings = found;
        out
    }

    /// Read and judge a transport agent configuration (bounded).
    fn agent_config(
        &mut self,
        ctx: &FileCtx<'_>,
        out: &mut FileOutcome,
    ) -> Vec<Finding> {
        if ctx.size > agents::MAX_CONFIG {
            out.errors.push(ItemError::new(
                ctx.path.display().to_string(),
                ItemErrorKind::Limit,
                format!(
                    "transport agent configuration of {} bytes, over the {} \
                     MiB cap: not read",
                    ctx.size,
                    agents::MAX_CONFIG >> 20
                ),
            ));
            return Vec::new();
        }
        let mut bytes = Vec::new();
        let read = File::open(ctx.path)
            .and_then(|f| f.take(agents::MAX_CONFIG).read_to_end(&mut bytes));
        if let Err(e) = read {
            out.errors.push(io_error(ctx, "read error", &e));
            return Vec::new();
        }
        out.bytes_read += bytes.len() as u64;
        out.agent_config = true;
        let (found, errors) = agents::check(ctx, &bytes);
        out.errors.extend(errors);
        found
    }

    /// Filename IOCs against the full Windows path.
    fn name_iocs(&self, ctx: &FileCtx<'_>) -> Vec<Finding> {
        let attack = match ctx.place {
            Place::ShellDrop | Place::WebRoot | Place::TempAspNet => {
                Some("T1505.003")
            }
            Place::Staging => Some("T1074.001"),
            Place::Other => None,
        };
        self.intel
            .names
            .matches(&ctx.win.display)
            .into_iter()
            .map(|ioc| {
                let (grade, severity) = match ioc.score {
                    80.. => (Grade::Compromised, Severity::High),
                    60..=79 => (Grade::Attempt, Severity::Medium),
                    _ => (Grade::Info, Severity::Low),
                };
                let summary = format!(
                    "{}: path matches filename IOC {} (score {})",
                    ctx.win.display, ioc.pattern, ioc.score
                );
                let d = details([
                    ("ioc_pattern", ioc.pattern.clone()),
                    ("ioc_score", ioc.score.to_string()),
                    ("ioc_list", ioc.origin.clone()),
                ]);
                let mut f =
                    ctx.finding(&rules::NAME_IOC, grade, severity, summary, d);
                f.attack = attack.into_iter().map(String::from).collect();
                f
            })
            .collect()
    }

    /// Read the first bytes of every non-empty file, and the whole of
    /// those worth hashing and scanning (bounded).
    fn read(&mut self, ctx: &FileCtx<'_>, out: &mut FileOutcome) -> Content {
        let mut content = Content::default();
        if ctx.size == 0 {
            return content;
        }
        let mut file = match File::open(ctx.path) {
            Ok(f) => f,
            Err(e) => {
                out.errors.push(io_error(ctx, "cannot open", &e));
                return content;
            }
        };
        let counters = &self.intel.counters;
        Counters::bump(&counters.sniffed, 1);
        let whole = wants_content(ctx);
        let limit = if whole && ctx.size <= MAX_SCAN_SIZE as u64 {
            MAX_SCAN_SIZE
        } else {
            HEAD
        };
        self.buf.clear();
        if let Err(e) =
            (&mut file).take(limit as u64).read_to_end(&mut self.buf)
        {
            out.errors.push(io_error(ctx, "read error", &e));
            return content;
        }
        out.bytes_read += self.buf.len() as u64;
        content.head = self.buf[..self.buf.len().min(HEAD)].to_vec();
        if whole && limit == MAX_SCAN_SIZE {
            content.whole = true;
            content.sha256 = Some(sha256_bytes(&self.buf));
            Counters::bump(&counters.hashed, 1);
        } else if whole {
            content.sha256 = self.hash_big(ctx, &mut file, out);
        }
        content.file = Some(file);
        content
    }

    /// Stream-hash a file too big for YARA; say it was not scanned.
    fn hash_big(
        &self,
        ctx: &FileCtx<'_>,
        file: &mut File,
        out: &mut FileOutcome,
    ) -> Option<[u8; 32]> {
        out.errors.push(ItemError::new(
            ctx.path.display().to_string(),
            ItemErrorKind::Limit,
            format!(
                "{} bytes, over the {} MiB YARA cap: hashed, not scanned",
                ctx.size,
                MAX_SCAN_SIZE >> 20
            ),
        ));
        let hashed = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| sha256_reader(&mut *file));
        match hashed {
            Ok((d, n)) => {
                out.bytes_read += n;
                Counters::bump(&self.intel.counters.hashed, 1);
                Some(d)
            }
            Err(e) => {
                out.errors.push(io_error(ctx, "read error", &e));
                None
            }
        }
    }

    /// Everything decided from the file's bytes.
    fn content_checks(
        &mut self,
        ctx: &FileCtx<'_>,
        c: &mut Content,
        out: &mut FileOutcome,
    ) -> Vec<Finding> {
        let mut found = Vec::new();
        let dump = self.dump_info(ctx, c, out);
        found.extend(lsass::check(ctx, dump.as_ref()));
        found.extend(webshell::export_page(ctx, &c.head));
        found.extend(archive::check(ctx, &c.head));
        if ctx.place == Place::TempAspNet
            && compiled::is_compiled_page(&ctx.name_lower)
            && let Some((f, url)) = compiled::check(ctx, &c.head)
        {
            found.push(f);
            out.webshell_url = url;
        }
        if let Some(d) = c.sha256
            && let Some(bad) = self.intel.hashes.get(&d)
        {
            found.push(webshell::hash_finding(ctx, &hex::encode(d), bad));
        }
        if c.whole && owa::applies(ctx) {
            found.extend(owa::check(ctx, &self.buf));
        }
        if c.whole {
            found.extend(self.yara(ctx, out));
        }
        found
    }

    /// The minidump's own account of itself, for files starting `MDMP`.
    fn dump_info(
        &self,
        ctx: &FileCtx<'_>,
        c: &mut Content,
        out: &mut FileOutcome,
    ) -> Option<lsass::DumpInfo> {
        if !c.head.starts_with(lsass::MDMP) {
            return None;
        }
        let file = c.file.as_mut()?;
        match lsass::read_dump(file, ctx.size) {
            Ok((info, n)) => {
                out.bytes_read += n;
                Some(info)
            }
            Err(e) => {
                let kind = match e {
                    lsass::DumpError::Io(_) => ItemErrorKind::Io,
                    lsass::DumpError::Malformed(_) => ItemErrorKind::Truncated,
                };
                out.errors.push(ItemError::new(
                    ctx.path.display().to_string(),
                    kind,
                    format!("minidump not read: {e}"),
                ));
                Some(lsass::DumpInfo::default())
            }
        }
    }

    /// Scan the buffered file with YARA.
    fn yara(
        &mut self,
        ctx: &FileCtx<'_>,
        out: &mut FileOutcome,
    ) -> Vec<Finding> {
        let Some(scanner) = self.scanner.as_mut() else { return Vec::new() };
        let fc = FileContext {
            filepath: ctx.win.display.clone(),
            filename: ctx.name.to_string(),
            extension: ctx.ext.clone(),
        };
        let counters = &self.intel.counters;
        Counters::bump(&counters.yara_scanned, 1);
        Counters::bump(&counters.yara_bytes, self.buf.len() as u64);
        match scanner.scan(&self.buf, &fc) {
            Ok(hits) => webshell::yara_findings(ctx, &hits),
            Err(e) => {
                out.errors.push(ItemError::new(
                    ctx.path.display().to_string(),
                    ItemErrorKind::Other,
                    e.to_string(),
                ));
                Vec::new()
            }
        }
    }
}

/// Whether a file is worth reading whole (hash and YARA): anything IIS
/// runs, anything in a drop folder, code and configs in web folders,
/// compiled pages' assemblies and sources, and scripts and programs
/// dropped directly in a staging folder.
fn wants_content(ctx: &FileCtx<'_>) -> bool {
    let ext = ctx.ext.as_str();
    if is_script_ext(ext) {
        return true;
    }
    match ctx.place {
        Place::ShellDrop => true,
        Place::WebRoot => matches!(ext, "config" | "cs" | "vb"),
        Place::TempAspNet => matches!(ext, "dll" | "cs" | "vb"),
        Place::Staging => {
            matches!(
                ext,
                "ps1"
                    | "psm1"
                    | "bat"
                    | "cmd"
                    | "vbs"
                    | "js"
                    | "hta"
                    | "exe"
                    | "dll"
                    | "config"
            ) && archive::staging_depth(&ctx.win.lower)
                .is_some_and(|(depth, root)| root || depth <= 1)
        }
        Place::Other => false,
    }
}

/// Findings that make the file a web shell for the log detectors.
fn is_shell(f: &Finding) -> bool {
    let shell_rule = [
        rules::YARA.id,
        rules::HASH.id,
        rules::DROP_DIR.id,
        rules::EXPORT_PAGE.id,
    ]
    .contains(&f.rule_id.as_str());
    shell_rule && f.grade == Grade::Compromised
}

/// Hash a file with findings that was not read whole, if it is small
/// enough (evidence deserves a hash; huge dumps are left unhashed).
fn hash_small(
    ctx: &FileCtx<'_>,
    c: &mut Content,
    out: &mut FileOutcome,
) -> Option<[u8; 32]> {
    if ctx.size > MAX_SCAN_SIZE as u64 {
        return None;
    }
    let file = c.file.as_mut()?;
    let hashed =
        file.seek(SeekFrom::Start(0)).and_then(|_| sha256_reader(&mut *file));
    match hashed {
        Ok((d, n)) => {
            out.bytes_read += n;
            Some(d)
        }
        Err(e) => {
            out.errors.push(io_error(ctx, "read error", &e));
            None
        }
    }
}

/// The file's creation and last-write times, for the timeline.
fn file_times(ctx: &FileCtx<'_>, rule_id: &str) -> Vec<TimelineEvent> {
    let mut ev = Vec::new();
    for (kind, when, verb) in [
        ("file_created", ctx.created, "created"),
        ("file_modified", ctx.modified, "last written"),
    ] {
        if let Some(timestamp) = when {
            ev.push(TimelineEvent {
                timestamp,
                kind: kind.to_string(),
                message: format!("[{rule_id}] {} {verb}", ctx.win.display),
                source: ctx.path.display().to_string(),
                rule_id: Some(rule_id.to_string()),
            });
        }
    }
    ev
}

fn io_error(ctx: &FileCtx<'_>, what: &str, e: &std::io::Error) -> ItemError {
    ItemError::new(
        ctx.path.display().to_string(),
        ItemErrorKind::Io,
        format!("{what}: {e}"),
    )
}

/// Every parser of the file checks on untrusted bytes, for the fuzz
/// target `fuzz/fuzz_targets/hunt_files.rs` (hash and filename IOC lists,
/// minidumps, compiled-page XML, magic bytes). Returns a count of what
/// was parsed, so the work is not optimised away.
#[doc(hidden)]
pub fn fuzz_parsers(data: &[u8]) -> usize {
    let text = String::from_utf8_lossy(data);
    let mut errors = Vec::new();
    let mut list = HashList::default();
    list.add_text(&text, "fuzz", &mut errors);
    let iocs = names::NameIocs::compile(
        names::parse(&text, "fuzz", &mut errors),
        &mut errors,
    );
    let mut cursor = std::io::Cursor::new(data);
    let dump = lsass::read_dump(&mut cursor, data.len() as u64);
    list.len()
        + iocs.matches(&text).len()
        + errors.len()
        + usize::from(dump.is_ok())
        + compiled::virtual_path(data).map_or(0, |v| v.len())
        + usize::from(archive::kind("zip", data).is_some())
        + usize::from(webshell::export_kind("aspx", data).is_some())
        + agents::parse(data).map_or(0, |a| a.len())
        + owa::signals(data).len()
}

/// SHA-256 of a file, hex lower case, streamed (for the OAB check:
/// "the file the exploit wrote still exists, and this is its hash").
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let (digest, _) = sha256_reader(File::open(path)?)?;
    Ok(hex::encode(digest))
}
