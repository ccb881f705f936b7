//! Unit tests of the file checks: each detector on a positive and a
//! negative file, the list parsers, the minidump reader on hostile
//! input, and the rule catalogue.

use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, SystemTime};

use vigie_model::{Grade, ItemErrorKind, Severity};

use super::*;
use crate::place::windows_path;

const V15: &str = "Program Files/Microsoft/Exchange Server/V15";

/// 2021-03-03, during the ProxyLogon wave.
fn march_2021() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_614_729_600)
}

/// 2019-06-01, before any of the Exchange waves.
fn june_2019() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_559_347_200)
}

/// Write `data` at `rel` below a fresh server root, dated `mtime`, and
/// check it with `intel`.
fn check_with(
    intel: &FileIntel,
    rel: &str,
    data: &[u8],
    mtime: SystemTime,
) -> FileOutcome {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("EX01");
    let p = base.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, data).unwrap();
    let f = std::fs::File::options().write(true).open(&p).unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    let meta = std::fs::symlink_metadata(&p).unwrap();
    let win = windows_path(&p, &base, false);
    intel.worker().check(&p, &win, &meta)
}

fn check(rel: &str, data: &[u8]) -> FileOutcome {
    let (intel, errors) = FileIntel::load(&FileIntelOptions::default());
    assert!(errors.is_empty(), "{errors:?}");
    check_with(&intel, rel, data, march_2021())
}

fn rules_of(o: &FileOutcome) -> Vec<&str> {
    o.findings.iter().map(|f| f.rule_id.as_str()).collect()
}

/// A minimal minidump whose first module is `exe`.
fn minidump(exe: &str) -> Vec<u8> {
    let name: Vec<u8> =
        exe.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let mut b = b"MDMP".to_vec();
    for v in [0xa793u32, 1, 32, 0, 1_615_685_400] {
        b.extend(v.to_le_bytes());
    }
    b.extend(0u64.to_le_bytes());
    for v in [4u32, 112, 44, 1] {
        b.extend(v.to_le_bytes());
    }
    b.extend(0x7ff7_0000_0000u64.to_le_bytes());
    for v in [0x10000u32, 0, 0, 156] {
        b.extend(v.to_le_bytes());
    }
    b.extend([0u8; 84]);
    b.extend((name.len() as u32).to_le_bytes());
    b.extend(name);
    b
}

#[test]
fn legit_owa_page_is_quiet_and_foreign_page_is_a_shell() {
    let auth = format!("{V15}/FrontEnd/HttpProxy/owa/auth");
    let o = check(&format!("{auth}/logon.aspx"), b"<%@ Page %>");
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    assert!(o.webshell_url.is_none());
    let o = check(&format!("{auth}/OutlookZH.aspx"), b"harmless");
    assert_eq!(rules_of(&o), ["VG-FS-003"]);
    let f = &o.findings[0];
    assert_eq!(f.grade, Grade::Compromised);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.attack, ["T1505.003"]);
    assert!(f.details["references"].starts_with("https://"));
    assert!(f.details.contains_key("sha256"));
    assert_eq!(o.webshell_url.as_deref(), Some("/owa/auth/outlookzh.aspx"));
    // File times go to the timeline.
    assert!(o.timeline.iter().any(|e| e.kind == "file_modified"));
}

#[test]
fn drop_folder_non_pages_are_context_and_configs_suspicious() {
    let o = check("inetpub/wwwroot/aspnet_client/readme.txt", b"x");
    assert_eq!(o.findings[0].grade, Grade::Info);
    assert!(o.webshell_url.is_none());
    let o = check("inetpub/wwwroot/aspnet_client/web.config", b"<x/>");
    assert_eq!(o.findings[0].grade, Grade::Attempt);
    // .NET's own client scripts are known (embedded allowlist).
    let o = check(
        "inetpub/wwwroot/aspnet_client/system_web/1_1_4322/SmartNav.js",
        b"//",
    );
    assert!(o.findings.is_empty(), "{:?}", o.findings);
}

#[test]
fn pages_in_oab_folders_are_shells_and_oab_files_are_not() {
    let oab = format!("{V15}/FrontEnd/HttpProxy/OAB");
    let o = check(&format!("{oab}/x.aspx"), b"harmless");
    assert_eq!(rules_of(&o), ["VG-FS-003"]);
    assert_eq!(o.webshell_url.as_deref(), Some("/oab/x.aspx"));
    let o = check(&format!("{oab}/web.config"), b"<x/>");
    assert!(o.findings.is_empty());
    let guid = "ClientAccess/OAB/8e2a5d1c-1111-2222-3333-444455556666";
    let o = check(&format!("{V15}/{guid}/oab.xml"), b"<OAB/>");
    assert!(o.findings.is_empty());
    let o = check(&format!("{V15}/{guid}/shell.aspx"), b"x");
    assert_eq!(o.findings[0].details["folder"], r"ClientAccess\OAB");
}

