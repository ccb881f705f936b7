//! `vigie check --host PATH...`: judge whole servers from their own files
//! (image, triage copy, or a folder of several servers' collections) with
//! `vigie-health`, and print the judgements grouped as build and CVEs,
//! security configuration, mitigations and operating system.

use std::io::Write;
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Serialize;
use vigie_builds::Table;
use vigie_health::{CveVerdict, Group, Judgement, ServerHealth, Status};
use vigie_model::{ItemError, ItemErrorKind, ToolInfo, terminal_safe};

use super::Format;
use crate::exit::Outcome;

/// The `--host` arguments of `vigie check`.
#[derive(Debug, Default, clap::Args)]
pub struct HostArgs {
    /// Judge whole servers from their files: a mounted image, a triage
    /// copy (`C/Windows/...`), or a folder holding several servers'
    /// collections. Registry hives (or `.reg` exports beside `C`), IIS
    /// and Exchange configuration, ExSetup.exe are read; nothing is
    /// written.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub host: Vec<PathBuf>,
    /// Judge the Windows server vigie runs on: its registry through
    /// Windows, its IIS and Exchange configuration and ExSetup.exe from
    /// the install folder the registry names. Nothing is written.
    #[arg(long)]
    pub live: bool,
    /// CLIXML exports (`Get-SettingOverride | Export-Clixml`, ExSetup
    /// FileVersionInfo) to settle what is not on disk; a subfolder named
    /// after a server is used for that server.
    #[arg(long, value_name = "DIR", requires = "host")]
    pub exports: Option<PathBuf>,
    /// Also record each server's health in this history database (one
    /// run); `vigie history` then shows configuration drift between runs.
    /// Never inside a judged path.
    #[arg(long, value_name = "FILE", requires = "host")]
    pub db: Option<PathBuf>,
}

impl HostArgs {
    /// Whether `--host` or `--live` was given.
    pub fn asked(&self) -> bool {
        !self.host.is_empty() || self.live
    }
}

/// The JSON document of `--host --format json`.
#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: ToolInfo,
    as_of: NaiveDate,
    servers: &'a [ServerHealth],
    errors: &'a [ItemError],
}

