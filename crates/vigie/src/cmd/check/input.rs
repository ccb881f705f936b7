//! Reading `vigie check`'s inputs as streams: each build, inventory row
//! or error goes to the sink as soon as it is judged, so memory does not
//! grow with the size of an inventory (a 10-million-row file is read in
//! a few hundred kilobytes).
//!
//! An argument is a file when something exists at that path (regular
//! file, FIFO, `/dev/stdin`), an I/O error when it looks like a path but
//! cannot be opened, and a build string otherwise.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use chrono::NaiveDate;
use vigie_builds::Table;
use vigie_builds::inventory::{
    ByteLines, RowError, RowErrorKind, Shape, rows, sniff,
};
use vigie_model::{ItemError, ItemErrorKind};

use super::{Checked, Item};

/// Where items go as they are read.
pub(super) type Emit<'a> = dyn FnMut(Item) -> anyhow::Result<()> + 'a;

/// The build table and date every item is judged against.
#[derive(Clone, Copy)]
pub(super) struct Judge<'t> {
    pub table: &'t Table,
    pub as_of: NaiveDate,
}

/// Largest PE file read whole: ExSetup.exe is about 50 MB.
const MAX_PE: u64 = 1 << 30;

/// Longest piece of an input quoted in an error: a 10 MB garbage line
/// must not come back whole in the report.
const MAX_ECHO: usize = 200;

/// Read buffer for files and stdin.
const BUFFER: usize = 64 * 1024;

/// `text` cut to [`MAX_ECHO`] characters, with `…` when cut.
pub(super) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHO) {
        None => text.to_string(),
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], text.len()),
    }
}

/// Turn one command-line input into judged items, passed to `emit`.
pub(super) fn expand(
    input: &str,
    judge: Judge<'_>,
    emit: &mut Emit<'_>,
) -> anyhow::Result<()> {
    if input == "-" {
        let stdin = std::io::stdin();
        let reader = BufReader::with_capacity(BUFFER, stdin.lock());
        return read_stream("stdin", reader, judge, emit);
    }
    let path = Path::new(input);
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => emit(Item::Error(ItemError::new(
            input,
            ItemErrorKind::Io,
            "is a directory, not ExSetup.exe, an inventory or a build list",
        ))),
        Ok(_) => match std::fs::File::open(path) {
            Ok(file) => {
                let reader = BufReader::with_capacity(BUFFER, file);
                read_stream(input, reader, judge, emit)
            }
            Err(e) => emit(io_error(input, &e)),
        },
        Err(e) if looks_like_path(input) => emit(io_error(input, &e)),
        Err(_) => emit(one_build(None, "argument", input, judge)),
    }
}

/// Build strings never hold a path separator or a file extension, so
/// such an argument that does not exist is a missing file, not garbage.
fn looks_like_path(input: &str) -> bool {
    const EXTS: [&str; 7] =
        [".exe", ".dll", ".csv", ".json", ".jsonl", ".txt", ".log"];
    input.contains(['/', '\\']) || {
        let lower = input.to_ascii_lowercase();
        EXTS.iter().any(|e| lower.ends_with(e))
    }
}

fn io_error(subject: &str, e: &std::io::Error) -> Item {
    Item::Error(ItemError::new(
        excerpt(subject),
        ItemErrorKind::Io,
        e.to_string(),
    ))
}

fn read_stream<R: BufRead>(
    subject: &str,
    mut reader: R,
    judge: Judge<'_>,
    emit: &mut Emit<'_>,
) -> anyhow::Result<()> {
    let head = match reader.fill_buf() {
        Ok(head) => head,
        Err(e) => return emit(io_error(subject, &e)),
    };
    if head.starts_with(b"MZ") || is_exe_name(subject) {
        return emit(read_pe(subject, reader, judge));
    }
    let (shape, text) = match sniff(reader) {
        Ok(v) => v,
        Err(e) => return emit(io_error(subject, &e)),
    };
    match shape {
        Shape::Binary => emit(Item::Error(ItemError::new(
            subject,
            ItemErrorKind::Parse,
            "neither a PE file (ExSetup.exe) nor a text list of builds",
        ))),
        Shape::List if !is_inventory_name(subject) => {
            from_list(subject, text, judge, emit)
        }
        _ => from_inventory(subject, shape, text, judge, emit),
    }
}

