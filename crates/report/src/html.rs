//! Self-contained HTML pages for one hunt or a set of scanned hosts.
//!
//! Pages carry their CSS, a small sorting/filtering script and SVG charts
//! inline so they open offline. The script reads only the DOM (never
//! data embedded in script text), so escaping HTML is the one defence
//! needed and it is applied to every value.

use std::collections::BTreeMap;
use std::fmt::Write;

use vigie_model::health::HealthRecord;
use vigie_model::hunt::HuntReport;
use vigie_model::scan::{HostResult, HostStatus};

mod health;

/// Escape text for HTML element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // control characters have no business in a report
            c if c.is_control() && c != '\n' && c != '\t' => {
                out.push('\u{fffd}')
            }
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;\
color:#222}table{border-collapse:collapse;margin:1em 0}\
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;\
vertical-align:top}th{background:#eee;cursor:pointer}\
.v{display:inline-block;padding:2px 8px;border-radius:4px;\
font-weight:bold;color:#fff}.clean,.patched{background:#2a7}\
.inconclusive,.unknown,.not_exchange,.closed,.error{background:#888}.suspicious{background:#a80}.probed{background:#c90}\
.attempted{background:#d60}.exploited,.vulnerable{background:#c22}\
.compromised{background:#700}.ok{background:#2a7}.warn{background:#c90}.fail{background:#c22}tr.fail td:first-child{border-left:4px solid #c22}code{word-break:break-all}\
svg text{font-size:12px}";

const SCRIPT: &str = "document.querySelectorAll('table.sortable th')\
.forEach(function(th,i){th.addEventListener('click',function(){\
var tb=th.closest('table').tBodies[0];var rows=Array.from(tb.rows);\
var asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';\
rows.sort(function(a,b){var x=a.cells[i].dataset.sort||a.cells[i].textContent,\
y=b.cells[i].dataset.sort||b.cells[i].textContent;return asc?x.localeCompare(y,undefined,\
{numeric:true}):y.localeCompare(x,undefined,{numeric:true});});\
rows.forEach(function(r){tb.appendChild(r);});});});\
document.querySelectorAll('input.filter').forEach(function(f){\
f.addEventListener('input',function(){var q=f.value.toLowerCase();\
var t=f.nextElementSibling;t.querySelectorAll('tbody tr')\
.forEach(function(r){r.style.display=r.textContent.toLowerCase()\
.indexOf(q)>=0?'':'none';});});});\
document.body.dataset.ready='1';";

/// Wrap a body into a full self-contained page.
pub fn page_with(title: &str, body: &str) -> String {
    page(title, body)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src \
'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
img-src data:\">\
<title>{}</title><style>{STYLE}</style></head><body>\n{body}\n\
<script>{SCRIPT}</script></body></html>\n",
        escape(title)
    )
}

fn badge(class: &str, text: &str) -> String {
    format!("<span class=\"v {}\">{}</span>", escape(class), escape(text))
}

/// One bar of a horizontal bar chart.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Label shown left of the bar.
    pub label: String,
    /// Value (bar length).
    pub value: u64,
}

/// A horizontal bar chart as inline SVG.
pub fn bar_chart(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let height = 24 * bars.len() + 30;
    let mut svg = format!(
        "<figure class=\"chart\"><figcaption>{}</figcaption>\
<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"620\" \
height=\"{height}\" role=\"img\">",
        escape(title)
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = 10 + 24 * i;
        let width = bar.value * 360 / max;
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\">{}</text><rect class=\"bar\" \
x=\"220\" y=\"{y}\" width=\"{width}\" height=\"18\" \
fill=\"#4a7fc1\"></rect><text x=\"{}\" y=\"{}\">{}</text>",
            y + 14,
            escape(&shorten(&bar.label, 32)),
            226 + width,
            y + 14,
            bar.value
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// A hunt report as one HTML page: verdict first, then per-family
/// verdicts, findings with evidence, coverage and a timeline.
pub fn render_hunt(report: &HuntReport) -> String {
    let body = hunt_body(report, "h1");
    page(&format!("vigie hunt: {}", report.host), &body)
}

fn hunt_body(report: &HuntReport, h: &str) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<{h}>vigie hunt: {}</{h}><p id=\"verdict\">Verdict: {}</p>\
<p>Started {} · tool {} {} · inputs: {}</p>",
        escape(&report.host),
        badge(report.verdict.as_str(), report.verdict.as_str()),
        report.started_at.to_rfc3339(),
        escape(&report.tool.name),
        escape(&report.tool.version),
        escape(&report.inputs.join(", "))
    );
    hunt_families(&mut body, report);
    hunt_findings(&mut body, report);
    hunt_coverage(&mut body, report);
    hunt_timeline(&mut body, report);
    hunt_errors(&mut body, report);
    body
}

fn hunt_families(body: &mut String, report: &HuntReport) {
    body.push_str(
        "<h2>Per family</h2><table id=\"families\"><thead><tr>\
<th>Family</th><th>Verdict</th><th>Why</th><th>Findings</th></tr>\
</thead><tbody>",
    );
    for fam in &report.families {
        let ids: Vec<String> =
            fam.findings.iter().map(|i| format!("#{}", i + 1)).collect();
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(fam.family.label()),
            badge(fam.verdict.as_str(), fam.verdict.as_str()),
            escape(&fam.reason),
            escape(&ids.join(" "))
        );
    }
    body.push_str("</tbody></table>");
}

fn hunt_findings(body: &mut String, report: &HuntReport) {
    let _ = write!(
        body,
        "<h2>Findings ({})</h2><input class=\"filter\" \
placeholder=\"filter\"><table id=\"findings\" class=\"sortable \
filterable\"><thead><tr><th>#</th><th>Time (UTC)</th><th>Grade</th>\
<th>Family</th><th>Rule</th><th>Title</th><th>Source</th>\
<th>Evidence</th></tr></thead><tbody>",
        report.findings.len()
    );
    for (i, f) in report.findings.iter().enumerate() {
        let grade = format!("{:?}", f.grade).to_lowercase();
        let time = f.timestamp.map(|t| t.to_rfc3339()).unwrap_or_default();
        let source = match f.source.line {
            Some(line) => format!("{}:{line}", f.source.path),
            None => f.source.path.clone(),
        };
        let mut evidence = escape(&f.summary);
        for (k, v) in &f.details {
            let _ = write!(
                evidence,
                "<br><b>{}</b>: <code>{}</code>",
                escape(k),
                escape(v)
            );
        }
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
<td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            i + 1,
            escape(&time),
            escape(&grade),
            escape(f.family.label()),
            escape(&f.rule_id),
            escape(&f.title),
            escape(&source),
            evidence
        );
    }
    body.push_str("</tbody></table>");
}

fn hunt_coverage(body: &mut String, report: &HuntReport) {
    body.push_str(
        "<h2>Coverage</h2><table id=\"coverage\"><thead><tr>\
<th>Source</th><th>Files</th><th>Records</th><th>First</th>\
<th>Last</th><th>Days</th><th>Gaps</th><th>Implausible times</th>\
<th>Covers window</th></tr></thead><tbody>",
    );
    for c in &report.coverage {
        let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into())
        };
        let gaps: Vec<String> = c
            .gaps
            .iter()
            .map(|g| format!("{}..{} ({} d)", g.from, g.to, g.days))
            .collect();
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&format!("{:?}", c.source)),
            c.files,
            c.records,
            when(c.first),
            when(c.last),
            c.days,
            escape(&gaps.join(", ")),
            c.implausible,
            if c.covers_window { "yes" } else { "NO" }
        );
    }
    body.push_str("</tbody></table>");
}