#[test]
fn allowlist_data_parses_and_matches_components() {
    let a = webshell::Allowlist::embedded();
    assert_eq!(a.len(), 4);
    let dir = crate::place::ShellDir::AspnetClient;
    assert!(a.allows(dir, r"system_web\2_0_50727\webuivalidation.js"));
    assert!(!a.allows(dir, r"system_web\webuivalidation.js"));
    assert!(!a.allows(dir, r"system_web\a\b\webuivalidation.js"));
}

#[test]
fn pst_and_der_pages_are_proxyshell_exports_and_cer_is_not() {
    let auth = "inetpub/wwwroot/aspnet_client";
    let mut pst = b"!BDN".to_vec();
    pst.extend([0u8; 600]);
    let o = check(&format!("{auth}/x.aspx"), &pst);
    let rules = rules_of(&o);
    assert!(rules.contains(&"VG-FS-004"), "{rules:?}");
    let f = o.findings.iter().find(|f| f.rule_id == "VG-FS-004").unwrap();
    assert!(f.cves.contains(&"CVE-2021-34473".to_string()));
    assert!(f.details["content"].contains("PST"));
    // Anywhere, not only in drop folders.
    let der = [0x30, 0x82, 0x02, 0x10, 0x30, 0x82];
    let o = check("ProgramData/COM1/cert.aspx", &der);
    assert_eq!(rules_of(&o), ["VG-FS-004"]);
    let pem = b"\xef\xbb\xbf-----BEGIN NEW CERTIFICATE REQUEST-----\r\nMII";
    let o = check("Users/Public/req.aspx", pem);
    assert_eq!(rules_of(&o), ["VG-FS-004"]);
    // A DER certificate named .cer is just a certificate.
    let o = check("Users/admin/Desktop/ca.cer", &der);
    assert!(o.findings.is_empty());
    // An ordinary page is not an export.
    let o = check("inetpub/wwwroot/site/default.aspx", b"<%@ Page %>");
    assert!(o.findings.is_empty());
}

#[test]
fn compiled_pages_prove_foreign_pages_ran() {
    let tmp = "Windows/Microsoft.NET/Framework64/v4.0.30319/\
               Temporary ASP.NET Files/owa/1a2b3c4d/5e6f7a8b";
    let xml = |vp: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<preserve \
             resultType=\"3\" virtualPath=\"{vp}\" hash=\"1\" />"
        )
    };
    let o = check(
        &format!("{tmp}/ohyeah.aspx.cdcab7d2.compiled"),
        xml("/owa/auth/ohyeah.aspx").as_bytes(),
    );
    assert_eq!(rules_of(&o), ["VG-FS-005"]);
    assert_eq!(o.findings[0].grade, Grade::Compromised);
    assert_eq!(o.webshell_url.as_deref(), Some("/owa/auth/ohyeah.aspx"));
    let o = check(
        &format!("{tmp}/logon.aspx.cdcab7d2.compiled"),
        xml("/owa/auth/logon.aspx").as_bytes(),
    );
    assert!(o.findings.is_empty());
    // Deep Exchange pages are Exchange's; the site root has none.
    let o = check(
        &format!("{tmp}/x.aspx.1.compiled"),
        xml("/ecp/Organize/x.aspx").as_bytes(),
    );
    assert!(o.findings.is_empty());
    let o =
        check(&format!("{tmp}/s.aspx.1.compiled"), xml("/s.aspx").as_bytes());
    assert_eq!(o.findings[0].grade, Grade::Attempt);
    assert!(o.webshell_url.is_none());
    // Not XML, or not a page: nothing.
    let o = check(&format!("{tmp}/y.aspx.1.compiled"), b"\x00\xff");
    assert!(o.findings.is_empty());
    assert!(!compiled::is_compiled_page("app_web_x.dll.compiled"));
    assert!(compiled::is_compiled_page("a.b.ashx.12ab.compiled"));
}

