//! Human-readable output of `vigie check`: one block per build (CVEs
//! grouped by family), then a one-line-per-build summary table.

use std::io::Write;

use vigie_model::build::{CveState, CveStatus, PatchAssessment, SupportState};
use vigie_model::terminal_safe;

use super::{Checked, snake};

fn support_text(s: SupportState) -> &'static str {
    match s {
        SupportState::Supported => "supported CU",
        SupportState::CuUnsupported => {
            "CU out of support (not one of the two latest)"
        }
        SupportState::ProductEndOfLife => "product past end of support",
        SupportState::Unknown => "unknown",
    }
}

/// The summary table's support column, in words; `(ESU)` when paid
/// Extended Security Updates are the way to stay patched.
fn support_short(a: &PatchAssessment) -> &'static str {
    let esu = a.upgrade_path.iter().any(|s| s.esu_only)
        || a.latest_update.as_deref().is_some_and(|u| u.contains("ESU"));
    match (a.support, esu) {
        (SupportState::Supported, _) => "supported",
        (SupportState::CuUnsupported, _) => "CU unsupported",
        (SupportState::ProductEndOfLife, true) => "end of life (ESU)",
        (SupportState::ProductEndOfLife, false) => "end of life",
        (SupportState::Unknown, _) => "unknown",
    }
}

fn state_label(s: CveState) -> &'static str {
    match s {
        CveState::Vulnerable => "OPEN",
        CveState::Unknown => "unknown",
        CveState::PatchedConfigNeeded => "CONFIG",
        CveState::Patched => "patched",
        CveState::NotAffected => "n/a",
    }
}

/// One human-readable block per build.
pub(super) fn write_block(
    out: &mut dyn Write,
    c: &Checked,
    all: bool,
) -> anyhow::Result<()> {
    let a = &c.assessment;
    let t = terminal_safe;
    let server = c.server.as_deref().map(|s| format!("  [{}]", t(s)));
    writeln!(out, "{}{}", t(&a.input), server.unwrap_or_default())?;
    let name = match (&a.product, &a.cu, &a.su) {
        (Some(p), Some(cu), Some(su)) => format!("{p} {cu} {su}"),
        (Some(p), Some(cu), None) => format!("{p} {cu}"),
        (Some(p), None, _) => p.clone(),
        (None, _, _) => "unknown product".to_string(),
    };
    let released =
        a.release_date.map(|d| format!(", released {d}")).unwrap_or_default();
    writeln!(
        out,
        "  {} = {name}{released} (precision {})",
        a.build,
        snake(&a.precision)
    )?;
    let latest = match a.latest_su_installed {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    };
    let behind = a
        .days_behind
        .map(|d| format!(", {d} days behind"))
        .unwrap_or_default();
    let newest = a
        .latest_update
        .as_deref()
        .map(|u| format!(" (newest: {})", t(u)))
        .unwrap_or_default();
    writeln!(
        out,
        "  support: {}; latest update installed: {latest}{newest}{behind}",
        support_text(a.support)
    )?;
    writeln!(out, "  note: {}", t(&a.match_note))?;
    write_cves(out, a, all)?;
    let open = a.open_cves().count();
    for (i, s) in a.upgrade_path.iter().enumerate() {
        let head = if i == 0 { "  upgrade:" } else { "          " };
        let closes = match open {
            0 => String::new(),
            n => format!(" (closes {} of {n} open)", s.closes),
        };
        writeln!(
            out,
            "{head} {}. {} -> {}{closes}",
            i + 1,
            s.text(),
            s.build
        )?;
    }
    writeln!(out)?;
    Ok(())
}

/// Campaign names admins know, listed first in summaries.
const FAMILY_ORDER: [&str; 6] = [
    "ProxyLogon",
    "ProxyShell",
    "ProxyToken",
    "ProxyNotShell",
    "OWASSRF",
    "NTLM relay",
];

/// Open CVEs first, in the engine's order (known exploited, then CVSS):
/// what to fix first comes first. Then CVEs the input cannot tell, then the
/// fixed ones that need a configuration, grouped by what to configure (the
/// step is printed once per group). Then a count per family or impact.
fn write_cves(
    out: &mut dyn Write,
    a: &PatchAssessment,
    all: bool,
) -> anyhow::Result<()> {
    let of = |s: CveState| a.cves.iter().filter(move |c| c.state == s);
    for c in of(CveState::Vulnerable).chain(of(CveState::Unknown)) {
        write_cve(out, c)?;
        if let Some(n) = &c.config_note {
            writeln!(out, "          meanwhile: {}", terminal_safe(n))?;
        }
    }
    let mut config: Vec<&CveStatus> =
        of(CveState::PatchedConfigNeeded).collect();
    config.sort_by(|x, y| x.config_note.cmp(&y.config_note));
    for (i, c) in config.iter().enumerate() {
        write_cve(out, c)?;
        let next = config.get(i + 1).map(|n| &n.config_note);
        if next != Some(&c.config_note)
            && let Some(n) = &c.config_note
        {
            writeln!(out, "          needs: {}", terminal_safe(n))?;
        }
    }
    if all {
        for c in of(CveState::Patched).chain(of(CveState::NotAffected)) {
            write_cve(out, c)?;
        }
    }
    let open = families(a);
    if !open.is_empty() {
        let list: Vec<String> =
            open.iter().map(|(f, n)| format!("{f} {n}")).collect();
        writeln!(out, "  open by family: {}", list.join(", "))?;
    }
    let count = |s: CveState| a.cves.iter().filter(|c| c.state == s).count();
    if !all {
        writeln!(
            out,
            "  {} patched, {} not affected (--all lists them)",
            count(CveState::Patched),
            count(CveState::NotAffected)
        )?;
    }
    Ok(())
}