fn read_pe<R: Read>(subject: &str, reader: R, judge: Judge<'_>) -> Item {
    let mut bytes = Vec::new();
    if let Err(e) = reader.take(MAX_PE + 1).read_to_end(&mut bytes) {
        return io_error(subject, &e);
    }
    if bytes.len() as u64 > MAX_PE {
        return Item::Error(ItemError::new(
            subject,
            ItemErrorKind::Limit,
            format!(
                "file is over {MAX_PE} bytes; ExSetup.exe is far below \
                 that"
            ),
        ));
    }
    from_pe(subject, &bytes, judge)
}

fn is_exe_name(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".exe") || lower.ends_with(".dll")
}

/// `.csv` and `.json` files are inventories even when their header is
/// wrong, so the error says which columns are missing.
fn is_inventory_name(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".csv", ".json", ".jsonl"].iter().any(|e| lower.ends_with(e))
}

pub(super) fn one_build(
    server: Option<&str>,
    source: &str,
    build: &str,
    judge: Judge<'_>,
) -> Item {
    match judge.table.assess(build, judge.as_of) {
        Ok(assessment) => Item::Checked(Box::new(Checked {
            server: server.map(str::to_string),
            source: source.to_string(),
            assessment,
        })),
        Err(e) => {
            let build = excerpt(build);
            let subject = match server {
                Some(s) => format!("{source} ({}): {build}", excerpt(s)),
                None if source == "argument" => build,
                None => format!("{source}: {build}"),
            };
            Item::Error(ItemError::new(
                subject,
                ItemErrorKind::Parse,
                excerpt(&e.to_string()),
            ))
        }
    }
}

fn from_pe(path: &str, bytes: &[u8], judge: Judge<'_>) -> Item {
    match vigie_builds::pe::exe_build(bytes) {
        Ok(parsed) => Item::Checked(Box::new(Checked {
            server: None,
            source: format!("ExSetup file version: {path}"),
            assessment: judge.table.assess_parsed(path, &parsed, judge.as_of),
        })),
        Err(e) => {
            let kind = if e.to_string().contains("truncated") {
                ItemErrorKind::Truncated
            } else {
                ItemErrorKind::Parse
            };
            Item::Error(ItemError::new(path, kind, e.to_string()))
        }
    }
}

/// One build per line, `#` comments and blank lines skipped.
fn from_list<R: BufRead>(
    source: &str,
    text: R,
    judge: Judge<'_>,
    emit: &mut Emit<'_>,
) -> anyhow::Result<()> {
    for line in ByteLines::new(text) {
        let line = match line {
            Ok(line) => line,
            Err(e) => return emit(io_error(source, &e)),
        };
        let at = format!("{source}:{}", line.number);
        let problem = |kind, message: String| {
            Item::Error(ItemError::new(at.clone(), kind, message))
        };
        if line.too_long {
            let m = format!(
                "line longer than {} bytes, skipped",
                vigie_builds::inventory::MAX_ROW
            );
            emit(problem(ItemErrorKind::Limit, m))?;
            continue;
        }
        let Ok(text) = std::str::from_utf8(&line.bytes) else {
            let m = "not valid UTF-8 text (nor UTF-16 with a BOM)";
            emit(problem(ItemErrorKind::Parse, m.to_string()))?;
            continue;
        };
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        emit(one_build(None, &at, text, judge))?;
    }
    Ok(())
}

fn from_inventory<R: BufRead>(
    source: &str,
    shape: Shape,
    text: R,
    judge: Judge<'_>,
    emit: &mut Emit<'_>,
) -> anyhow::Result<()> {
    let rows = match rows(shape, text) {
        Ok(rows) => rows,
        Err(e) => {
            let err =
                ItemError::new(source, ItemErrorKind::Parse, e.to_string());
            return emit(Item::Error(err));
        }
    };
    for row in rows {
        let item = match row {
            Ok(r) => {
                let at = format!("{source}:{}", r.line);
                one_build(Some(&r.server), &at, &r.build, judge)
            }
            Err(e) => row_error(source, e),
        };
        emit(item)?;
    }
    Ok(())
}

fn row_error(source: &str, e: RowError) -> Item {
    let kind = match e.kind {
        RowErrorKind::Invalid => ItemErrorKind::Parse,
        RowErrorKind::TooLong => ItemErrorKind::Limit,
        RowErrorKind::Io => ItemErrorKind::Io,
    };
    Item::Error(ItemError::new(
        format!("{source}:{}", e.line),
        kind,
        excerpt(&e.message),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_caps_long_text() {
        assert_eq!(excerpt("15.1"), "15.1");
        let long = "é".repeat(1000);
        let cut = excerpt(&long);
        assert!(cut.starts_with(&"é".repeat(MAX_ECHO)));
        assert!(cut.ends_with("… (2000 bytes)"));
    }
}