#[test]
fn lsass_dumps_are_found_by_content_under_any_name() {
    let o = check(
        "Windows/Temp/chrome.gif",
        &minidump(r"C:\Windows\System32\lsass.exe"),
    );
    assert_eq!(rules_of(&o), ["VG-FS-006"]);
    let f = &o.findings[0];
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.details["matched_by"], "content");
    assert_eq!(f.details["dump_time"], "2021-03-14T01:30:00Z");
    assert_eq!(f.attack, ["T1003.001"]);
    // By name, whatever the content (procdump's default name).
    let o = check("root/lsass.exe_210303_010101.dmp", b"not a dump");
    assert_eq!(rules_of(&o), ["VG-FS-006"]);
    assert_eq!(o.findings[0].details["matched_by"], "name");
    // lsass.exe itself is not a dump.
    let o = check("Windows/System32/lsass.exe", b"MZ\x90\x00");
    assert!(o.findings.is_empty());
}

#[test]
fn other_dumps_are_context_in_staging_and_quiet_in_crash_folders() {
    let dump = minidump(r"C:\Windows\System32\notepad.exe");
    let o = check("ProgramData/n.dmp", &dump);
    assert_eq!(rules_of(&o), ["VG-FS-009"]);
    assert_eq!(o.findings[0].grade, Grade::Info);
    assert_eq!(
        o.findings[0].details["dumped_process"],
        r"C:\Windows\System32\notepad.exe"
    );
    let o =
        check("ProgramData/Microsoft/Windows/WER/ReportQueue/a/n.dmp", &dump);
    assert!(o.findings.is_empty());
    let o = check("Users/admin/n.dmp", &dump);
    assert!(o.findings.is_empty());
}

#[test]
fn truncated_and_hostile_minidumps_are_errors_not_panics() {
    let good = minidump(r"C:\Windows\System32\lsass.exe");
    for cut in [4, 16, 31, 40, 60, 150, 158, good.len() - 1] {
        let r = lsass::read_dump(&mut Cursor::new(&good[..cut]), cut as u64);
        assert!(r.is_err(), "cut at {cut}");
    }
    let mut huge = good.clone();
    huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(
        lsass::read_dump(&mut Cursor::new(&huge), huge.len() as u64).is_err()
    );
    let mut far = good.clone();
    far[12..16].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    assert!(
        lsass::read_dump(&mut Cursor::new(&far), far.len() as u64).is_err()
    );
    let mut odd = good.clone();
    odd[156..160].copy_from_slice(&3u32.to_le_bytes());
    assert!(
        lsass::read_dump(&mut Cursor::new(&odd), odd.len() as u64).is_err()
    );
    // Through the worker: one recorded error, and the staging context.
    let o = check("Windows/Temp/x.bin", &good[..60]);
    assert_eq!(o.errors.len(), 1);
    assert_eq!(o.errors[0].kind, ItemErrorKind::Truncated);
    assert_eq!(rules_of(&o), ["VG-FS-009"]);
}

#[test]
fn staged_archives_are_judged_by_place_and_time() {
    let (intel, _) = FileIntel::load(&FileIntelOptions::default());
    let zip = b"PK\x03\x04\x14\x00";
    let o = check_with(&intel, "ProgramData/it.zip", zip, march_2021());
    assert_eq!(rules_of(&o), ["VG-FS-007"]);
    let f = &o.findings[0];
    assert_eq!((f.grade, f.severity), (Grade::Attempt, Severity::High));
    assert!(f.summary.contains("on or after 2020-12-01"));
    // A vendor zip from 2019: context only, with the reason.
    let o = check_with(&intel, "ProgramData/agent.zip", zip, june_2019());
    let f = &o.findings[0];
    assert_eq!((f.grade, f.severity), (Grade::Info, Severity::Low));
    assert!(f.summary.contains("predates"));
    // By magic whatever the name, and by name whatever the content.
    let sz = b"7z\xbc\xaf\x27\x1c\x00\x04";
    let o = check_with(&intel, "root/data.tmp", sz, march_2021());
    assert_eq!(o.findings[0].details["archive_kind"], "7z");
    let o = check_with(&intel, "Windows/Temp/x.rar", b"xx", march_2021());
    assert_eq!(o.findings[0].details["archive_kind"], "rar");
    // A mailbox file in a web folder is downloadable by anyone.
    let o =
        check_with(&intel, "inetpub/wwwroot/box.pst", b"!BDN\0", march_2021());
    assert!(o.findings[0].summary.contains("mailbox file (PST)"));
    assert!(o.findings[0].summary.contains("IIS serves"));
    // Vendor subfolders, documents and other places are not judged.
    for rel in [
        "ProgramData/McAfee/Agent/x.zip",
        "ProgramData/report.docx",
        "Users/admin/Downloads/x.zip",
    ] {
        let o = check_with(&intel, rel, zip, march_2021());
        assert!(o.findings.is_empty(), "{rel}: {:?}", o.findings);
    }
}

