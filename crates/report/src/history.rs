//! The remediation curve: per scan run, how many Exchange servers were
//! seen and how many still had open CVEs.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use vigie_model::scan::HostResult;

use crate::html::{escape, page_with};

/// One run on the curve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    /// Run id.
    pub run: i64,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// Whether the run finished.
    pub finished: bool,
    /// Exchange servers seen.
    pub exchange: u64,
    /// Of which with open CVEs.
    pub vulnerable: u64,
    /// Of which with no open CVE.
    pub patched: u64,
    /// Where the records came from when not from vigie's own scan
    /// (`import:shadowserver:FILE`); shown after the row.
    pub source: Option<String>,
}

impl Point {
    /// Count the servers of one run.
    pub fn of(
        run: i64,
        started_at: DateTime<Utc>,
        finished: bool,
        hosts: &[HostResult],
    ) -> Point {
        let mut p = Point {
            run,
            started_at,
            finished,
            exchange: 0,
            vulnerable: 0,
            patched: 0,
            source: None,
        };
        for h in hosts {
            match crate::html::host_state(h) {
                "vulnerable" => p.vulnerable += 1,
                "patched" => p.patched += 1,
                "unknown" => {}
                _ => continue,
            }
            p.exchange += 1;
        }
        p
    }
}

/// The curve as a terminal table.
pub fn table(points: &[Point]) -> String {
    let mut out = format!(
        "{:>5}  {:<25} {:>9} {:>10} {:>8}\n",
        "run", "started (UTC)", "exchange", "vulnerable", "patched"
    );
    for p in points {
        let _ = writeln!(
            out,
            "{:>5}  {:<25} {:>9} {:>10} {:>8}{}{}",
            p.run,
            p.started_at.format("%Y-%m-%d %H:%M:%S"),
            p.exchange,
            p.vulnerable,
            p.patched,
            if p.finished { "" } else { "  (unfinished)" },
            p.source.as_deref().map_or(String::new(), |s| format!(
                "  {}",
                vigie_model::terminal_safe(s)
            ))
        );
    }
    out
}

/// The curve as an inline SVG line chart.
pub fn chart(points: &[Point]) -> String {
    let max = points.iter().map(|p| p.exchange).max().unwrap_or(0).max(1);
    let (w, h) = (600u64, 240u64);
    let step = if points.len() > 1 {
        (w - 80) / (points.len() as u64 - 1)
    } else {
        0
    };
    let xy = |i: usize, v: u64| {
        (60 + step * i as u64, 20 + (h - 60) * (max - v) / max)
    };
    let line = |f: &dyn Fn(&Point) -> u64| -> String {
        points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (x, y) = xy(i, f(p));
                format!("{x},{y}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut svg = format!(
        "<figure class=\"chart\"><figcaption>Remediation curve</figcaption>\
<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
role=\"img\"><text x=\"0\" y=\"25\">{max}</text>\
<text x=\"0\" y=\"{}\">0</text>\
<polyline class=\"exchange\" fill=\"none\" stroke=\"#888\" \
stroke-width=\"2\" points=\"{}\"></polyline>\
<polyline class=\"vulnerable\" fill=\"none\" stroke=\"#c22\" \
stroke-width=\"3\" points=\"{}\"></polyline>",
        h - 35,
        line(&|p| p.exchange),
        line(&|p| p.vulnerable)
    );
    for (i, p) in points.iter().enumerate() {
        let (x, y) = xy(i, p.vulnerable);
        let _ = write!(
            svg,
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"4\" fill=\"#c22\"></circle>\
<text x=\"{}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\">{}</text>",
            x + 5,
            y.saturating_sub(6),
            p.vulnerable,
            x.saturating_sub(20),
            h - 10,
            p.started_at.format("%m-%d")
        );
    }
    svg.push_str(
        "<text x=\"420\" y=\"15\" fill=\"#c22\">vulnerable</text>\
<text x=\"500\" y=\"15\" fill=\"#888\">all Exchange</text></svg></figure>",
    );
    svg
}

/// The curve as a page: chart, then the table.
pub fn render(points: &[Point]) -> String {
    let mut body = String::from("<h1>vigie history</h1>");
    body.push_str(&chart(points));
    body.push_str(
        "<table id=\"history\" class=\"sortable\"><thead><tr><th>Run</th>\
<th>Started</th><th>Exchange</th><th>Vulnerable</th><th>Patched</th>\
</tr></thead><tbody>",
    );
    for p in points {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.run,
            escape(&p.started_at.to_rfc3339()),
            p.exchange,
            p.vulnerable,
            p.patched
        );
    }
    body.push_str("</tbody></table>");
    page_with("vigie history", &body)
}
