//! The file version of `ExSetup.exe`, read from its PE version resource.
//!
//! HealthChecker takes the build from `ExSetup.exe`'s file version: the
//! only value on a server that moves with security updates. This reads
//! `VS_FIXEDFILEINFO` from the bytes of a PE image (PE32 or PE32+) by
//! walking the resource directory: pure, bounded, no unsafe; every offset
//! is checked, so truncated or hostile files give an error, never a panic.

use crate::error::BuildError;
use crate::parse::ParsedBuild;

/// `RT_VERSION` resource type.
const RT_VERSION: u32 = 16;
/// `VS_FIXEDFILEINFO.dwSignature`.
const FIXED_SIGNATURE: u32 = 0xFEEF_04BD;
/// More sections than any real image has: a corrupt header.
const MAX_SECTIONS: usize = 96;

fn err(msg: &str) -> BuildError {
    BuildError::Pe(msg.to_string())
}

fn u16_at(b: &[u8], off: usize) -> Result<u16, BuildError> {
    b.get(off..off.checked_add(2).ok_or_else(|| err("offset overflow"))?)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| err("truncated PE file"))
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, BuildError> {
    b.get(off..off.checked_add(4).ok_or_else(|| err("offset overflow"))?)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| err("truncated PE file"))
}

/// A section's place in memory and in the file.
struct Section {
    va: u32,
    size: u32,
    raw: u32,
}

/// The four 16-bit parts of the file version in `VS_FIXEDFILEINFO`.
pub fn file_version(bytes: &[u8]) -> Result<[u16; 4], BuildError> {
    if bytes.get(..2) != Some(b"MZ".as_slice()) {
        return Err(err("not a PE file (no MZ header)"));
    }
    let pe = u32_at(bytes, 0x3c)? as usize;
    if bytes.get(pe..pe.saturating_add(4)) != Some(b"PE\0\0".as_slice()) {
        return Err(err("not a PE file (no PE signature)"));
    }
    let sections = u16_at(bytes, pe + 6)? as usize;
    let opt_size = u16_at(bytes, pe + 20)? as usize;
    let opt = pe + 24;
    let dirs = match u16_at(bytes, opt)? {
        0x10b => opt + 96,
        0x20b => opt + 112,
        _ => return Err(err("unknown PE optional header")),
    };
    let count = u32_at(bytes, dirs - 4)?;
    if count < 3 {
        return Err(err("no version resource (no resource directory)"));
    }
    let rsrc_rva = u32_at(bytes, dirs + 16)?;
    if rsrc_rva == 0 {
        return Err(err("no version resource (no resource directory)"));
    }
    let table = read_sections(bytes, opt + opt_size, sections)?;
    let root = rva_to_offset(&table, rsrc_rva)?;
    let (data_rva, data_len) = version_entry(bytes, root)?;
    let start = rva_to_offset(&table, data_rva)?;
    let end = start.saturating_add(data_len as usize).min(bytes.len());
    fixed_info(bytes.get(start..end).ok_or_else(|| err("truncated PE file"))?)
}

/// The build of an `ExSetup.exe` image, as a 4-part build.
pub fn exe_build(bytes: &[u8]) -> Result<ParsedBuild, BuildError> {
    let v = file_version(bytes)?;
    let text = format!("{}.{}.{}.{}", v[0], v[1], v[2], v[3]);
    crate::parse::parse_build(&text)
}

fn read_sections(
    b: &[u8],
    at: usize,
    n: usize,
) -> Result<Vec<Section>, BuildError> {
    if n > MAX_SECTIONS {
        return Err(err("implausible number of PE sections"));
    }
    (0..n)
        .map(|i| {
            let s = at + i * 40;
            let vsize = u32_at(b, s + 8)?;
            let raw_size = u32_at(b, s + 16)?;
            Ok(Section {
                va: u32_at(b, s + 12)?,
                size: vsize.max(raw_size),
                raw: u32_at(b, s + 20)?,
            })
        })
        .collect()
}

fn rva_to_offset(table: &[Section], rva: u32) -> Result<usize, BuildError> {
    table
        .iter()
        .find(|s| rva >= s.va && rva - s.va < s.size)
        .map(|s| (s.raw as usize).saturating_add((rva - s.va) as usize))
        .ok_or_else(|| err("resource outside every PE section"))
}

/// Follow type 16, then the first name and first language.
fn version_entry(b: &[u8], root: usize) -> Result<(u32, u32), BuildError> {
    let mut target = find_entry(b, root, Some(RT_VERSION))?
        .ok_or_else(|| err("no version resource in the file"))?;
    for _ in 0..2 {
        if target & 0x8000_0000 == 0 {
            break;
        }
        let dir = root.saturating_add((target & 0x7fff_ffff) as usize);
        target = find_entry(b, dir, None)?
            .ok_or_else(|| err("empty version resource directory"))?;
    }
    if target & 0x8000_0000 != 0 {
        return Err(err("version resource nested too deep"));
    }
    let data = root.saturating_add(target as usize);
    Ok((u32_at(b, data)?, u32_at(b, data + 4)?))
}

