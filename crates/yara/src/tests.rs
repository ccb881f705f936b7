//! Unit tests: embedded rules load, broken files are reported, hits
//! carry their metadata.

use super::*;

// A China Chopper one-liner, base64-encoded so no live-looking web shell
// text sits in the repository; decoded in memory only.
const CHOPPER_B64: &str = "PHNjcmlwdCBsYW5ndWFnZT0iSlNjcmlwdCIgcnVuYXQ9InNlcnZlciI+ZnVuY3Rpb24gUGFnZV9Mb2FkKCl7LyoqL2V2YWwoUmVxdWVzdFsiY29kZSJdLCJ1bnNhZmUiKTt9PC9zY3JpcHQ+";

fn b64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn ctx(name: &str) -> FileContext {
    FileContext {
        filepath: format!(r"C:\inetpub\wwwroot\aspnet_client\{name}"),
        filename: name.to_string(),
        extension: "aspx".to_string(),
    }
}

#[test]
fn embedded_rules_compile_and_find_chopper_with_author() {
    let set = RuleSet::compile(&[embedded_rules()]).unwrap();
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    assert_eq!(set.summary.rules, 5);
    let mut s = set.scanner();
    let hits = s.scan(&b64(CHOPPER_B64), &ctx("x.aspx")).unwrap();
    let hit = hits
        .iter()
        .find(|m| m.rule == "VIGIE_WebShell_ChinaChopper_Script_Tag")
        .unwrap();
    assert_eq!(hit.meta["author"], "vigie");
    assert!(hit.meta["reference"].starts_with("https://"));
    assert!(hit.origin.contains("embedded"));
}

#[test]
fn benign_page_does_not_match() {
    let set = RuleSet::compile(&[embedded_rules()]).unwrap();
    let page = b"<%@ Page Language=\"C#\" %><html><body>Sign in</body></html>";
    assert!(set.scanner().scan(page, &ctx("logon.aspx")).unwrap().is_empty());
}

#[test]
fn broken_file_is_reported_and_others_still_load() {
    let good = RuleSource {
        origin: "good.yar".into(),
        text: "rule same_name { meta: author = \"A\" strings: $a = \"zzq\" \
               condition: $a }"
            .into(),
    };
    let dup = RuleSource {
        origin: "dup.yar".into(),
        text: "rule same_name { condition: filename == \"x.aspx\" }".into(),
    };
    let bad = RuleSource {
        origin: "bad.yar".into(),
        text: "rule broken { strings: $a = \"x\" condition: $b }".into(),
    };
    let set = RuleSet::compile(&[good, bad, dup]).unwrap();
    assert_eq!(set.summary.sources_loaded, 2);
    assert_eq!(set.summary.sources_failed, 1);
    assert_eq!(set.errors.len(), 1);
    assert_eq!(set.errors[0].subject, "bad.yar");
    assert!(set.errors[0].message.contains("not loaded"));
    let hits = set.scanner().scan(b"..zzq..", &ctx("x.aspx")).unwrap();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(hits.iter().any(|h| h.meta.contains_key("author")));
}

#[test]
fn nothing_compiles_is_an_error() {
    let bad = RuleSource { origin: "bad.yar".into(), text: "rule {".into() };
    assert!(matches!(RuleSet::compile(&[bad]), Err(YaraError::NoRules)));
}

#[test]
fn load_dir_reads_rule_files_and_reports_empty_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let (s, e) = load_dir(dir.path());
    assert!(s.is_empty());
    assert_eq!(e.len(), 1);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/a.yar"), "rule a {condition: true}")
        .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    let (s, e) = load_dir(dir.path());
    assert_eq!(s.len(), 1);
    assert!(e.is_empty());
}
