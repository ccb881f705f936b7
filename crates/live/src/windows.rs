//! The real [`System`] on Windows: environment, registry through the
//! registry API (64-bit view), files through the standard library.
//!
//! Also reads, for `vigie check --live`, the registry subtrees the health
//! judgements use into the same [`Snapshot`]s the offline hive reader
//! makes, with the same depth and key limits, and tells whether the
//! process runs elevated.

use std::ffi::OsString;
use std::os::windows::ffi::{OsStrExt, OsStringExt};

use vigie_health::registry::{
    HiveKind, RegData, Registry, SOFTWARE_TREES, SYSTEM_TREES, Snapshot,
};
use vigie_model::{ItemError, ItemErrorKind};
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_FILE_NOT_FOUND, ERROR_MORE_DATA, ERROR_NO_MORE_ITEMS,
    ERROR_PATH_NOT_FOUND, ERROR_SUCCESS, HANDLE,
};
use windows_sys::Win32::Security::{
    GetTokenInformation, TOKEN_ELEVATION, TOKEN_QUERY, TokenElevation,
};
use windows_sys::Win32::System::Registry::{
    HKEY, HKEY_LOCAL_MACHINE, KEY_READ, KEY_WOW64_64KEY, REG_BINARY,
    REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ, RegCloseKey,
    RegEnumKeyExW, RegEnumValueW, RegOpenKeyExW,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, OpenProcessToken,
};

use crate::System;

/// Keys read per subtree and depth below it: the offline reader's limits.
const MAX_KEYS: usize = 20_000;
const MAX_DEPTH: usize = 6;
/// Trees whose values alone are used: below `CurrentVersion` sit
/// Windows' own large keys, `Perflib\009` among them, a virtual key the
/// performance-counter provider answers, not the registry.
const VALUES_ONLY: &[&str] = &[r"Microsoft\Windows NT\CurrentVersion"];
/// Where the snapshots say they came from.
pub const SOURCE: &str = "live registry (HKLM)";

/// The machine vigie runs on.
#[derive(Debug, Default, Clone, Copy)]
pub struct Live;

impl System for Live {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn hklm_string(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Option<String>, String> {
        let Some(k) = Key::open(key)? else { return Ok(None) };
        Ok(k.values()?
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(value))
            .and_then(|(_, d)| d.as_text()))
    }

    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

/// Whether this process runs elevated (as administrator); `None` when
/// Windows would not say.
pub fn elevated() -> Option<bool> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: the pseudo-handle of the current process needs no closing;
    // `token` is written by the call and closed below.
    if unsafe {
        OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token)
    } == 0
    {
        return None;
    }
    let mut info = TOKEN_ELEVATION { TokenIsElevated: 0 };
    let mut len = 0u32;
    // SAFETY: `info` is a TOKEN_ELEVATION of the size passed.
    let ok = unsafe {
        GetTokenInformation(
            token,
            TokenElevation,
            (&raw mut info).cast(),
            size_of::<TOKEN_ELEVATION>() as u32,
            &mut len,
        )
    };
    // SAFETY: `token` was opened above.
    unsafe { CloseHandle(token) };
    (ok != 0).then_some(info.TokenIsElevated != 0)
}

/// The SOFTWARE and SYSTEM subtrees the judgements read, as snapshots,
/// with the keys that could not be read.
pub fn registry() -> (Registry, Vec<ItemError>) {
    let mut errors = Vec::new();
    let mut software = Snapshot::new(SOURCE);
    for tree in SOFTWARE_TREES {
        let real = format!(r"SOFTWARE\{tree}");
        let depth = if VALUES_ONLY.contains(tree) { 0 } else { MAX_DEPTH };
        walk_tree(&real, tree, depth, &mut software, &mut errors);
    }
    let mut system = Snapshot::new(SOURCE);
    for tree in SYSTEM_TREES {
        let norm = format!(r"CurrentControlSet\{tree}");
        let real = format!(r"SYSTEM\{norm}");
        walk_tree(&real, &norm, MAX_DEPTH, &mut system, &mut errors);
    }
    let mut reg = Registry::default();
    reg.merge(HiveKind::Software, software);
    reg.merge(HiveKind::System, system);
    (reg, errors)
}

