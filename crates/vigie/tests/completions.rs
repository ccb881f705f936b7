//! `vigie completions` and `vigie man`: generated from the CLI definition,
//! so every subcommand and its options appear, for every shell.

use assert_cmd::Command;

fn vigie() -> Command {
    Command::cargo_bin("vigie").unwrap()
}

fn stdout(args: &[&str]) -> String {
    let out = vigie().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

const SUBCOMMANDS: [&str; 9] = [
    "check", "scan", "lab", "hunt", "report", "diff", "history", "notify",
    "demo",
];

#[test]
fn completion_scripts_name_every_subcommand_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = stdout(&["completions", shell]);
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
        // An option deep in one subcommand: generated, not hand-kept.
        assert!(script.contains("host-timeout"), "{shell}: scan options");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = vigie().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn man_page_is_roff_with_every_subcommand() {
    let page = stdout(&["man"]);
    assert!(page.starts_with(".ie") || page.contains(".TH vigie"), "{page}");
    for sub in SUBCOMMANDS {
        assert!(page.contains(sub), "man page: no {sub}");
    }
}

#[test]
fn man_dir_writes_one_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    stdout(&["man", "--dir", out.to_str().unwrap()]);
    let main = std::fs::read_to_string(out.join("vigie.1")).unwrap();
    assert!(main.contains(".TH vigie"));
    let hunt = std::fs::read_to_string(out.join("vigie-hunt.1")).unwrap();
    assert!(
        hunt.contains("exchange\\-root") || hunt.contains("exchange-root")
    );
    for sub in SUBCOMMANDS {
        assert!(out.join(format!("vigie-{sub}.1")).exists(), "{sub}");
    }
}