#[test]
fn hash_lists_load_sha256_skip_md5_and_name_bad_lines() {
    let mut list = hashes::HashList::default();
    let mut errors = Vec::new();
    list.add_embedded(&mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(list.len(), 8);
    let text = "# c\n\n\u{feff}AB".to_string()
        + &"ab".repeat(31)
        + ";Mixed case\nd41d8cd98f00b204e9800998ecf8427e;md5\nzz;bad\n";
    list.add_text(&text, "t.txt", &mut errors);
    assert_eq!(list.len(), 9);
    assert_eq!(list.ignored, 1);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].subject, "t.txt:5");
    let mut d = [0xabu8; 32];
    assert_eq!(list.get(&d).unwrap().comment, "Mixed case");
    d[0] = 0;
    assert!(list.get(&d).is_none());
    // Thousands of bad lines: capped, then summed up.
    let mut errors = Vec::new();
    list.add_text(&"x\n".repeat(5000), "junk", &mut errors);
    assert_eq!(errors.len(), 21);
}

#[test]
fn sha256_file_streams_and_matches_known_digest() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("abc");
    std::fs::write(&p, b"abc").unwrap();
    assert_eq!(
        sha256_file(&p).unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(sha256_file(Path::new("/nonexistent/vigie")).is_err());
}

#[test]
fn filename_iocs_parse_compile_as_one_set_and_honour_false_positives() {
    let text = "# c\n\
        \\\\aspnet_client\\\\system_web\\\\[a-zA-Z0-9]{8}\\.aspx;90\n\
        (?i)\\\\procdump(64)?\\.exe;50;(?i)\\\\SysInternals\\\\\n\
        (?<=x)y;80\n\
        nope\n\
        a;notanumber\n\
        b;70;(\n";
    let mut errors = Vec::new();
    let iocs = names::parse(text, "f.txt", &mut errors);
    assert_eq!(iocs.len(), 2);
    let subjects: Vec<&str> =
        errors.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(subjects, ["f.txt:4", "f.txt:5", "f.txt:6", "f.txt:7"]);
    let set = names::NameIocs::compile(iocs, &mut errors);
    assert_eq!(set.len(), 2);
    let hit = set
        .matches(r"C:\inetpub\wwwroot\aspnet_client\system_web\AbCd1234.aspx");
    assert_eq!(hit[0].score, 90);
    assert_eq!(set.matches(r"C:\Tools\PROCDUMP.EXE").len(), 1);
    assert!(set.matches(r"C:\Tools\SysInternals\procdump.exe").is_empty());
    assert!(set.matches(r"C:\x\AbCd1234.aspx").is_empty());
}

#[test]
fn filename_ioc_grades_follow_scores() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("iocs.txt");
    std::fs::write(&list, "\\\\evil\\.aspx$;85\n\\\\meh\\.txt$;40\n").unwrap();
    let opts = FileIntelOptions {
        filename_ioc_files: vec![list],
        ..FileIntelOptions::default()
    };
    let (intel, errors) = FileIntel::load(&opts);
    assert!(errors.is_empty());
    let o = check_with(
        &intel,
        "inetpub/wwwroot/site/evil.aspx",
        b"x",
        march_2021(),
    );
    assert_eq!(rules_of(&o), ["VG-FS-008"]);
    assert_eq!(o.findings[0].grade, Grade::Compromised);
    assert_eq!(o.findings[0].attack, ["T1505.003"]);
    let o = check_with(&intel, "Users/a/meh.txt", b"x", march_2021());
    assert_eq!(o.findings[0].grade, Grade::Info);
    assert!(o.findings[0].attack.is_empty());
    let stats = intel.stats();
    assert!(stats.contains(&("filename_iocs".to_string(), 2)));
}