/// Run `vigie check --host`.
pub fn run(
    args: &HostArgs,
    format: Format,
    table: &Table,
    as_of: NaiveDate,
) -> anyhow::Result<Outcome> {
    if args.live {
        super::super::live::ensure_supported("vigie check")?;
    }
    if format == Format::Csv {
        anyhow::bail!(
            "--format csv is not available with --host; use table, json or jsonl"
        );
    }
    if let Some(db) = &args.db {
        let judged = vigie_hunt::engine::HuntOptions {
            inputs: args.host.clone(),
            ..Default::default()
        };
        crate::cmd::hunt::refuse_inside_evidence(db, &judged)?;
    }
    let mut servers = Vec::new();
    let mut errors = Vec::new();
    if args.live {
        servers.push(live_server(table, as_of));
    }
    for input in &args.host {
        if !input.exists() {
            errors.push(ItemError::new(
                input.display().to_string(),
                ItemErrorKind::Io,
                "no such file or folder",
            ));
            continue;
        }
        let found = vigie_health::judge_path(
            input,
            args.exports.as_deref(),
            table,
            as_of,
        );
        if found.is_empty() {
            errors.push(ItemError::new(
                input.display().to_string(),
                ItemErrorKind::Config,
                "no server found: expected a folder holding Windows/, Program Files/ or inetpub/ \
                 (directly or under C/), or a folder of such folders",
            ));
        }
        servers.extend(found);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match format {
        Format::Json => {
            let doc = Document {
                schema_version: vigie_model::SCHEMA_VERSION,
                tool: ToolInfo::current(),
                as_of,
                servers: &servers,
                errors: &errors,
            };
            serde_json::to_writer_pretty(&mut out, &doc)
                .map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for s in &servers {
                jsonl(&mut out, "server", Some("health"), s)?;
            }
            for e in &errors {
                jsonl(&mut out, "error", None, e)?;
            }
        }
        _ => {
            writeln!(
                out,
                "vigie check --host: server health judged as of {as_of}\n"
            )?;
            for s in &servers {
                write_server(&mut out, s)?;
            }
            for e in &errors {
                writeln!(
                    out,
                    "error  {}: {}",
                    terminal_safe(&e.subject),
                    terminal_safe(&e.message)
                )?;
            }
            let act = servers.iter().filter(|s| s.needs_action()).count();
            writeln!(
                out,
                "{} server(s) judged: {act} need action, {} input error(s)",
                servers.len(),
                errors.len()
                    + servers.iter().map(|s| s.errors.len()).sum::<usize>()
            )?;
        }
    }
    out.flush()?;
    if let Some(db) = &args.db {
        record(&servers, &args.host, db)?;
    }
    let findings = servers.iter().any(ServerHealth::needs_action);
    let item_errors =
        !errors.is_empty() || servers.iter().any(|s| !s.errors.is_empty());
    Ok(Outcome::from_flags(findings, item_errors))
}

/// Judge the server vigie runs on (Windows): its registry read through
/// the registry API, its files where the registry says they are.
#[cfg(windows)]
fn live_server(table: &Table, as_of: NaiveDate) -> ServerHealth {
    let layout = super::super::live::layout("vigie check");
    let (registry, registry_errors) = vigie_live::windows::registry();
    let tree = vigie_health::discover::ServerTree::live(
        &layout.computer,
        &layout.system_drive,
    );
    let inputs =
        vigie_health::Inputs::gather_with(&tree, None, Some(registry));
    let mut health = vigie_health::judge(&inputs, table, as_of);
    health.errors.extend(layout.errors);
    health.errors.extend(registry_errors);
    if let Some(note) = super::super::live::rights_note(
        "vigie check",
        super::super::live::elevated(),
        &health.errors,
    ) {
        eprintln!("{note}");
    }
    health
}

#[cfg(not(windows))]
fn live_server(_: &Table, _: NaiveDate) -> ServerHealth {
    unreachable!("--live is refused off Windows before any I/O")
}

/// Record every judged server in the history database as one run.
fn record(
    servers: &[ServerHealth],
    inputs: &[PathBuf],
    db: &std::path::Path,
) -> anyhow::Result<()> {
    let path = crate::cmd::report::db_path(Some(db))?;
    let mut store = vigie_store::Store::open(&path)?;
    let paths: Vec<String> =
        inputs.iter().map(|p| p.display().to_string()).collect();
    let meta = format!("vigie check --host {}", paths.join(" "));
    let run = store.begin_run(vigie_store::RunKind::Health, &meta)?;
    for s in servers {
        // The stored form is the record model's view of the same JSON.
        let record: vigie_model::health::HealthRecord =
            serde_json::from_value(serde_json::to_value(s)?)?;
        store.record_health(run, &record)?;
    }
    store.finish_run(run)?;
    eprintln!(
        "vigie check: recorded {} server(s) as run {run} in {}",
        servers.len(),
        path.display()
    );
    Ok(())
}

/// One `--format jsonl` line: the body with `schema_version`, `type`
/// and, for records other tools read back (`vigie report`, `history
/// --import`), `record`.
fn jsonl<T: Serialize>(
    out: &mut dyn Write,
    kind: &str,
    record: Option<&str>,
    body: &T,
) -> anyhow::Result<()> {
    let mut v = serde_json::to_value(body)?;
    if let Some(o) = v.as_object_mut() {
        if let Some(r) = record {
            o.insert("record".into(), r.into());
        }
        o.insert("schema_version".into(), vigie_model::SCHEMA_VERSION.into());
        o.insert("type".into(), kind.into());
    }
    serde_json::to_writer(&mut *out, &v).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

const GROUPS: [Group; 4] = [
    Group::BuildAndCves,
    Group::SecurityConfiguration,
    Group::Mitigations,
    Group::OperatingSystem,
];

/// One server's block of the table.
pub fn write_server(
    out: &mut dyn Write,
    s: &ServerHealth,
) -> anyhow::Result<()> {
    let t = terminal_safe;
    writeln!(
        out,
        "{}  ({})  build {}",
        t(&s.server),
        t(&s.root),
        s.build.as_deref().unwrap_or("unknown")
    )?;
    for g in GROUPS {
        writeln!(out, "  {}", g.title())?;
        let js: Vec<&Judgement> =
            s.judgements.iter().filter(|j| j.group == g).collect();
        let vdir_ok = js
            .iter()
            .filter(|j| j.id == "ep.vdir" && j.status == Status::Ok)
            .count();
        if vdir_ok > 0 {
            writeln!(
                out,
                "    {:<7} {:<26} {vdir_ok} virtual directories as expected",
                "ok", "ep.vdir"
            )?;
        }
        for j in js
            .iter()
            .filter(|j| !(j.id == "ep.vdir" && j.status == Status::Ok))
        {
            write_judgement(out, j)?;
        }
        if g == Group::BuildAndCves {
            write_cves(out, s)?;
        }
    }
    for e in &s.errors {
        writeln!(out, "  error  {}: {}", t(&e.subject), t(&e.message))?;
    }
    writeln!(out)?;
    Ok(())
}

fn write_judgement(out: &mut dyn Write, j: &Judgement) -> anyhow::Result<()> {
    let t = terminal_safe;
    let word = match j.status {
        Status::Fail => "FAIL",
        s => s.word(),
    };
    let subject =
        j.subject.as_deref().map(|s| format!("{s}: ")).unwrap_or_default();
    writeln!(
        out,
        "    {word:<7} {:<26} {}{}",
        j.id,
        t(&subject),
        t(&j.summary)
    )?;
    if j.status == Status::Ok {
        return Ok(());
    }
    for e in &j.evidence {
        writeln!(
            out,
            "            evidence: {} {} = {}",
            t(&e.source),
            t(&e.location),
            t(&e.seen)
        )?;
    }
    if let Some(s) = &j.settle {
        writeln!(out, "            settle with: {}", t(s))?;
    }
    if j.status == Status::Fail {
        writeln!(out, "            why: {}", j.why)?;
        writeln!(out, "            ref: {}", j.reference)?;
    }
    Ok(())
}

fn write_cves(out: &mut dyn Write, s: &ServerHealth) -> anyhow::Result<()> {
    let list = |v: CveVerdict| -> Vec<String> {
        s.cves
            .iter()
            .filter(|c| c.state == v)
            .map(|c| match &c.because {
                Some(b) if v != CveVerdict::Vulnerable => {
                    format!("{} ({b})", c.cve)
                }
                _ => c.cve.clone(),
            })
            .collect()
    };
    for (label, v) in [
        ("open (build)", CveVerdict::Vulnerable),
        ("open (configuration)", CveVerdict::VulnerableByConfig),
        ("config unknown", CveVerdict::NeedsConfigUnknown),
    ] {
        let l = list(v);
        if !l.is_empty() {
            writeln!(
                out,
                "    cves    {label:<26} {}",
                terminal_safe(&l.join(", "))
            )?;
        }
    }
    let protected = list(CveVerdict::Protected).len();
    writeln!(out, "    cves    {:<26} {protected}", "protected")?;
    Ok(())
}

/// The demo section of `check --host`: a forged server with Extended
/// Protection off on one directory, an override disabling a CVE fix,
/// CVE-2026-42897's mitigation missing and an unknown IIS module, judged
/// from its files.
pub fn demo(ctx: &mut crate::cmd::demo::DemoContext) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let as_of = NaiveDate::from_ymd_opt(2026, 9, 1).context("demo date")?;
    let dir = ctx.dir.join("host-check");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    let weak = vigie_health::sample::Weaknesses::all();
    let (server, exports) =
        vigie_health::sample::write_server(&dir, "EXCH01", weak)
            .with_context(|| {
                format!("forging a server under {}", dir.display())
            })?;
    writeln!(
        ctx.out,
        "== vigie check --host: a forged server tree judged from its own files, as of {as_of}\n   \
         ({}, exports {})\n",
        server.display(),
        exports.display()
    )?;
    let servers = vigie_health::judge_path(
        &server,
        Some(&exports),
        Table::embedded(),
        as_of,
    );
    let results = ctx.dir.join("host-check.jsonl");
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&results)
            .with_context(|| format!("writing {}", results.display()))?,
    );
    for s in &servers {
        write_server(&mut *ctx.out, s)?;
        jsonl(&mut file, "server", Some("health"), s)?;
    }
    file.flush()?;
    ctx.results.push(results);
    Ok(())
}