fn hunt_timeline(body: &mut String, report: &HuntReport) {
    let mut dated: Vec<(usize, &vigie_model::Finding)> = report
        .findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.timestamp.is_some())
        .collect();
    dated.sort_by_key(|(_, f)| f.timestamp);
    body.push_str("<h2>Timeline</h2><ol id=\"timeline\">");
    for (i, f) in dated {
        let _ = write!(
            body,
            "<li>{} — #{} {}: {}</li>",
            f.timestamp.map(|t| t.to_rfc3339()).unwrap_or_default(),
            i + 1,
            escape(&f.title),
            escape(&f.summary)
        );
    }
    body.push_str("</ol>");
}

fn hunt_errors(body: &mut String, report: &HuntReport) {
    if report.errors.is_empty() {
        return;
    }
    body.push_str("<h2>Errors</h2><ul id=\"errors\">");
    for e in &report.errors {
        let text = serde_json::to_string(e).unwrap_or_default();
        let _ = write!(body, "<li><code>{}</code></li>", escape(&text));
    }
    body.push_str("</ul>");
}

/// How a scanned host is judged, as one word for tables and charts.
pub fn host_state(host: &HostResult) -> &'static str {
    host.state()
}

fn count<'a>(items: impl Iterator<Item = &'a str>) -> Vec<Bar> {
    let mut map: BTreeMap<&str, u64> = BTreeMap::new();
    for item in items {
        *map.entry(item).or_default() += 1;
    }
    let mut bars: Vec<Bar> = map
        .into_iter()
        .map(|(label, value)| Bar { label: label.to_string(), value })
        .collect();
    bars.sort_by_key(|b| std::cmp::Reverse(b.value));
    bars
}

