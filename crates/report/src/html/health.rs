//! The server-health section of the report: one sortable table for a
//! whole folder of servers judged by `vigie check --host`, then each
//! server's judgements grouped as build and CVEs, security
//! configuration, mitigations and operating system, with their evidence.
//!
//! Server names, paths, XML element paths and the values seen all come
//! from the judged disk (an attacker may have written them), so every
//! one is escaped.

use std::fmt::Write;

use vigie_model::health::{
    CveVerdict, Group, HealthRecord, JudgementRecord, Status,
};

use super::{Bar, badge, bar_chart, count, escape};

/// Badge class of a status (`fail` red, `warn` amber, `ok` green).
fn status_badge(s: Status) -> String {
    badge(s.word(), s.word())
}

/// The whole section: summary, chart, server table, then each server.
pub(super) fn section(body: &mut String, servers: &[HealthRecord]) {
    let act = servers.iter().filter(|s| s.needs_action()).count();
    let _ = write!(
        body,
        "<h2>Server health</h2><p id=\"health-verdict\">{} of {} servers \
need action (a failed judgement, or a CVE open by build or by \
configuration).</p>",
        badge(if act > 0 { "fail" } else { "ok" }, &act.to_string()),
        servers.len()
    );
    let fails: Vec<String> = servers
        .iter()
        .flat_map(|s| s.judgements.iter())
        .filter(|j| j.status == Status::Fail)
        .map(|j| j.id.clone())
        .collect();
    if !fails.is_empty() {
        let bars: Vec<Bar> = count(fails.iter().map(String::as_str));
        body.push_str(&bar_chart("Failed judgements (id × server)", &bars));
    }
    table(body, servers);
    for (i, s) in servers.iter().enumerate() {
        server(body, i, s);
    }
}

fn table(body: &mut String, servers: &[HealthRecord]) {
    body.push_str(
        "<input class=\"filter\" placeholder=\"filter\">\
<table id=\"health\" class=\"sortable filterable\"><thead><tr>\
<th>Server</th><th>State</th><th>Build</th><th>Fail</th><th>Warn</th>\
<th>Unknown</th><th>Ok</th><th>Open CVEs (build)</th>\
<th>Open CVEs (configuration)</th><th>Input errors</th><th>Root</th>\
</tr></thead><tbody>",
    );
    for (i, s) in servers.iter().enumerate() {
        let state = if s.needs_action() { "fail" } else { "ok" };
        let word = if s.needs_action() { "needs action" } else { "ok" };
        let _ = write!(
            body,
            "<tr><td><a href=\"#hs{i}\">{}</a></td><td>{}</td><td>{}</td>\
<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
<td>{}</td><td><code>{}</code></td></tr>",
            escape(&s.server),
            badge(state, word),
            escape(s.build.as_deref().unwrap_or("unknown")),
            s.count(Status::Fail),
            s.count(Status::Warn),
            s.count(Status::Unknown),
            s.count(Status::Ok),
            s.cves_in(CveVerdict::Vulnerable),
            s.cves_in(CveVerdict::VulnerableByConfig),
            s.errors.len(),
            escape(&s.root)
        );
    }
    body.push_str("</tbody></table>");
}

fn server(body: &mut String, i: usize, s: &HealthRecord) {
    let _ = write!(
        body,
        "<section id=\"hs{i}\" class=\"server-health\"><h3>{}</h3>\
<p>build {} · <code>{}</code></p>",
        escape(&s.server),
        escape(s.build.as_deref().unwrap_or("unknown")),
        escape(&s.root)
    );
    for g in Group::ALL {
        let js: Vec<&JudgementRecord> =
            s.judgements.iter().filter(|j| j.group == g).collect();
        let _ = write!(body, "<h4>{}</h4>", escape(g.title()));
        if g == Group::BuildAndCves {
            cves(body, s);
        }
        if js.is_empty() {
            body.push_str("<p>no judgements</p>");
            continue;
        }
        judgements(body, &js);
    }
    if !s.errors.is_empty() {
        body.push_str("<h4>Input errors</h4><ul class=\"health-errors\">");
        for e in &s.errors {
            let _ = write!(
                body,
                "<li><code>{}</code>: {}</li>",
                escape(&e.subject),
                escape(&e.message)
            );
        }
        body.push_str("</ul>");
    }
    body.push_str("</section>");
}

/// Worst first, so a sorted-by-default page shows what to act on.
fn rank(s: Status) -> u8 {
    match s {
        Status::Fail => 0,
        Status::Warn => 1,
        Status::Unknown => 2,
        Status::Ok => 3,
    }
}

fn judgements(body: &mut String, js: &[&JudgementRecord]) {
    let mut js = js.to_vec();
    js.sort_by_key(|j| rank(j.status));
    body.push_str(
        "<table class=\"sortable health-judgements\"><thead><tr>\
<th>Status</th><th>Judgement</th><th>Subject</th><th>Found</th>\
<th>Evidence</th><th>Why, reference</th></tr></thead><tbody>",
    );
    for j in js {
        let mut evidence = String::new();
        for e in &j.evidence {
            let _ = write!(
                evidence,
                "<code>{}</code> {} = <code>{}</code><br>",
                escape(&e.source),
                escape(&e.location),
                escape(&e.seen)
            );
        }
        if let Some(settle) = &j.settle {
            let _ = write!(evidence, "<b>settle with</b>: {}", escape(settle));
        }
        let _ = write!(
            body,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
<td>{}</td><td>{}<br><small>{}</small></td></tr>",
            escape(j.status.word()),
            status_badge(j.status),
            escape(&j.id),
            escape(j.subject.as_deref().unwrap_or("")),
            escape(&j.summary),
            evidence,
            escape(&j.why),
            escape(&j.reference)
        );
    }
    body.push_str("</tbody></table>");
}

fn cves(body: &mut String, s: &HealthRecord) {
    body.push_str("<ul class=\"health-cves\">");
    for (label, state) in [
        ("open (build)", CveVerdict::Vulnerable),
        ("open (configuration)", CveVerdict::VulnerableByConfig),
        ("configuration unknown", CveVerdict::NeedsConfigUnknown),
        ("unknown", CveVerdict::Unknown),
    ] {
        let list: Vec<String> = s
            .cves
            .iter()
            .filter(|c| c.state == state)
            .map(|c| match &c.because {
                Some(b) if state != CveVerdict::Vulnerable => {
                    format!("{} ({b})", c.cve)
                }
                _ => c.cve.clone(),
            })
            .collect();
        if !list.is_empty() {
            let _ = write!(
                body,
                "<li><b>{label}</b> ({}): {}</li>",
                list.len(),
                escape(&list.join(", "))
            );
        }
    }
    let _ = write!(
        body,
        "<li><b>protected</b>: {}</li></ul>",
        s.cves_in(CveVerdict::Protected)
    );
}
