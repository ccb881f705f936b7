//! `.reg` exports (`reg export HKLM\SYSTEM system.reg`, regedit's
//! "Export"): UTF-16 or UTF-8 text, `[HKEY_LOCAL_MACHINE\...]` key lines
//! and `"Name"=type:data` value lines, long hex data continued with `\`.
//!
//! No crate reads this format; it is small and fully specified by what
//! regedit writes. Keys under `ControlSet00n` are also filed under
//! `CurrentControlSet` (the one `Select\Current` names, else 001) so that
//! exports of either form answer the same lookups.

use std::path::Path;

use super::{HiveKind, RegData, Snapshot};
use crate::error::{HealthError, read_limited};

/// Largest export read.
const MAX_REG: u64 = 256 << 20;

/// Read a `.reg` export: one snapshot per hive it holds.
pub fn read_reg_export(
    path: &Path,
) -> Result<Vec<(HiveKind, Snapshot)>, HealthError> {
    let bytes = read_limited(path, MAX_REG)?;
    let text = decode(&bytes);
    parse_reg(path, &text)
}

fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    let rest = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
    String::from_utf8_lossy(rest).into_owned()
}

/// Parse the text of an export.
pub fn parse_reg(
    path: &Path,
    text: &str,
) -> Result<Vec<(HiveKind, Snapshot)>, HealthError> {
    let err = |line: usize, reason: &str| HealthError::RegExport {
        path: path.to_path_buf(),
        line,
        reason: reason.to_string(),
    };
    let mut lines = text.lines().enumerate().peekable();
    match lines.next() {
        Some((_, h))
            if h.trim() == "Windows Registry Editor Version 5.00"
                || h.trim() == "REGEDIT4" => {}
        _ => return Err(err(1, "no 'Windows Registry Editor' header")),
    }
    let source = path.display().to_string();
    let mut soft = Snapshot::new(&source);
    let mut sys = Snapshot::new(&source);
    let mut current: Option<(HiveKind, String)> = None;
    while let Some((i, raw)) = lines.next() {
        let mut line = raw.trim().to_string();
        while line.ends_with('\\') {
            line.pop();
            match lines.next() {
                Some((_, more)) => line.push_str(more.trim()),
                None => break,
            }
        }
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or_else(|| err(i + 1, "key line without closing ']'"))?;
            current = split_key(inner);
            if let Some((kind, p)) = &current {
                let snap = if *kind == HiveKind::System {
                    &mut sys
                } else {
                    &mut soft
                };
                snap.key_entry(p, p);
            }
            continue;
        }
        let Some((kind, key)) = &current else { continue };
        let (name, data) = parse_value(&line)
            .ok_or_else(|| err(i + 1, "expected \"Name\"=data or @=data"))?;
        let snap =
            if *kind == HiveKind::System { &mut sys } else { &mut soft };
        snap.insert(key, key, &name, data);
    }
    let mut out = Vec::new();
    if !soft.keys.is_empty() {
        out.push((HiveKind::Software, soft));
    }
    if !sys.keys.is_empty() {
        out.push((HiveKind::System, alias_control_set(sys)));
    }
    Ok(out)
}

/// `HKEY_LOCAL_MACHINE\SYSTEM\X` → (System, `X`); other roots ignored.
fn split_key(full: &str) -> Option<(HiveKind, String)> {
    let mut parts = full.splitn(3, '\\');
    let root = parts.next()?.to_ascii_uppercase();
    if root != "HKEY_LOCAL_MACHINE" && root != "HKLM" {
        return None;
    }
    let hive = match parts.next()?.to_ascii_uppercase().as_str() {
        "SOFTWARE" => HiveKind::Software,
        "SYSTEM" => HiveKind::System,
        _ => return None,
    };
    Some((hive, parts.next().unwrap_or_default().to_string()))
}

fn parse_value(line: &str) -> Option<(String, RegData)> {
    let (name, rest) = if let Some(rest) = line.strip_prefix("@=") {
        (String::new(), rest)
    } else {
        let (name, used) = quoted(line)?;
        (name, line[used..].strip_prefix('=')?)
    };
    Some((name, parse_data(rest)?))
}

/// A `"..."` string with `\"` and `\\` escapes; returns it and the bytes
/// used.
fn quoted(s: &str) -> Option<(String, usize)> {
    let mut chars = s.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    let mut out = String::new();
    let mut escaped = false;
    for (i, c) in chars {
        match (escaped, c) {
            (false, '\\') => escaped = true,
            (false, '"') => return Some((out, i + 1)),
            (_, c) => {
                out.push(c);
                escaped = false;
            }
        }
    }
    None
}