/// Scanned hosts as one HTML page: verdict counts, charts, a sortable
/// and filterable host table, and per-host evidence.
pub fn render_scan(hosts: &[HostResult]) -> String {
    render_report(hosts, &[])
}

/// Scanned hosts and hunts in one page: hunt verdicts first, then the
/// scan part, then each hunt in full.
pub fn render_report(hosts: &[HostResult], hunts: &[HuntReport]) -> String {
    render_all(hosts, hunts, &[])
}

/// Scanned hosts, hunts and server health in one page: hunt verdicts
/// first, then server health (one table for every server judged, then
/// each server's judgements), then the scan part, then each hunt in full.
pub fn render_all(
    hosts: &[HostResult],
    hunts: &[HuntReport],
    health: &[HealthRecord],
) -> String {
    let mut body = String::from("<h1>vigie report</h1>");
    if !hunts.is_empty() {
        hunt_summary(&mut body, hunts);
    }
    if !health.is_empty() {
        health::section(&mut body, health);
    }
    if !hosts.is_empty() || (hunts.is_empty() && health.is_empty()) {
        body.push_str(&scan_body(hosts));
    }
    for (i, r) in hunts.iter().enumerate() {
        let _ = write!(body, "<section id=\"hunt{i}\">");
        body.push_str(&hunt_body(r, "h2"));
        body.push_str("</section>");
    }
    page("vigie report", &body)
}

fn hunt_summary(body: &mut String, hunts: &[HuntReport]) {
    let mut verdicts: Vec<&str> =
        hunts.iter().map(|r| r.verdict.as_str()).collect();
    verdicts.sort();
    body.push_str(&bar_chart("Hunt verdicts", &count(verdicts.into_iter())));
    let days: Vec<String> = hunts
        .iter()
        .flat_map(|r| r.findings.iter())
        .filter_map(|f| f.timestamp)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .collect();
    if !days.is_empty() {
        let mut bars = count(days.iter().map(String::as_str));
        bars.sort_by(|a, b| a.label.cmp(&b.label));
        body.push_str(&bar_chart("Findings per day (UTC)", &bars));
    }
    body.push_str(
        "<h2>Hunted servers</h2><table id=\"hunts\" class=\"sortable\">\
<thead><tr><th>Server</th><th>Verdict</th><th>Findings</th>\
<th>Started</th></tr></thead><tbody>",
    );
    for (i, r) in hunts.iter().enumerate() {
        let _ = write!(
            body,
            "<tr><td><a href=\"#hunt{i}\">{}</a></td><td>{}</td>\
<td>{}</td><td>{}</td></tr>",
            escape(&r.host),
            badge(r.verdict.as_str(), r.verdict.as_str()),
            r.findings.len(),
            r.started_at.to_rfc3339()
        );
    }
    body.push_str("</tbody></table>");
}

fn scan_body(hosts: &[HostResult]) -> String {
    let exchange: Vec<&HostResult> =
        hosts.iter().filter(|h| h.status == HostStatus::Exchange).collect();
    let vulnerable =
        exchange.iter().filter(|h| host_state(h) == "vulnerable").count();
    let mut body = format!(
        "<h2>Scanned hosts</h2><p id=\"verdict\">{} \
of {} Exchange servers have open CVEs ({} hosts scanned).</p>",
        badge(
            if vulnerable > 0 { "vulnerable" } else { "patched" },
            &vulnerable.to_string()
        ),
        exchange.len(),
        hosts.len()
    );
    scan_charts(&mut body, hosts, &exchange);
    scan_table(&mut body, hosts);
    scan_evidence(&mut body, hosts);
    body
}

fn scan_charts(body: &mut String, hosts: &[HostResult], ex: &[&HostResult]) {
    body.push_str(&bar_chart(
        "Hosts by state",
        &count(hosts.iter().map(host_state)),
    ));
    let cu = |h: &&HostResult| -> String {
        let a = h.assessment.as_ref();
        let product = h.product.clone().unwrap_or_else(|| "?".into());
        let cu = a.and_then(|a| a.cu.clone()).unwrap_or_default();
        let su = a.and_then(|a| a.su.clone()).unwrap_or_default();
        format!("{product} {cu} {su}").trim().to_string()
    };
    let labels: Vec<String> = ex.iter().map(cu).collect();
    body.push_str(&bar_chart(
        "Exchange servers by product / CU / SU",
        &count(labels.iter().map(String::as_str)),
    ));
    let families: Vec<&str> = ex
        .iter()
        .filter_map(|h| h.assessment.as_ref())
        .flat_map(|a| a.open_cves().map(|c| c.family.as_str()))
        .collect();
    body.push_str(&bar_chart(
        "Open CVE families (CVE × server)",
        &count(families.into_iter()),
    ));
}

