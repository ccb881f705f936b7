//! Hostile input for every reader of `vigie check --host` (issue 10:
//! "huge or garbled config files give named errors, never a panic"): for
//! the XML configuration reader (and each parser on it), the registry
//! hive reader, the `.reg` export reader and the CLIXML reader, a file
//! over the size limit (sparse, so nothing big is written), garbled
//! bytes and a truncated copy of a real file each give an error that
//! names the file and what was wrong.

use std::path::{Path, PathBuf};

use vigie_health::HealthError;
use vigie_health::iis::{AppHost, web_config_rules};
use vigie_health::registry::forge::HiveBuilder;
use vigie_health::registry::read_reg_export;
use vigie_health::registry::{HiveKind, RegData, read_hive};
use vigie_health::xml::{ConfigText, MAX_CONFIG};

const HC: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/css-exchange/e19");

/// Bytes no parser should make sense of: binary noise with XML and
/// registry punctuation, NULs and invalid UTF-8 mixed in.
fn garbage() -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = b"<configuration><<\0\xff\xfe[HKEY_LOCAL_MACHINE\\x]\n\"a\"=hex:zz\n<Objs><Obj RefId=".to_vec();
    for _ in 0..8192 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.push((state >> 24) as u8);
    }
    out
}

/// A sparse file one byte over `limit`.
fn huge(dir: &Path, name: &str, limit: u64) -> PathBuf {
    let p = dir.join(name);
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(limit + 1).unwrap();
    p
}

/// The first half of a real file.
fn truncated(dir: &Path, src: &Path, name: &str) -> PathBuf {
    let bytes = std::fs::read(src).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    p
}

fn named(e: &HealthError, path: &Path, want: &str) {
    let text = e.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains(want), "want {want:?} in {text}");
}

#[test]
fn xml_reader_huge_garbled_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let big = huge(dir.path(), "applicationHost.config", MAX_CONFIG);
    named(&ConfigText::read(&big).unwrap_err(), &big, "limit");
    let bad = dir.path().join("web.config");
    std::fs::write(&bad, garbage()).unwrap();
    let text = ConfigText::read(&bad).unwrap();
    named(&AppHost::parse(&text).unwrap_err(), &bad, "invalid XML at line");
    named(&web_config_rules(&text).unwrap_err(), &bad, "invalid XML");
    let e = vigie_health::modules::registrations(&text).unwrap_err();
    named(&e, &bad, "invalid XML");
    let cut = truncated(
        dir.path(),
        &Path::new(HC).join("applicationHost.config"),
        "cut.config",
    );
    let text = ConfigText::read(&cut).unwrap();
    named(&AppHost::parse(&text).unwrap_err(), &cut, "invalid XML at line");
}

#[test]
fn hive_reader_huge_garbled_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let big = huge(dir.path(), "SOFTWARE", 2 << 30);
    named(&read_hive(&big, HiveKind::Software).unwrap_err(), &big, "limit");
    let bad = dir.path().join("SYSTEM");
    std::fs::write(&bad, garbage()).unwrap();
    named(&read_hive(&bad, HiveKind::System).unwrap_err(), &bad, "regf");
    let mut h = HiveBuilder::new();
    h.value("Select", "Current", RegData::Dword(1));
    let good = dir.path().join("good");
    std::fs::write(&good, h.build()).unwrap();
    let cut = truncated(dir.path(), &good, "SYSTEM.cut");
    let e = read_hive(&cut, HiveKind::System).unwrap_err();
    named(&e, &cut, "truncated");
}

#[test]
fn reg_export_reader_huge_garbled_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let big = huge(dir.path(), "system.reg", 256 << 20);
    named(&read_reg_export(&big).unwrap_err(), &big, "limit");
    let bad = dir.path().join("software.reg");
    std::fs::write(&bad, garbage()).unwrap();
    named(&read_reg_export(&bad).unwrap_err(), &bad, "not a .reg export");
    let full = dir.path().join("full.reg");
    std::fs::write(
        &full,
        "Windows Registry Editor Version 5.00\r\n\r\n\
         [HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Lsa]\r\n\
         \"LmCompatibilityLevel\"=dword:00000005\r\n\
         \"Security Packages\"=hex(7):22,00,22,00,00,00,00,00\r\n",
    )
    .unwrap();
    // Cut inside the last value's data: a named error with the line.
    let cut = dir.path().join("cut.reg");
    let bytes = std::fs::read(&full).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 12]).unwrap();
    match read_reg_export(&cut) {
        Err(e) => named(&e, &cut, "not a .reg export"),
        Ok(hives) => {
            // A cut that leaves a whole, shorter value is a valid export;
            // what it does hold is still read.
            assert!(!hives.is_empty());
        }
    }
}

#[test]
fn clixml_reader_huge_garbled_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let big = huge(dir.path(), "GetSettingOverride.xml", 128 << 20);
    named(&vigie_health::clixml::read_file(&big).unwrap_err(), &big, "limit");
    let bad = dir.path().join("ExSetup.xml");
    std::fs::write(&bad, garbage()).unwrap();
    let e = vigie_health::clixml::read_file(&bad).unwrap_err();
    named(&e, &bad, "CLIXML");
    let cut = truncated(
        dir.path(),
        &Path::new(HC).join("GetSettingOverride.xml"),
        "cut.xml",
    );
    let e = vigie_health::clixml::read_file(&cut).unwrap_err();
    named(&e, &cut, "CLIXML");
}
