//! Output formats of a scan: the engine writes JSON lines, and
//! [`OutputWriter`] turns each line into the chosen format as it comes,
//! so no format holds the whole result set.
//!
//! `jsonl` passes through untouched; `json` is one document whose
//! `results` array is written host by host; `csv` is one row per host
//! (cells neutralised against formula injection); `table` is aligned text
//! for people (server text stripped of control characters).

use std::io::{self, Write};

use vigie_model::scan::HostResult;
use vigie_model::{ToolInfo, csv_safe, terminal_safe};

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One `HostResult` JSON object per line (resumable, appendable).
    Jsonl,
    /// One JSON document: tool info and a `results` array.
    Json,
    /// One CSV row per host:port.
    Csv,
    /// Aligned columns for a terminal.
    Table,
}

/// CSV columns, in order.
pub const CSV_HEADER: &[&str] = &[
    "target",
    "ip",
    "port",
    "scheme",
    "status",
    "state",
    "product",
    "build",
    "precision",
    "cu",
    "su",
    "open_cves",
    "open_families",
    "ssrf_check",
    "fe_server",
    "scanned_at",
    "error",
];

/// A writer taking the engine's JSON lines and writing `format`.
pub struct OutputWriter<W: Write> {
    inner: W,
    format: Format,
    /// Whether the active probe ran (the table shows its column).
    active: bool,
    line: Vec<u8>,
    written: u64,
    started: bool,
}

impl<W: Write> OutputWriter<W> {
    /// Wrap `inner`; `active` says whether `--ssrf-check` is on.
    pub fn new(inner: W, format: Format, active: bool) -> Self {
        OutputWriter {
            inner,
            format,
            active,
            line: Vec::new(),
            written: 0,
            started: false,
        }
    }

    /// Write what closes the document (the JSON array's end; the table
    /// or CSV header when there was no result) and hand back the inner
    /// writer, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.start()?;
        if self.format == Format::Json {
            let nl = if self.written > 0 { "\n" } else { "" };
            write!(self.inner, "{nl}  ]\n}}\n")?;
        }
        self.inner.flush()?;
        Ok(self.inner)
    }

    /// The header, once, before the first row (or at the end).
    fn start(&mut self) -> io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        match self.format {
            Format::Jsonl => Ok(()),
            Format::Json => {
                let tool = serde_json::to_string(&ToolInfo::current())?;
                write!(
                    self.inner,
                    "{{\n  \"schema_version\": {},\n  \"tool\": {tool},\n  \
                     \"results\": [",
                    vigie_model::SCHEMA_VERSION
                )
            }
            Format::Csv => {
                writeln!(self.inner, "{}", CSV_HEADER.join(","))
            }
            Format::Table => table_header(&mut self.inner, self.active),
        }
    }

    fn row(&mut self) -> io::Result<()> {
        let Ok(r) = serde_json::from_slice::<HostResult>(&self.line) else {
            // The engine only writes HostResults; anything else is
            // not a host and has no row.
            return Ok(());
        };
        self.start()?;
        match self.format {
            Format::Jsonl => {}
            Format::Json => {
                let sep = if self.written > 0 { "," } else { "" };
                let text = serde_json::to_string_pretty(&r)?;
                write!(self.inner, "{sep}\n    ")?;
                self.inner
                    .write_all(text.replace('\n', "\n    ").as_bytes())?;
            }
            Format::Csv => csv_row(&mut self.inner, &r)?,
            Format::Table => table_row(&mut self.inner, &r, self.active)?,
        }
        self.written += 1;
        Ok(())
    }
}

