//! Memory dumps: LSASS dumps by content, not only by name.
//!
//! Test-ProxyLogon looks for `lsass.*dmp` in two folders; attackers name
//! dumps anything (`.zip`, `.gif`, `x.tmp`). Every minidump starts with
//! `MDMP`, and its module list names the dumped process first, so a dump
//! of `lsass.exe` is recognised wherever it lies and whatever its name.
//! Only the header, the stream directory and one module name are read.

use std::io::{Read, Seek, SeekFrom};

use chrono::DateTime;
use vigie_model::{Finding, Grade, Severity};

use super::rules::{self, FileCtx, details, rfc3339};
use crate::place::Place;

/// Minidump signature at offset 0.
pub const MDMP: &[u8; 4] = b"MDMP";

/// Stream directory entries read at most (real dumps have about 20).
const MAX_STREAMS: u32 = 4096;

/// `ModuleListStream` in the stream directory.
const MODULE_LIST: u32 = 4;

/// Longest module name read, in bytes of UTF-16.
const MAX_NAME: u32 = 2048;

/// What the minidump says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DumpInfo {
    /// Full path of the dumped process's executable (first module).
    pub process: Option<String>,
    /// When the dump was taken (header, seconds since 1970).
    pub taken: Option<u32>,
}

/// Why a minidump could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// Reading failed.
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
    /// An offset points past the end or a count is absurd.
    #[error("minidump is truncated or malformed: {0}")]
    Malformed(&'static str),
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

fn read_at<R: Read + Seek>(
    r: &mut R,
    at: u64,
    len: usize,
    size: u64,
    what: &'static str,
) -> Result<Vec<u8>, DumpError> {
    if at.checked_add(len as u64).is_none_or(|end| end > size) {
        return Err(DumpError::Malformed(what));
    }
    r.seek(SeekFrom::Start(at))?;
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => DumpError::Malformed(what),
        _ => DumpError::Io(e),
    })?;
    Ok(buf)
}

/// Read the dumped process's name from a minidump of `size` bytes.
/// Returns the info and the bytes read.
pub fn read_dump<R: Read + Seek>(
    r: &mut R,
    size: u64,
) -> Result<(DumpInfo, u64), DumpError> {
    let head = read_at(r, 0, 32, size, "header")?;
    if &head[..4] != MDMP {
        return Err(DumpError::Malformed("no MDMP signature"));
    }
    let mut read = 32u64;
    let mut info = DumpInfo { process: None, taken: Some(u32_at(&head, 20)) };
    let streams = u32_at(&head, 8);
    if streams > MAX_STREAMS {
        return Err(DumpError::Malformed("stream count"));
    }
    let dir_at = u64::from(u32_at(&head, 12));
    let dir =
        read_at(r, dir_at, streams as usize * 12, size, "stream directory")?;
    read += dir.len() as u64;
    let Some(list_at) = (0..streams as usize)
        .map(|i| &dir[i * 12..i * 12 + 12])
        .find(|e| u32_at(e, 0) == MODULE_LIST)
        .map(|e| u64::from(u32_at(e, 8)))
    else {
        return Ok((info, read));
    };
    // NumberOfModules, then MINIDUMP_MODULE (108 bytes) each; the first
    // module is the process's executable.
    let first = read_at(r, list_at, 4 + 24, size, "module list")?;
    read += first.len() as u64;
    if u32_at(&first, 0) == 0 {
        return Ok((info, read));
    }
    let name_at = u64::from(u32_at(&first, 4 + 20));
    let len = u32_at(&read_at(r, name_at, 4, size, "module name")?, 0);
    if len > MAX_NAME || !len.is_multiple_of(2) {
        return Err(DumpError::Malformed("module name length"));
    }
    let raw = read_at(r, name_at + 4, len as usize, size, "module name")?;
    read += 4 + u64::from(len);
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    info.process = Some(String::from_utf16_lossy(&units));
    Ok((info, read))
}

/// The executable's file name, lower case.
fn exe_name(process: &str) -> String {
    process.rsplit(['\\', '/']).next().unwrap_or(process).to_lowercase()
}

/// Whether a name looks like an LSASS dump or an archive of one
/// (`lsass.dmp`, `lsass.exe_210304_101010.dmp`, `lsass.zip`).
pub fn lsass_name(name_lower: &str, ext: &str) -> bool {
    name_lower.starts_with("lsass")
        && matches!(ext, "dmp" | "mdmp" | "zip" | "7z" | "rar" | "cab")
}

/// Windows' own crash-dump folders (a dump there is a crash, not theft).
fn crash_folder(lower: &str) -> bool {
    [r"\microsoft\windows\wer\", r"\crashdumps\", r"\windows\minidump\"]
        .iter()
        .any(|p| lower.contains(p))
}

/// Findings for a file: `dump` is the minidump's info when the file
/// starts with `MDMP` and could be read.
pub fn check(ctx: &FileCtx<'_>, dump: Option<&DumpInfo>) -> Option<Finding> {
    let process = dump.and_then(|d| d.process.as_deref());
    let of_lsass = process.is_some_and(|p| exe_name(p) == "lsass.exe");
    let by_name = lsass_name(&ctx.name_lower, &ctx.ext);
    let mut d = details([]);
    if let Some(p) = process {
        d.insert("dumped_process".into(), p.to_string());
    }
    if let Some(t) = dump
        .and_then(|d| d.taken)
        .and_then(|t| DateTime::from_timestamp(i64::from(t), 0))
    {
        d.insert("dump_time".into(), rfc3339(t));
    }
    if of_lsass || by_name {
        let how = if of_lsass {
            "its minidump module list names lsass.exe"
        } else {
            "named like an LSASS dump"
        };
        let summary = format!(
            "{}: LSASS memory dump ({how}): credentials of everyone \
             logged on can be read from it",
            ctx.win.display
        );
        d.insert(
            "matched_by".into(),
            if of_lsass { "content" } else { "name" }.into(),
        );
        return Some(ctx.finding(
            &rules::LSASS,
            Grade::Compromised,
            Severity::High,
            summary,
            d,
        ));
    }
    let staged = ctx.place == Place::Staging && !crash_folder(&ctx.win.lower);
    if dump.is_some() && staged {
        let who = process.map_or("an unknown process".into(), exe_name);
        let summary = format!(
            "{}: memory dump of {who} in a staging folder",
            ctx.win.display
        );
        return Some(ctx.finding(
            &rules::DUMP,
            Grade::Info,
            Severity::Low,
            summary,
            d,
        ));
    }
    None
}
