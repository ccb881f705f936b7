//! Hive files (`Windows/System32/config/SOFTWARE`, `SYSTEM`) read with
//! `notatin`, which replays `.LOG1`/`.LOG2` transaction logs.
//!
//! Before handing a file to notatin the base block is checked here, so a
//! truncated file, a foreign file or a bad checksum with no logs to
//! recover from gets a named error instead of whatever the parser would
//! make of it. A dirty hive (sequence numbers differ) without its logs is
//! read as it is, and the caller is told its values may be stale.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use notatin::cell_key_node::CellKeyNode;
use notatin::cell_value::CellValue;
use notatin::parser::Parser;
use notatin::parser_builder::ParserBuilder;

use super::{HiveKind, RegData, SOFTWARE_TREES, SYSTEM_TREES, Snapshot};
use crate::error::{HealthError, read_limited};

/// Largest hive read: real SOFTWARE hives reach a few hundred megabytes.
const MAX_HIVE: u64 = 2 << 30;
/// Keys read below one listed subtree, and how deep.
const MAX_KEYS: usize = 20_000;
const MAX_DEPTH: usize = 6;
const BASE_BLOCK: usize = 4096;

/// What reading a hive gave: its snapshot, and a warning when its values
/// may be stale.
#[derive(Debug)]
pub struct HiveRead {
    /// The keys read.
    pub snapshot: Snapshot,
    /// Set when the hive is dirty and no transaction log was beside it.
    pub stale: Option<HealthError>,
}

/// Read the judged subtrees of one hive file.
pub fn read_hive(
    path: &Path,
    kind: HiveKind,
) -> Result<HiveRead, HealthError> {
    let bytes = read_limited(path, MAX_HIVE)?;
    let logs = transaction_logs(path);
    let header = check_base_block(path, &bytes, !logs.is_empty())?;
    let stale = (header.dirty && logs.is_empty()).then(|| HealthError::Hive {
        path: path.to_path_buf(),
        reason: "dirty hive (sequence numbers differ) and no .LOG1/.LOG2 \
                 beside it: values read as they are, the newest changes \
                 may be missing"
            .into(),
    });
    let snapshot = if logs.is_empty() {
        parse(path, kind, move || {
            ParserBuilder::from_file(Cursor::new(bytes)).build()
        })?
    } else {
        drop(bytes);
        let owned = path.to_path_buf();
        parse(path, kind, move || {
            let mut builder = ParserBuilder::from_path(owned);
            for log in logs {
                builder.with_transaction_log(log);
            }
            builder.build()
        })?
    };
    Ok(HiveRead { snapshot, stale })
}

/// Read the judged subtrees from hive bytes already in memory (no
/// transaction logs); `label` names the hive in errors and evidence.
pub fn read_hive_bytes(
    label: &Path,
    bytes: Vec<u8>,
    kind: HiveKind,
) -> Result<HiveRead, HealthError> {
    let header = check_base_block(label, &bytes, false)?;
    let stale = header.dirty.then(|| HealthError::Hive {
        path: label.to_path_buf(),
        reason: "dirty hive (sequence numbers differ)".into(),
    });
    let snapshot = parse(label, kind, move || {
        ParserBuilder::from_file(Cursor::new(bytes)).build()
    })?;
    Ok(HiveRead { snapshot, stale })
}

/// Run notatin, turning its errors and panics into named errors.
fn parse(
    path: &Path,
    kind: HiveKind,
    build: impl FnOnce() -> Result<Parser, notatin::err::Error>
    + std::panic::UnwindSafe,
) -> Result<Snapshot, HealthError> {
    let mut parser = match std::panic::catch_unwind(build) {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return Err(hive_error(path, e.to_string())),
        Err(_) => {
            return Err(hive_error(path, "the hive parser gave up".into()));
        }
    };
    let mut snapshot = Snapshot::new(path.display().to_string());
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fill(&mut parser, kind, &mut snapshot)
    }));
    if read.is_err() {
        return Err(hive_error(
            path,
            "the hive parser gave up on a key".into(),
        ));
    }
    Ok(snapshot)
}

fn hive_error(path: &Path, reason: String) -> HealthError {
    HealthError::Hive { path: path.to_path_buf(), reason }
}

/// `SYSTEM.LOG1`, `SYSTEM.LOG2` beside the hive, any case.
fn transaction_logs(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let name = name.to_string_lossy().to_lowercase();
    let wanted = [format!("{name}.log1"), format!("{name}.log2")];
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut logs: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().to_lowercase();
            wanted.contains(&n) && e.metadata().is_ok_and(|m| m.len() > 512)
        })
        .map(|e| e.path())
        .collect();
    logs.sort();
    logs
}