impl<W: Write> Write for OutputWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.format == Format::Jsonl {
            return self.inner.write(buf);
        }
        for &b in buf {
            if b == b'\n' {
                self.row()?;
                self.line.clear();
            } else {
                self.line.push(b);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Families with an open CVE, sorted, without repeats.
pub fn open_families(r: &HostResult) -> Vec<String> {
    let mut f: Vec<String> = r
        .assessment
        .iter()
        .flat_map(|a| a.open_cves().map(|c| c.family.clone()))
        .collect();
    f.sort();
    f.dedup();
    f
}

fn csv_row(out: &mut dyn Write, r: &HostResult) -> io::Result<()> {
    let a = r.assessment.as_ref();
    let open: Vec<&str> =
        a.iter().flat_map(|a| a.open_cves().map(|c| c.cve.as_str())).collect();
    let cells = [
        r.target.clone(),
        r.ip.clone(),
        r.port.to_string(),
        r.scheme.clone(),
        enum_word(&r.status),
        r.state().to_string(),
        r.product.clone().unwrap_or_default(),
        r.build.clone().unwrap_or_default(),
        r.precision.map(|p| enum_word(&p)).unwrap_or_default(),
        a.and_then(|a| a.cu.clone()).unwrap_or_default(),
        a.and_then(|a| a.su.clone()).unwrap_or_default(),
        open.join(" "),
        open_families(r).join(" "),
        r.ssrf_check.map(|s| enum_word(&s)).unwrap_or_default(),
        r.identity.fe_server.clone().unwrap_or_default(),
        r.scanned_at.to_rfc3339(),
        r.error.clone().unwrap_or_default(),
    ];
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(cells.iter().map(|c| csv_safe(c)))
        .map_err(io::Error::other)?;
    let bytes = w.into_inner().map_err(|e| io::Error::other(e.to_string()))?;
    out.write_all(&bytes)
}

/// The serde name of a unit enum value (`cu_only`, `not_exchange`).
fn enum_word<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn table_header(out: &mut dyn Write, active: bool) -> io::Result<()> {
    let probe = if active {
        format!("{:<15} ", "ACTIVE PROBE")
    } else {
        String::new()
    };
    writeln!(
        out,
        "{:<22} {:>5}  {:<12} {:<21} {:<13} {:<9} {probe}OPEN CVE FAMILIES / NOTE",
        "TARGET", "PORT", "STATE", "PRODUCT", "BUILD", "PRECISION"
    )
}

fn table_row(
    out: &mut dyn Write,
    r: &HostResult,
    active: bool,
) -> io::Result<()> {
    let dash = |s: Option<String>| s.unwrap_or_else(|| "-".to_string());
    let probe = if active {
        format!("{:<15} ", dash(r.ssrf_check.map(|s| enum_word(&s))))
    } else {
        String::new()
    };
    let families = open_families(r);
    let note = match (&r.error, families.is_empty()) {
        (Some(e), true) => short(e, 60),
        _ => families.join(", "),
    };
    let line = format!(
        "{:<22} {:>5}  {:<12} {:<21} {:<13} {:<9} {probe}{}",
        terminal_safe(&r.target),
        r.port,
        r.state(),
        terminal_safe(&dash(r.product.clone())),
        terminal_safe(&dash(r.build.clone())),
        dash(r.precision.map(|p| enum_word(&p))),
        terminal_safe(&note),
    );
    writeln!(out, "{}", line.trim_end())
}

/// At most `max` characters, with an ellipsis when cut.
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(status: &str, error: Option<&str>) -> String {
        let mut v = serde_json::json!({
            "record": "scan", "schema_version": 1,
            "target": "=cmd|' /C calc'!A0", "ip": "127.0.0.1", "port": 443,
            "scheme": "https", "scanned_at": "2021-03-10T08:00:00Z",
            "status": status, "product": null, "build": null,
            "precision": null, "assessment": null, "ssrf_check": null,
            "identity": {"fe_server": null, "be_server": null,
                "cert_subject": null, "cert_sans": [], "cert_sha256": null},
            "tls": null, "evidence": [], "error": null, "elapsed_ms": 3
        });
        v["error"] = error.into();
        format!("{v}\n")
    }

    fn render(format: Format, lines: &[String]) -> String {
        let mut w = OutputWriter::new(Vec::new(), format, false);
        for l in lines {
            // Split writes across lines, as a buffered engine may.
            let (a, b) = l.as_bytes().split_at(l.len() / 2);
            w.write_all(a).unwrap();
            w.write_all(b).unwrap();
        }
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    #[test]
    fn json_is_one_valid_document_even_when_empty() {
        for n in [0, 1, 3] {
            let lines = vec![result("closed", None); n];
            let text = render(Format::Json, &lines);
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["results"].as_array().unwrap().len(), n);
        }
    }

    /// Guards against formula injection from a target name.
    #[test]
    fn csv_neutralises_formulas_and_has_a_header() {
        let text = render(Format::Csv, &[result("closed", None)]);
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), CSV_HEADER.join(","));
        assert!(lines.next().unwrap().starts_with("'=cmd"), "{text}");
    }

    #[test]
    fn table_strips_control_characters_from_errors() {
        let text =
            render(Format::Table, &[result("error", Some("bad\x1b[31m"))]);
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.contains("error"));
    }

    #[test]
    fn jsonl_passes_through() {
        let line = result("closed", None);
        assert_eq!(render(Format::Jsonl, std::slice::from_ref(&line)), line);
    }
}
