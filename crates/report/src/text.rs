//! CSV (formula-injection safe) and Markdown summaries of scanned hosts
//! and hunts.

use std::fmt::Write;

use vigie_model::csv_safe;
use vigie_model::hunt::HuntReport;
use vigie_model::scan::HostResult;

use crate::html::host_state;

fn cell(text: &str) -> String {
    let safe = csv_safe(text);
    if safe.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", safe.replace('"', "\"\""))
    } else {
        safe
    }
}

fn row(out: &mut String, cells: &[&str]) {
    let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

fn open_cves(h: &HostResult) -> String {
    h.assessment
        .as_ref()
        .map(|a| a.open_cves().map(|c| c.cve.as_str()).collect::<Vec<_>>())
        .unwrap_or_default()
        .join(" ")
}

/// What to install next, as one line.
pub fn next_step(h: &HostResult) -> String {
    h.assessment
        .as_ref()
        .map(|a| {
            a.upgrade_path
                .iter()
                .map(|s| format!("{} ({})", s.text(), s.build))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

/// One CSV row per host (and one per hunted server).
pub fn csv(hosts: &[HostResult], hunts: &[HuntReport]) -> String {
    let mut out = String::new();
    row(
        &mut out,
        &[
            "record",
            "host",
            "ip",
            "port",
            "state",
            "product",
            "build",
            "open_cves",
            "next_step",
            "time",
        ],
    );
    for h in hosts {
        let a = h.assessment.as_ref();
        row(
            &mut out,
            &[
                "scan",
                &h.target,
                &h.ip,
                &h.port.to_string(),
                host_state(h),
                h.product.as_deref().unwrap_or(""),
                h.build
                    .as_deref()
                    .or(a.map(|a| a.build.as_str()))
                    .unwrap_or(""),
                &open_cves(h),
                &next_step(h),
                &h.scanned_at.to_rfc3339(),
            ],
        );
    }
    for r in hunts {
        row(
            &mut out,
            &[
                "hunt",
                &r.host,
                "",
                "",
                r.verdict.as_str(),
                "",
                "",
                "",
                &format!("{} findings", r.findings.len()),
                &r.started_at.to_rfc3339(),
            ],
        );
    }
    out
}

/// Escape text for a Markdown table cell.
pub fn md_cell(text: &str) -> String {
    let mut out = String::new();
    for c in vigie_model::terminal_safe(text).chars() {
        if matches!(c, '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A Markdown summary: counts first, then one row per host or hunt.
pub fn markdown(hosts: &[HostResult], hunts: &[HuntReport]) -> String {
    let mut out = String::from("# vigie report\n\n");
    if !hosts.is_empty() {
        let vulnerable =
            hosts.iter().filter(|h| host_state(h) == "vulnerable").count();
        let exchange = hosts
            .iter()
            .filter(|h| {
                matches!(host_state(h), "vulnerable" | "patched" | "unknown")
            })
            .count();
        let _ = writeln!(
            out,
            "**{vulnerable} of {exchange} Exchange servers have open \
             CVEs** ({} hosts scanned).\n\n\
             | Host | State | Build | Open CVEs | Next step |\n\
             |---|---|---|---|---|",
            hosts.len()
        );
        let mut sorted: Vec<&HostResult> = hosts.iter().collect();
        sorted.sort_by_cached_key(|h| crate::html::severity_order(h));
        for h in sorted {
            let _ = writeln!(
                out,
                "| {}:{} | {} | {} | {} | {} |",
                md_cell(&h.target),
                h.port,
                host_state(h),
                md_cell(h.build.as_deref().unwrap_or("")),
                open_cves(h),
                md_cell(&next_step(h))
            );
        }
        out.push('\n');
    }
    if !hunts.is_empty() {
        out.push_str("| Server | Verdict | Findings |\n|---|---|---|\n");
        for r in hunts {
            let _ = writeln!(
                out,
                "| {} | **{}** | {} |",
                md_cell(&r.host),
                r.verdict.as_str(),
                r.findings.len()
            );
        }
    }
    out
}