fn parse_data(s: &str) -> Option<RegData> {
    if s.starts_with('"') {
        return Some(RegData::Str(quoted(s)?.0));
    }
    if let Some(hex) = s.strip_prefix("dword:") {
        return u32::from_str_radix(hex.trim(), 16).ok().map(RegData::Dword);
    }
    let (kind, hex) = if let Some(h) = s.strip_prefix("hex:") {
        (3, h)
    } else {
        let rest = s.strip_prefix("hex(")?;
        let (k, h) = rest.split_once("):")?;
        (u32::from_str_radix(k, 16).ok()?, h)
    };
    let bytes: Vec<u8> = hex
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| u8::from_str_radix(b, 16).ok())
        .collect::<Option<_>>()?;
    Some(match kind {
        1 | 2 => {
            RegData::Str(utf16(&bytes).trim_end_matches('\0').to_string())
        }
        4 if bytes.len() == 4 => {
            RegData::Dword(u32::from_le_bytes(bytes[..4].try_into().ok()?))
        }
        7 => RegData::Multi(
            utf16(&bytes)
                .split('\0')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        0xb if bytes.len() == 8 => {
            RegData::Qword(u64::from_le_bytes(bytes[..8].try_into().ok()?))
        }
        _ => RegData::Binary(bytes),
    })
}

fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// File `ControlSet00n\...` keys under `CurrentControlSet\...` too, for
/// the control set `Select\Current` names (else 001), unless the export
/// already has that key under `CurrentControlSet`.
fn alias_control_set(mut snap: Snapshot) -> Snapshot {
    let current = snap
        .get(HiveKind::System, "Select", "Current")
        .data
        .and_then(RegData::as_u64)
        .unwrap_or(1);
    let prefix = format!("controlset{current:03}\\");
    let aliases: Vec<(String, super::Key)> = snap
        .keys
        .iter()
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix(&prefix)?;
            Some((format!("currentcontrolset\\{rest}"), v.clone()))
        })
        .collect();
    for (k, v) in aliases {
        snap.keys.entry(k).or_insert(v);
    }
    snap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_every_type_and_control_set_alias() {
        let text = "Windows Registry Editor Version 5.00\r\n\r\n\
            [HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\r\n\"Current\"=dword:00000002\r\n\
            [HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Control\\Lsa]\r\n\
            \"LsaCfgFlags\"=dword:00000001\r\n\"Name\"=\"a \\\"q\\\" b\\\\c\"\r\n\
            \"Bin\"=hex:01,02,\\\r\n  03\r\n\
            \"Exp\"=hex(2):41,00,42,00,00,00\r\n\
            \"Multi\"=hex(7):41,00,00,00,42,00,00,00,00,00\r\n\
            \"Q\"=hex(b):05,00,00,00,00,00,00,00\r\n\
            [HKEY_CURRENT_USER\\Software\\X]\r\n\"Ignored\"=dword:1\r\n";
        let got = parse_reg(Path::new("x.reg"), text).unwrap();
        assert_eq!(got.len(), 1);
        let snap = &got[0].1;
        let lsa = r"CurrentControlSet\Control\Lsa";
        let v = |n| snap.get(HiveKind::System, lsa, n).data.cloned();
        assert_eq!(v("lsacfgflags"), Some(RegData::Dword(1)));
        assert_eq!(v("Name"), Some(RegData::Str("a \"q\" b\\c".into())));
        assert_eq!(v("Bin"), Some(RegData::Binary(vec![1, 2, 3])));
        assert_eq!(v("Exp"), Some(RegData::Str("AB".into())));
        assert_eq!(
            v("Multi"),
            Some(RegData::Multi(vec!["A".into(), "B".into()]))
        );
        assert_eq!(v("Q"), Some(RegData::Qword(5)));
        let found = snap.get(HiveKind::System, lsa, "LsaCfgFlags");
        assert!(found.key.contains("ControlSet002"), "{}", found.key);
    }

    #[test]
    fn garbage_gets_a_named_error_with_its_line() {
        let e = parse_reg(Path::new("bad.reg"), "hello").unwrap_err();
        assert!(e.to_string().contains("bad.reg:1"), "{e}");
        let text = "REGEDIT4\n[HKLM\\SOFTWARE\\X]\nnot a value\n";
        let e = parse_reg(Path::new("bad.reg"), text).unwrap_err();
        assert!(e.to_string().contains("bad.reg:3"), "{e}");
    }
}