/// What the base block says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub(crate) dirty: bool,
}

/// Check the 4 KiB base block: signature, checksum, declared size.
pub(crate) fn check_base_block(
    path: &Path,
    bytes: &[u8],
    have_logs: bool,
) -> Result<Header, HealthError> {
    let err = |r: String| hive_error(path, r);
    if bytes.len() < BASE_BLOCK {
        return Err(err(format!(
            "truncated: {} bytes, a hive starts with a {BASE_BLOCK}-byte base block",
            bytes.len()
        )));
    }
    if &bytes[..4] != b"regf" {
        return Err(err("no 'regf' signature: not a registry hive".into()));
    }
    let u32_at = |o: usize| {
        u32::from_le_bytes([
            bytes[o],
            bytes[o + 1],
            bytes[o + 2],
            bytes[o + 3],
        ])
    };
    let stored = u32_at(508);
    let computed = base_block_checksum(&bytes[..508]);
    if stored != computed && !have_logs {
        return Err(err(format!(
            "base block checksum is wrong (stored 0x{stored:08x}, computed \
             0x{computed:08x}) and no .LOG1/.LOG2 beside it to recover from"
        )));
    }
    let declared = u32_at(0x28) as usize;
    if BASE_BLOCK + declared > bytes.len() {
        return Err(err(format!(
            "truncated: the base block declares {declared} bytes of hive \
             bins, the file has {}",
            bytes.len() - BASE_BLOCK
        )));
    }
    Ok(Header { dirty: u32_at(4) != u32_at(8) || stored != computed })
}

/// XOR of the first 127 dwords, 0 and 0xffffffff avoided (regf spec).
pub(crate) fn base_block_checksum(first_508: &[u8]) -> u32 {
    let mut sum = 0u32;
    for c in first_508.chunks_exact(4) {
        sum ^= u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    match sum {
        0 => 1,
        u32::MAX => u32::MAX - 1,
        s => s,
    }
}

fn fill(parser: &mut Parser, kind: HiveKind, snap: &mut Snapshot) {
    match kind {
        HiveKind::Software => {
            for tree in SOFTWARE_TREES {
                read_tree(parser, tree, tree, snap);
            }
        }
        HiveKind::System => {
            let set = current_control_set(parser);
            let real_set = format!("ControlSet{set:03}");
            read_tree(parser, "Select", "Select", snap);
            for tree in SYSTEM_TREES {
                let real = format!(r"{real_set}\{tree}");
                let norm = format!(r"CurrentControlSet\{tree}");
                read_tree(parser, &real, &norm, snap);
            }
        }
    }
}

/// `Select\Current`, else 1.
fn current_control_set(parser: &mut Parser) -> u32 {
    let Ok(Some(select)) = parser.get_key("Select", false) else { return 1 };
    match select.get_value("Current").map(|v| v.get_content().0) {
        Some(CellValue::U32(n)) if (1..1000).contains(&n) => n,
        _ => 1,
    }
}

fn read_tree(
    parser: &mut Parser,
    real: &str,
    norm: &str,
    snap: &mut Snapshot,
) {
    let Ok(Some(key)) = parser.get_key(real, false) else { return };
    let mut budget = MAX_KEYS;
    walk(parser, key, real, norm, 0, &mut budget, snap);
}

fn walk(
    parser: &mut Parser,
    mut key: CellKeyNode,
    real: &str,
    norm: &str,
    depth: usize,
    budget: &mut usize,
    snap: &mut Snapshot,
) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    snap.key_entry(norm, real);
    for value in key.value_iter() {
        if let Some(data) = convert(value.get_content().0) {
            snap.insert(norm, real, &value.get_pretty_name(), data);
        }
    }
    if depth >= MAX_DEPTH {
        return;
    }
    for sub in key.read_sub_keys(parser) {
        let name = sub.key_name.clone();
        let real = format!(r"{real}\{name}");
        let norm = format!(r"{norm}\{name}");
        walk(parser, sub, &real, &norm, depth + 1, budget, snap);
    }
}

fn convert(v: CellValue) -> Option<RegData> {
    Some(match v {
        CellValue::U32(n) => RegData::Dword(n),
        CellValue::I32(n) => RegData::Dword(n as u32),
        CellValue::U64(n) => RegData::Qword(n),
        CellValue::I64(n) => RegData::Qword(n as u64),
        CellValue::String(s) => RegData::Str(s),
        CellValue::MultiString(v) => RegData::Multi(v),
        CellValue::Binary(b) => RegData::Binary(b),
        CellValue::None | CellValue::Error => return None,
    })
}