fn walk_tree(
    real: &str,
    norm: &str,
    max_depth: usize,
    snap: &mut Snapshot,
    errors: &mut Vec<ItemError>,
) {
    let mut walk = Walk { budget: MAX_KEYS, max_depth, snap, errors };
    walk.key(real, norm, 0);
}

/// One subtree's walk: its key budget and depth limit.
struct Walk<'a> {
    budget: usize,
    max_depth: usize,
    snap: &'a mut Snapshot,
    errors: &'a mut Vec<ItemError>,
}

impl Walk<'_> {
    /// Read one key, then its subkeys.
    fn key(&mut self, real: &str, norm: &str, depth: usize) {
        if self.budget == 0 {
            return;
        }
        self.budget -= 1;
        let key = match Key::open(real) {
            Ok(Some(k)) => k,
            Ok(None) => return,
            Err(why) => return self.errors.push(key_error(real, &why)),
        };
        // The snapshot's evidence path is below the hive (`HKLM\SYSTEM\...`).
        let shown = real.split_once('\\').map_or(real, |(_, rest)| rest);
        self.snap.key_entry(norm, shown);
        match key.values() {
            Ok(values) => {
                for (name, data) in values {
                    self.snap.insert(norm, shown, &name, data);
                }
            }
            Err(why) => self.errors.push(key_error(real, &why)),
        }
        if depth >= self.max_depth {
            return;
        }
        let subkeys = match key.subkeys() {
            Ok(s) => s,
            Err(why) => return self.errors.push(key_error(real, &why)),
        };
        drop(key);
        for name in subkeys {
            self.key(
                &format!(r"{real}\{name}"),
                &format!(r"{norm}\{name}"),
                depth + 1,
            );
        }
    }
}

fn key_error(key: &str, why: &str) -> ItemError {
    ItemError::new(
        format!(r"HKLM\{key}"),
        ItemErrorKind::Io,
        format!("cannot read the registry key: {why}"),
    )
}

/// An open `HKLM` key, closed on drop.
struct Key(HKEY);

impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: the handle was opened by `Key::open` and is closed once.
        unsafe { RegCloseKey(self.0) };
    }
}

fn wide(s: &str) -> Vec<u16> {
    std::ffi::OsStr::new(s).encode_wide().chain(Some(0)).collect()
}

fn from_wide(buf: &[u16]) -> String {
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    OsString::from_wide(&buf[..end]).to_string_lossy().into_owned()
}

fn os_error(code: u32) -> String {
    std::io::Error::from_raw_os_error(code as i32).to_string()
}

impl Key {
    /// Open `HKLM\path` for reading (64-bit view); `None` if absent.
    fn open(path: &str) -> Result<Option<Key>, String> {
        let name = wide(path);
        let mut h: HKEY = std::ptr::null_mut();
        // SAFETY: `name` is NUL-terminated; `h` is written on success.
        let rc = unsafe {
            RegOpenKeyExW(
                HKEY_LOCAL_MACHINE,
                name.as_ptr(),
                0,
                KEY_READ | KEY_WOW64_64KEY,
                &mut h,
            )
        };
        match rc {
            ERROR_SUCCESS => Ok(Some(Key(h))),
            ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND => Ok(None),
            e => Err(os_error(e)),
        }
    }

