//! Human-readable summary of a hunt: the verdict first, then one line per
//! family, the strongest evidence, coverage with its warnings, and the
//! error count. Every attacker-controlled string passes through
//! [`terminal_safe`].

use std::io::Write;

use vigie_hunt::coverage::{label, show_range};
use vigie_hunt::verdict::grade_word;
use vigie_model::hunt::{SigmaSummary, SourceCoverage, is_sigma_finding};
use vigie_model::{Finding, terminal_safe};

use vigie_hunt::engine::HuntOutput;

/// Findings shown in the summary; the rest are in JSON and the report.
const TOP: usize = 10;

/// Write the summary.
pub(super) fn write_summary(
    out: &mut dyn Write,
    output: &HuntOutput,
) -> anyhow::Result<()> {
    let r = &output.report;
    let t = terminal_safe;
    writeln!(out, "vigie hunt: {}", t(&r.host))?;
    writeln!(out, "Verdict: {}", r.verdict.as_str().to_uppercase())?;
    writeln!(out)?;
    writeln!(out, "Per family:")?;
    for f in &r.families {
        writeln!(
            out,
            "  {:<30} {:<13} {}",
            f.family.label(),
            f.verdict.as_str(),
            t(&f.reason)
        )?;
    }
    write_evidence(out, &r.findings)?;
    if let Some(sigma) = &r.sigma {
        write_sigma(out, sigma, &r.findings)?;
    }
    write_coverage(out, &r.coverage)?;
    if !output.notes.is_empty() {
        writeln!(out)?;
        writeln!(out, "Notes:")?;
        for n in &output.notes {
            writeln!(out, "  - {}", t(n))?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "Errors: {} (listed in --format json and the HTML report)",
        r.errors.len()
    )?;
    for e in r.errors.iter().take(5) {
        writeln!(out, "  {}", t(&e.to_string()))?;
    }
    Ok(())
}

/// Strongest first, then by time.
fn write_evidence(
    out: &mut dyn Write,
    findings: &[Finding],
) -> anyhow::Result<()> {
    let t = terminal_safe;
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(findings[i].grade));
    writeln!(out)?;
    writeln!(
        out,
        "Top evidence ({} of {} findings):",
        findings.len().min(TOP),
        findings.len()
    )?;
    for i in order.into_iter().take(TOP) {
        let f = &findings[i];
        let when = f
            .timestamp
            .map(|ts| ts.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "  #{:<3} {:<20} {:<11} {:<10} {}",
            i + 1,
            when,
            grade_word(f.grade),
            t(&f.rule_id),
            t(&f.summary)
        )?;
        let mut at = f.source.path.clone();
        if let Some(l) = f.source.line {
            at = format!("{at}:{l}");
        } else if let Some(id) = f.source.record_id {
            at = format!("{at} record {id}");
        }
        writeln!(out, "        {}", t(&at))?;
    }
    Ok(())
}

/// Sigma findings shown in the summary.
const TOP_SIGMA: usize = 5;

/// What `--sigma` loaded, skipped (per reason) and matched, and the
/// strongest Sigma findings.
fn write_sigma(
    out: &mut dyn Write,
    s: &SigmaSummary,
    findings: &[Finding],
) -> anyhow::Result<()> {
    let t = terminal_safe;
    writeln!(out)?;
    writeln!(
        out,
        "Sigma rules: {} loaded ({} for sources vigie reads), {} skipped; \
         {} match(es) from {} rule(s)",
        s.rules_loaded,
        s.rules_applicable,
        s.rules_skipped,
        s.matches,
        s.matches_by_rule.len()
    )?;
    let mut reasons: Vec<_> = s.skipped_by_reason.iter().collect();
    reasons.sort_by_key(|(r, n)| (std::cmp::Reverse(**n), (*r).clone()));
    for (reason, n) in reasons {
        writeln!(out, "  skipped: {n:>5}  {}", t(reason))?;
    }
    let mut sigma: Vec<&Finding> =
        findings.iter().filter(|f| is_sigma_finding(f)).collect();
    sigma.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in sigma.into_iter().take(TOP_SIGMA) {
        let level = f.details.get("sigma_level").map_or("", String::as_str);
        let mut at = f.source.path.clone();
        if let Some(l) = f.source.line {
            at = format!("{at}:{l}");
        } else if let Some(id) = f.source.record_id {
            at = format!("{at} record {id}");
        }
        writeln!(
            out,
            "  {:<8} {} ({})",
            t(level),
            t(&f.title),
            t(&f.rule_id)
        )?;
        writeln!(out, "           {}", t(&f.summary))?;
        writeln!(out, "           {}", t(&at))?;
    }
    Ok(())
}

fn write_coverage(
    out: &mut dyn Write,
    coverage: &[SourceCoverage],
) -> anyhow::Result<()> {
    writeln!(out)?;
    writeln!(out, "Coverage (days with records, UTC):")?;
    writeln!(
        out,
        "  {:<27} {:>6} {:>9}  {:<10}  {:<10} {:>6} {:>5}  window",
        "source", "files", "records", "first", "last", "days", "gaps"
    )?;
    let day = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "-".into())
    };
    for c in coverage {
        writeln!(
            out,
            "  {:<27} {:>6} {:>9}  {:<10}  {:<10} {:>6} {:>5}  {}",
            label(c.source),
            c.files,
            c.records,
            day(c.first),
            day(c.last),
            c.days,
            c.gaps.len(),
            if c.covers_window { "yes" } else { "NO" }
        )?;
        for g in c.gaps.iter().take(3) {
            writeln!(out, "      gap: {} ({} day(s))", show_range(g), g.days)?;
        }
        if c.gaps.len() > 3 {
            writeln!(out, "      ... {} more gap(s)", c.gaps.len() - 3)?;
        }
    }
    Ok(())
}
