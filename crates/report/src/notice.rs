//! One owner's notice: their servers and what to do, as Markdown (the
//! report file and the plain-text mail body), a self-contained HTML page,
//! an HTML mail body (no script, styles inline) and a CSV of their hosts
//! (neutralised against formula injection). Every server-controlled
//! string is escaped for its format.

use std::fmt::Write as _;

use vigie_model::scan::HostResult;

use crate::html::{escape, host_state, page_with};
use crate::text::{md_cell, next_step};

/// What every owner is told to do.
pub const GUIDANCE: &str = "\
- Install the update named above (Microsoft's guidance: \
https://learn.microsoft.com/exchange/new-features/build-numbers-and-release-dates \
and https://aka.ms/ExchangeUpdateWizard).
- An unpatched server exposed to the Internet may already be compromised: \
hunt it with `vigie hunt` (logs, web shells) before or right after patching; \
patching does not remove a web shell.
- Microsoft's Health Checker: https://aka.ms/ExchangeHealthChecker";

/// The owner a notice is for.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    /// Owner name.
    pub owner: &'a str,
    /// How to reach them.
    pub contact: &'a str,
}

fn open_cves(h: &HostResult) -> Vec<&str> {
    h.assessment
        .iter()
        .flat_map(|a| a.open_cves().map(|c| c.cve.as_str()))
        .collect()
}

/// The notice as Markdown (also the plain-text mail body).
pub fn markdown(to: Recipient<'_>, hosts: &[&HostResult]) -> String {
    let mut md = format!(
        "# Exchange servers of {}\n\nContact: {}\n\n\
         | Server | Build | State | Open CVEs | What to install |\n\
         |---|---|---|---|---|\n",
        md_cell(to.owner),
        md_cell(to.contact)
    );
    for h in hosts {
        let _ = writeln!(
            md,
            "| {} ({}:{}) | {} | {} | {} | {} |",
            md_cell(&h.target),
            md_cell(&h.ip),
            h.port,
            md_cell(h.build.as_deref().unwrap_or("?")),
            host_state(h),
            open_cves(h).join(" "),
            md_cell(&next_step(h))
        );
    }
    md.push_str("\n## What to do\n\n");
    md.push_str(GUIDANCE);
    md.push('\n');
    md
}

fn table(to: Recipient<'_>, hosts: &[&HostResult]) -> String {
    let mut body = format!(
        "<h1>Exchange servers of {}</h1><p>Contact: {}</p><table \
         id=\"hosts\" class=\"sortable\"><thead><tr><th>Server</th>\
         <th>Build</th><th>State</th><th>What to install</th></tr></thead>\
         <tbody>",
        escape(to.owner),
        escape(to.contact)
    );
    for h in hosts {
        let state = host_state(h);
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td><span class=\"v {state}\">\
             {state}</span></td><td>{}</td></tr>",
            escape(&format!("{} ({}:{})", h.target, h.ip, h.port)),
            escape(h.build.as_deref().unwrap_or("?")),
            escape(&next_step(h))
        );
    }
    body.push_str("</tbody></table><h2>What to do</h2><ul>");
    for line in GUIDANCE.lines() {
        let _ =
            write!(body, "<li>{}</li>", escape(line.trim_start_matches("- ")));
    }
    body.push_str("</ul>");
    body
}

/// The notice as a self-contained HTML page (the report file).
pub fn html_page(to: Recipient<'_>, hosts: &[&HostResult]) -> String {
    page_with(&format!("vigie: {}", to.owner), &table(to, hosts))
}

/// The notice as an HTML mail body: no script (mail clients drop it),
/// plain markup.
pub fn html_mail(to: Recipient<'_>, hosts: &[&HostResult]) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}\
         </title></head><body>\n{}\n</body></html>\n",
        escape(&format!("Exchange servers of {}", to.owner)),
        table(to, hosts)
    )
}

/// The owner's hosts as CSV (the mail attachment), cells neutralised
/// against formula injection.
pub fn hosts_csv(hosts: &[&HostResult]) -> String {
    let owned: Vec<HostResult> = hosts.iter().map(|&h| h.clone()).collect();
    crate::text::csv(&owned, &[])
}