/// Most urgent first: vulnerable to known-exploited CVEs, vulnerable,
/// Exchange of unknown build, patched, errors, not Exchange, closed; then
/// more known-exploited and more open CVEs first.
pub fn severity_order(
    h: &HostResult,
) -> (u8, std::cmp::Reverse<usize>, std::cmp::Reverse<usize>) {
    let (mut open, mut kev) = (0, 0);
    for c in h.assessment.iter().flat_map(|a| a.open_cves()) {
        open += 1;
        kev += usize::from(c.known_exploited);
    }
    let rank = match h.state() {
        "vulnerable" if kev > 0 => 0,
        "vulnerable" => 1,
        "unknown" => 2,
        "patched" => 3,
        "error" => 4,
        "not_exchange" => 5,
        _ => 6,
    };
    (rank, std::cmp::Reverse(kev), std::cmp::Reverse(open))
}

fn scan_table(body: &mut String, hosts: &[HostResult]) {
    body.push_str(
        "<h2>Hosts</h2><input class=\"filter\" placeholder=\"filter\">\
<table id=\"hosts\" class=\"sortable filterable\"><thead><tr>\
<th>Host</th><th>State</th><th>Product</th><th>Build</th><th>CU</th>\
<th>SU</th><th>Open CVEs</th><th>Next step</th><th>Scanned</th>\
</tr></thead><tbody>",
    );
    // Sorted by severity; each row keeps its link to its evidence block.
    // Each host's order is worked out once, its rank kept for the cell.
    let mut order: Vec<_> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (severity_order(h), i, h))
        .collect();
    order.sort_by_key(|(key, i, _)| (*key, *i));
    for (key, i, h) in order {
        let a = h.assessment.as_ref();
        let rank = key.0;
        let mut families: Vec<&str> = a
            .map(|a| a.open_cves().map(|c| c.family.as_str()).collect())
            .unwrap_or_default();
        let open = families.len();
        families.sort();
        families.dedup();
        let cves = if open == 0 {
            String::new()
        } else {
            format!("{open}: {}", families.join(", "))
        };
        let step = a
            .and_then(|a| a.upgrade_path.first())
            .map(vigie_model::build::UpgradeStep::text)
            .unwrap_or_default();
        let state = host_state(h);
        let _ = write!(
            body,
            "<tr><td><a href=\"#h{i}\">{}</a></td><td data-sort=\"{rank}\">{}</td><td>{}</td>\
<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&format!("{}:{}", h.target, h.port)),
            badge(state, state),
            escape(h.product.as_deref().unwrap_or("")),
            escape(h.build.as_deref().unwrap_or("")),
            escape(a.and_then(|a| a.cu.as_deref()).unwrap_or("")),
            escape(a.and_then(|a| a.su.as_deref()).unwrap_or("")),
            escape(&cves),
            escape(&step),
            h.scanned_at.format("%Y-%m-%d %H:%M")
        );
    }
    body.push_str("</tbody></table>");
}

fn scan_evidence(body: &mut String, hosts: &[HostResult]) {
    body.push_str("<h2>Evidence per host</h2>");
    for (i, h) in hosts.iter().enumerate() {
        let _ = write!(
            body,
            "<details id=\"h{i}\"><summary>{} ({} {})</summary><ul>",
            escape(&format!("{}:{} {}", h.target, h.port, h.ip)),
            escape(&h.scheme),
            escape(host_state(h))
        );
        for e in &h.evidence {
            let _ = write!(
                body,
                "<li><code>{}</code> {}: <code>{}</code></li>",
                escape(&e.request),
                escape(&e.signal),
                escape(&e.value)
            );
        }
        if let Some(a) = &h.assessment {
            let cves: Vec<&str> =
                a.open_cves().map(|c| c.cve.as_str()).collect();
            if !cves.is_empty() {
                let _ = write!(
                    body,
                    "<li>open CVEs: {}</li>",
                    escape(&cves.join(" "))
                );
            }
        }
        if let Some(err) = &h.error {
            let _ = write!(body, "<li>error: {}</li>", escape(err));
        }
        if let Some(a) = &h.assessment {
            for step in &a.upgrade_path {
                let _ = write!(
                    body,
                    "<li>next: {} {} ({})</li>",
                    escape(&step.action),
                    escape(&step.name),
                    escape(&step.build)
                );
            }
        }
        body.push_str("</ul></details>");
    }
}

#[cfg(test)]
mod tests;