#[test]
fn missing_lists_and_rule_dirs_are_errors_and_embedded_rules_stay() {
    let dir = tempfile::tempdir().unwrap();
    let bad_rules = dir.path().join("rules");
    std::fs::create_dir(&bad_rules).unwrap();
    std::fs::write(bad_rules.join("broken.yar"), "rule x { condition: }")
        .unwrap();
    let opts = FileIntelOptions {
        yara_dirs: vec![bad_rules.clone(), dir.path().join("none")],
        hash_files: vec![dir.path().join("h.txt")],
        filename_ioc_files: vec![dir.path().join("n.txt")],
        ..FileIntelOptions::default()
    };
    let (intel, errors) = FileIntel::load(&opts);
    let about = |s: &str| errors.iter().any(|e| e.subject.contains(s));
    assert!(about("broken.yar"), "{errors:?}");
    assert!(about("none") && about("h.txt") && about("n.txt"));
    let stats: std::collections::BTreeMap<_, _> =
        intel.stats().into_iter().collect();
    assert_eq!(stats["yara_rules"], 5);
    assert_eq!(stats["yara_files_failed"], 1);
    // Only broken rules: each reason is still given.
    let opts = FileIntelOptions {
        yara_dirs: vec![bad_rules],
        no_embedded_yara: true,
        ..FileIntelOptions::default()
    };
    let (intel, errors) = FileIntel::load(&opts);
    assert!(errors.iter().any(|e| e.message.contains("not loaded")));
    assert!(errors.iter().any(|e| e.message.contains("without YARA")));
    assert_eq!(
        intel.stats().iter().find(|s| s.0 == "yara_rules").unwrap().1,
        0
    );
}

#[test]
fn unreadable_file_is_one_recorded_error() {
    let (intel, _) = FileIntel::load(&FileIntelOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("C/inetpub/wwwroot/aspnet_client/gone.aspx");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, b"x").unwrap();
    let meta = std::fs::metadata(&p).unwrap();
    std::fs::remove_file(&p).unwrap();
    let win = windows_path(&p, dir.path(), false);
    let o = intel.worker().check(&p, &win, &meta);
    assert_eq!(o.errors.len(), 1, "{:?}", o.errors);
    assert_eq!(o.errors[0].kind, ItemErrorKind::Io);
    assert!(o.errors[0].subject.contains("gone.aspx"));
    // The path alone still tells: a page in aspnet_client.
    assert_eq!(rules_of(&o), ["VG-FS-003"]);
}

#[test]
fn binary_and_empty_files_in_web_folders_do_not_panic() {
    let noise: Vec<u8> =
        (0..300_000u32).map(|i| i.wrapping_mul(2_654_435_761) as u8).collect();
    let o = check(
        &format!("{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"),
        &noise,
    );
    assert!(o.findings.is_empty() && o.errors.is_empty());
    assert_eq!(o.bytes_read, noise.len() as u64);
    let o =
        check(&format!("{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"), b"");
    assert!(o.findings.is_empty() && o.errors.is_empty());
    assert_eq!(o.bytes_read, 0);
}

#[test]
fn only_web_staging_and_script_files_are_read_whole() {
    let big = vec![b'a'; 100_000];
    let o = check("Windows/System32/big.dll", &big);
    assert_eq!(o.bytes_read, HEAD as u64);
    let o = check("inetpub/wwwroot/site/web.config", &big);
    assert_eq!(o.bytes_read, big.len() as u64);
    let o = check("ProgramData/x.ps1", &big);
    assert_eq!(o.bytes_read, big.len() as u64);
    let o = check("ProgramData/Vendor/Sub/x.ps1", &big);
    assert_eq!(o.bytes_read, HEAD as u64);
    let o = check("Users/a/x.aspx", &big);
    assert_eq!(o.bytes_read, big.len() as u64);
}

#[test]
fn rule_catalogue_ids_are_unique_and_documented() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/hunt-rules.md"
    ))
    .unwrap();
    let mut ids: Vec<&str> = rules::ALL.iter().map(|r| r.id).collect();
    // VG-FS-001.. in order, then the transport agent rules VG-TA-001..
    let fs = rules::ALL.iter().filter(|r| r.id.starts_with("VG-FS-"));
    for (i, r) in fs.enumerate() {
        assert_eq!(r.id, format!("VG-FS-{:03}", i + 1));
    }
    for r in rules::ALL.iter() {
        assert!(!r.title.is_empty() && !r.references.is_empty());
        assert!(
            doc.contains(&format!("| {} |", r.id)),
            "{} undocumented",
            r.id
        );
    }
    ids.dedup();
    assert_eq!(ids.len(), rules::ALL.len());
}

#[test]
fn parsers_survive_arbitrary_bytes() {
    let dump = minidump(r"C:\Windows\System32\lsass.exe");
    for cut in 0..dump.len() {
        fuzz_parsers(&dump[..cut]);
    }
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for len in [0, 1, 7, 64, 4096] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        fuzz_parsers(&bytes);
    }
    assert!(fuzz_parsers(b"(((;1\n\\\\a;70;[\nMDMP") > 0);
}
