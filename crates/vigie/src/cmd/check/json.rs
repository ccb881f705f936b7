//! `--format json` written as it goes: the document's head, then each
//! result the moment it is judged, then the errors, byte for byte what
//! serde_json's pretty printer would give for the whole document, without
//! ever holding the document.
//!
//! Errors come last in the document but arrive mixed with results, so
//! they wait in a buffer that moves to an anonymous temporary file (in
//! `TMPDIR`, deleted on exit) past [`SPILL_AT`] bytes: an inventory of
//! nothing but bad rows stays flat in memory too.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};

use chrono::NaiveDate;
use serde::Serialize;
use vigie_model::{ItemError, ToolInfo};

use super::Checked;

/// Bytes of pending errors kept in memory before they go to a file.
const SPILL_AT: usize = 1 << 20;

/// The streamed JSON document.
#[derive(Default)]
pub(super) struct JsonDocument {
    results: usize,
    errors: usize,
    pending: Pending,
}

/// Errors written out (pretty, indented) but not yet placed.
#[derive(Default)]
enum Pending {
    #[default]
    Empty,
    Memory(Vec<u8>),
    File(BufWriter<File>),
}

/// The fields before `results`, in the document's order.
#[derive(Serialize)]
struct Head {
    schema_version: u32,
    tool: ToolInfo,
    table_as_of: NaiveDate,
    as_of: NaiveDate,
}

/// `value` pretty-printed as an element of a top-level array: every
/// line indented by four spaces (JSON strings hold no raw newline).
fn element<T: Serialize>(value: &T) -> std::io::Result<Vec<u8>> {
    let text = serde_json::to_vec_pretty(value)?;
    let mut out = Vec::with_capacity(text.len() + text.len() / 8);
    out.extend_from_slice(b"    ");
    for &b in &text {
        out.push(b);
        if b == b'\n' {
            out.extend_from_slice(b"    ");
        }
    }
    Ok(out)
}

impl JsonDocument {
    pub(super) fn start(
        &mut self,
        out: &mut dyn Write,
        table_as_of: NaiveDate,
        as_of: NaiveDate,
    ) -> std::io::Result<()> {
        let head = Head {
            schema_version: vigie_model::SCHEMA_VERSION,
            tool: ToolInfo::current(),
            table_as_of,
            as_of,
        };
        let text = serde_json::to_vec_pretty(&head)?;
        // Drop the closing "\n}" and go on with the arrays.
        out.write_all(&text[..text.len() - 2])?;
        out.write_all(b",\n  \"results\": [")
    }

    pub(super) fn result(
        &mut self,
        out: &mut dyn Write,
        c: &Checked,
    ) -> std::io::Result<()> {
        let sep: &[u8] = if self.results == 0 { b"\n" } else { b",\n" };
        self.results += 1;
        out.write_all(sep)?;
        out.write_all(&element(c)?)
    }

    pub(super) fn error(&mut self, e: &ItemError) -> std::io::Result<()> {
        let sep: &[u8] = if self.errors == 0 { b"\n" } else { b",\n" };
        self.errors += 1;
        let bytes = element(e)?;
        if let Pending::Empty = self.pending {
            self.pending = Pending::Memory(Vec::new());
        }
        if let Pending::Memory(buf) = &mut self.pending
            && buf.len() > SPILL_AT
        {
            let mut file = BufWriter::new(tempfile::tempfile()?);
            file.write_all(buf)?;
            self.pending = Pending::File(file);
        }
        let sink: &mut dyn Write = match &mut self.pending {
            Pending::Memory(buf) => buf,
            Pending::File(file) => file,
            Pending::Empty => unreachable!("set above"),
        };
        sink.write_all(sep)?;
        sink.write_all(&bytes)
    }

    pub(super) fn finish(
        &mut self,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let close: &[u8] = if self.results == 0 { b"]" } else { b"\n  ]" };
        out.write_all(close)?;
        out.write_all(b",\n  \"errors\": [")?;
        match std::mem::take(&mut self.pending) {
            Pending::Empty => {}
            Pending::Memory(buf) => out.write_all(&buf)?,
            Pending::File(file) => {
                let mut file =
                    file.into_inner().map_err(|e| e.into_error())?;
                file.rewind()?;
                std::io::copy(&mut file, out)?;
            }
        }
        let close: &[u8] = if self.errors == 0 { b"]" } else { b"\n  ]" };
        out.write_all(close)?;
        out.write_all(b"\n}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_model::ItemErrorKind;

    /// The document as it was written before streaming: one value.
    #[derive(Serialize)]
    struct Whole<'a> {
        #[serde(flatten)]
        head: Head,
        results: Vec<&'a Checked>,
        errors: Vec<&'a ItemError>,
    }

    /// The streamed document equals the pretty-printed whole, errors
    /// spilled to a file or not.
    #[test]
    fn streamed_document_matches_pretty_printer() {
        let table = vigie_builds::Table::embedded();
        let as_of = NaiveDate::from_ymd_opt(2021, 3, 20).unwrap();
        let checked = Checked {
            server: Some("ex\"1".into()),
            source: "argument".into(),
            assessment: table.assess("15.1.2176.2", as_of).unwrap(),
        };
        let error = ItemError::new("x\ny", ItemErrorKind::Parse, "bad");
        for (results, errors) in [(0, 0), (1, 0), (0, 2), (3, 5000)] {
            let mut doc = JsonDocument::default();
            let mut out = Vec::new();
            doc.start(&mut out, table.as_of(), as_of).unwrap();
            for _ in 0..results {
                doc.result(&mut out, &checked).unwrap();
            }
            for _ in 0..errors {
                doc.error(&error).unwrap();
            }
            doc.finish(&mut out).unwrap();
            let expected = Whole {
                head: Head {
                    schema_version: vigie_model::SCHEMA_VERSION,
                    tool: ToolInfo::current(),
                    table_as_of: table.as_of(),
                    as_of,
                },
                results: vec![&checked; results],
                errors: vec![&error; errors],
            };
            let mut want = serde_json::to_vec_pretty(&expected).unwrap();
            want.push(b'\n');
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }
}