/// The offset field of the entry with `id` (or the first entry).
fn find_entry(
    b: &[u8],
    dir: usize,
    id: Option<u32>,
) -> Result<Option<u32>, BuildError> {
    let named = u16_at(b, dir + 12)? as usize;
    let ids = u16_at(b, dir + 14)? as usize;
    for i in 0..(named + ids).min(4096) {
        let e = dir + 16 + i * 8;
        let name = u32_at(b, e)?;
        if id.is_none_or(|want| name == want) {
            return Ok(Some(u32_at(b, e + 4)?));
        }
    }
    Ok(None)
}

/// Find `VS_FIXEDFILEINFO` in a `VS_VERSIONINFO` block: it follows the
/// `VS_VERSION_INFO` key, 32-bit aligned; the signature marks it.
fn fixed_info(block: &[u8]) -> Result<[u16; 4], BuildError> {
    let at = (0..block.len().min(128))
        .step_by(4)
        .find(|&i| u32_at(block, i).ok() == Some(FIXED_SIGNATURE))
        .ok_or_else(|| err("version resource without VS_FIXEDFILEINFO"))?;
    let ms = u32_at(block, at + 8)?;
    let ls = u32_at(block, at + 12)?;
    Ok([
        (ms >> 16) as u16,
        (ms & 0xffff) as u16,
        (ls >> 16) as u16,
        (ls & 0xffff) as u16,
    ])
}

/// A minimal PE32+ image whose version resource says `version`: for
/// tests and the demo (real `ExSetup.exe` files are 50+ MB and licensed).
pub fn synthetic_image(version: [u16; 4]) -> Vec<u8> {
    let mut b = vec![0u8; 0x200];
    b[0..2].copy_from_slice(b"MZ");
    b[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
    b[0x40..0x44].copy_from_slice(b"PE\0\0");
    put16(&mut b, 0x44, 0x8664); // machine: x64
    put16(&mut b, 0x46, 1); // one section
    put16(&mut b, 0x54, 240); // optional header size (PE32+)
    let opt = 0x58;
    put16(&mut b, opt, 0x20b);
    put32(&mut b, opt + 108, 16); // number of data directories
    let rsrc = synthetic_resource(version);
    put32(&mut b, opt + 112 + 16, 0x1000); // resource directory RVA
    put32(&mut b, opt + 112 + 20, rsrc.len() as u32);
    let sec = opt + 240;
    b[sec..sec + 5].copy_from_slice(b".rsrc");
    put32(&mut b, sec + 8, rsrc.len() as u32);
    put32(&mut b, sec + 12, 0x1000);
    put32(&mut b, sec + 16, rsrc.len() as u32);
    put32(&mut b, sec + 20, 0x200);
    b.extend_from_slice(&rsrc);
    b
}

fn synthetic_resource(v: [u16; 4]) -> Vec<u8> {
    let mut r = vec![0u8; 0x58];
    // type directory -> name directory -> language directory -> data
    for (dir, id, next) in [
        (0x00, RT_VERSION, 0x8000_0018u32),
        (0x18, 1, 0x8000_0030),
        (0x30, 0x409, 0x48),
    ] {
        put16(&mut r, dir + 14, 1);
        put32(&mut r, dir + 16, id);
        put32(&mut r, dir + 20, next);
    }
    let mut info = Vec::new();
    info.extend_from_slice(&[0u8; 6]); // wLength, wValueLength, wType
    for c in "VS_VERSION_INFO\0".encode_utf16() {
        info.extend_from_slice(&c.to_le_bytes());
    }
    info.extend_from_slice(&[0u8; 2]); // pad to 32 bits
    let ms = (u32::from(v[0]) << 16) | u32::from(v[1]);
    let ls = (u32::from(v[2]) << 16) | u32::from(v[3]);
    for word in [FIXED_SIGNATURE, 0x1_0000, ms, ls, ms, ls] {
        info.extend_from_slice(&word.to_le_bytes());
    }
    info.extend_from_slice(&[0u8; 28]);
    let len = info.len() as u16;
    info[0..2].copy_from_slice(&len.to_le_bytes());
    info[2..4].copy_from_slice(&52u16.to_le_bytes());
    put32(&mut r, 0x48, 0x1000 + 0x58);
    put32(&mut r, 0x4c, info.len() as u32);
    r.extend_from_slice(&info);
    r
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_of_a_synthetic_exsetup() {
        let img = synthetic_image([15, 1, 2176, 9]);
        assert_eq!(file_version(&img).unwrap(), [15, 1, 2176, 9]);
        assert_eq!(exe_build(&img).unwrap().to_string(), "15.1.2176.9");
    }

    #[test]
    fn non_pe_and_truncated_files_are_errors() {
        assert!(file_version(b"hello world").is_err());
        assert!(file_version(b"").is_err());
        let img = synthetic_image([15, 2, 1748, 49]);
        for cut in [2, 0x40, 0x60, 0x150, 0x200, 0x230, img.len() - 40] {
            let e = file_version(&img[..cut]).unwrap_err();
            assert!(
                e.to_string().contains("PE")
                    || e.to_string().contains("resource"),
                "{cut}: {e}"
            );
        }
    }

    #[test]
    fn every_prefix_and_corruption_is_handled_without_panic() {
        let img = synthetic_image([14, 3, 513, 0]);
        for cut in 0..img.len() {
            let _ = file_version(&img[..cut]);
        }
        for i in 0..img.len() {
            let mut bad = img.clone();
            bad[i] ^= 0xff;
            let _ = file_version(&bad);
        }
    }
}