    /// Names of the direct subkeys.
    fn subkeys(&self) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        let mut buf = vec![0u16; 256];
        for index in 0.. {
            let mut len = buf.len() as u32;
            // SAFETY: `buf` holds `len` u16s; the other outputs are unused.
            let rc = unsafe {
                RegEnumKeyExW(
                    self.0,
                    index,
                    buf.as_mut_ptr(),
                    &mut len,
                    std::ptr::null(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            };
            match rc {
                ERROR_SUCCESS => out.push(from_wide(&buf[..len as usize])),
                ERROR_NO_MORE_ITEMS => break,
                e => return Err(os_error(e)),
            }
        }
        Ok(out)
    }

    /// Every value: (name, data).
    fn values(&self) -> Result<Vec<(String, RegData)>, String> {
        let mut out = Vec::new();
        let mut name = vec![0u16; 16_384];
        let mut data = vec![0u8; 4096];
        let mut index = 0;
        loop {
            let mut name_len = name.len() as u32;
            let mut data_len = data.len() as u32;
            let mut kind = 0u32;
            // SAFETY: both buffers are as long as the lengths passed.
            let rc = unsafe {
                RegEnumValueW(
                    self.0,
                    index,
                    name.as_mut_ptr(),
                    &mut name_len,
                    std::ptr::null(),
                    &mut kind,
                    data.as_mut_ptr(),
                    &mut data_len,
                )
            };
            match rc {
                ERROR_SUCCESS => {
                    let n = from_wide(&name[..name_len as usize]);
                    let bytes = &data[..(data_len as usize).min(data.len())];
                    if let Some(d) = convert(kind, bytes) {
                        out.push((n, d));
                    }
                    index += 1;
                }
                // Data larger than the buffer: grow (bounded) and retry.
                ERROR_MORE_DATA if data.len() < (1 << 20) => {
                    data.resize(
                        (data_len as usize).clamp(data.len() * 2, 1 << 20),
                        0,
                    );
                }
                ERROR_MORE_DATA => index += 1,
                ERROR_NO_MORE_ITEMS => break,
                e => return Err(os_error(e)),
            }
        }
        Ok(out)
    }
}

fn utf16(bytes: &[u8]) -> Vec<u16> {
    bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect()
}

/// Registry data as the offline readers give it.
fn convert(kind: u32, bytes: &[u8]) -> Option<RegData> {
    Some(match kind {
        REG_DWORD if bytes.len() >= 4 => {
            RegData::Dword(u32::from_le_bytes(bytes[..4].try_into().ok()?))
        }
        REG_QWORD if bytes.len() >= 8 => {
            RegData::Qword(u64::from_le_bytes(bytes[..8].try_into().ok()?))
        }
        REG_SZ | REG_EXPAND_SZ => RegData::Str(from_wide(&utf16(bytes))),
        REG_MULTI_SZ => RegData::Multi(
            utf16(bytes)
                .split(|&c| c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| OsString::from_wide(s).to_string_lossy().into_owned())
                .collect(),
        ),
        REG_BINARY => RegData::Binary(bytes.to_vec()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_data_converted_like_the_offline_readers() {
        assert_eq!(convert(REG_DWORD, &[1, 0, 0, 0]), Some(RegData::Dword(1)));
        let sz: Vec<u8> =
            "V15\\\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(convert(REG_SZ, &sz), Some(RegData::Str("V15\\".into())));
        let multi: Vec<u8> =
            "a\0b\0\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(
            convert(REG_MULTI_SZ, &multi),
            Some(RegData::Multi(vec!["a".into(), "b".into()]))
        );
        assert_eq!(convert(REG_DWORD, &[1]), None);
    }

    #[test]
    fn windows_itself_is_readable() {
        // Every Windows (and Wine) has this key and its SystemRoot value.
        let v = Live
            .hklm_string(
                r"SOFTWARE\Microsoft\Windows NT\CurrentVersion",
                "SystemRoot",
            )
            .expect("readable");
        assert!(v.is_some_and(|s| s.to_ascii_lowercase().contains("windows")));
        assert_eq!(Live.hklm_string(r"SOFTWARE\vigie\absent", "x"), Ok(None));
        let (reg, errors) = registry();
        assert!(errors.is_empty(), "{errors:?}");
        let sw = reg.software.expect("SOFTWARE read");
        assert!(sw.has_key(r"Microsoft\Windows NT\CurrentVersion"));
        assert!(elevated().is_some());
    }
}