fn write_cve(out: &mut dyn Write, c: &CveStatus) -> std::io::Result<()> {
    let cvss = c.cvss.map(|s| format!(" {s:.1}")).unwrap_or_default();
    let kev = if c.known_exploited { " KEV" } else { "" };
    let fix = c
        .fixed_in
        .as_deref()
        .map(|f| format!(" (fix {f})"))
        .unwrap_or_default();
    writeln!(
        out,
        "  {:<7} {}{cvss}{kev} [{}] {}{fix}",
        state_label(c.state),
        c.cve,
        terminal_safe(&c.family),
        terminal_safe(&c.name)
    )
}

/// Open CVEs counted per family: named campaigns first, then the
/// largest groups.
fn families(a: &PatchAssessment) -> Vec<(String, usize)> {
    let mut families: Vec<(String, usize)> = Vec::new();
    for c in a.open_cves() {
        match families.iter_mut().find(|(f, _)| *f == c.family) {
            Some((_, n)) => *n += 1,
            None => families.push((c.family.clone(), 1)),
        }
    }
    families.sort_by_key(|(f, n)| {
        let named = FAMILY_ORDER.iter().position(|o| o == f);
        (named.unwrap_or(usize::MAX), usize::MAX - n)
    });
    families
}

/// The one-line-per-build table printed after the blocks, so a whole
/// inventory can be read at a glance.
///
/// Column widths need every row before the first is printed, so rows
/// are kept, but only the first [`MAX_SUMMARY_ROWS`] (a few megabytes at
/// most): past that, every build still has its block above, the table
/// says how many it leaves out, and `--format csv` gives one line per
/// build at any size.
#[derive(Default)]
pub(super) struct Summary {
    rows: Vec<[String; 6]>,
    left_out: u64,
}

/// Rows kept for the summary table.
pub(super) const MAX_SUMMARY_ROWS: usize = 10_000;

const SUMMARY_HEADER: [&str; 6] =
    ["SERVER/INPUT", "BUILD", "NAME", "SUPPORT", "BEHIND", "OPEN CVES"];

/// Longest cell shown, so one odd input cannot wreck the layout.
const MAX_CELL: usize = 40;

impl Summary {
    pub(super) fn add(&mut self, c: &Checked) {
        if self.rows.len() >= MAX_SUMMARY_ROWS {
            self.left_out += 1;
            return;
        }
        let a = &c.assessment;
        let who = c.server.clone().unwrap_or_else(|| a.input.clone());
        let name = [a.cu.as_deref(), a.su.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let product = a
            .product
            .as_deref()
            .map(|p| p.trim_start_matches("Exchange Server "))
            .unwrap_or("?");
        self.rows.push([
            cell(&who),
            a.build.clone(),
            cell(&format!("{product} {name}")),
            support_short(a).to_string(),
            a.days_behind.map(|d| format!("{d}d")).unwrap_or_default(),
            open_text(a),
        ]);
    }

    pub(super) fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.rows.len() < 2 {
            return Ok(());
        }
        let mut widths = SUMMARY_HEADER.map(str::len);
        for row in &self.rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let header = SUMMARY_HEADER.map(str::to_string);
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (c, w)) in row.iter().zip(widths).enumerate() {
                if i + 1 == row.len() {
                    line.push_str(c);
                } else {
                    line.push_str(&format!("{c:<w$}  "));
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        if self.left_out > 0 {
            writeln!(
                out,
                "... and {} more build(s), left out of this table (it \
                 keeps the first {MAX_SUMMARY_ROWS}); each has its block \
                 above, and --format csv gives one line per build",
                self.left_out
            )?;
        }
        writeln!(out)
    }
}

fn cell(text: &str) -> String {
    let safe = terminal_safe(text);
    if safe.chars().count() <= MAX_CELL {
        return safe;
    }
    let cut: String = safe.chars().take(MAX_CELL - 1).collect();
    format!("{cut}…")
}

/// `5 (ProxyLogon 4, Remote code execution 1)`, `none`, or `? 4 unknown`.
fn open_text(a: &PatchAssessment) -> String {
    let families = families(a);
    let open: usize = families.iter().map(|(_, n)| n).sum();
    let unknown =
        a.cves.iter().filter(|c| c.state == CveState::Unknown).count();
    let mut text = match open {
        0 => "none".to_string(),
        _ => {
            let list: Vec<String> =
                families.iter().map(|(f, n)| format!("{f} {n}")).collect();
            format!("{open} ({})", list.join(", "))
        }
    };
    if unknown > 0 {
        text.push_str(&format!(", {unknown} unknown"));
    }
    text
}
