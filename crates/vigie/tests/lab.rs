//! CLI tests of `vigie lab serve`: manifest shape, determinism, refusal of
//! non-loopback bases.

use assert_cmd::Command;

fn serve(dir: &std::path::Path, base: &str, seed: &str) -> serde_json::Value {
    serve_with(dir, base, seed, &[])
}

fn serve_with(
    dir: &std::path::Path,
    base: &str,
    seed: &str,
    extra: &[&str],
) -> serde_json::Value {
    let manifest = dir.join(format!("m-{base}-{seed}.json"));
    Command::cargo_bin("vigie")
        .unwrap()
        .args(["lab", "serve", "--hosts", "8", "--duration", "1"])
        .args(["--seed", seed, "--base", base])
        .args(["--https-port", "0", "--http-port", "0", "--manifest"])
        .arg(&manifest)
        .args(extra)
        .assert()
        .success();
    let text = std::fs::read_to_string(manifest).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn serve_writes_a_manifest_of_every_host() {
    let dir = tempfile::tempdir().unwrap();
    let m = serve(dir.path(), "127.78.0.1", "5");
    let hosts = m.as_array().unwrap();
    assert_eq!(hosts.len(), 8);
    for (i, h) in hosts.iter().enumerate() {
        assert_eq!(h["address"], format!("127.78.0.{}", i + 1));
        assert!(h["persona"].is_string());
        assert!(["https", "http"].contains(&h["scheme"].as_str().unwrap()));
        let status = h["expected"]["status"].as_str().unwrap();
        assert!(
            ["exchange", "not_exchange", "closed", "error"].contains(&status)
        );
        if status == "exchange" {
            assert!(h["expected"]["build"].is_string());
            assert!(h["expected"]["precision"].is_string());
        }
    }
}

#[test]
fn same_seed_same_personas() {
    let dir = tempfile::tempdir().unwrap();
    let names = |m: serde_json::Value| -> Vec<String> {
        m.as_array()
            .unwrap()
            .iter()
            .map(|h| h["persona"].as_str().unwrap().to_string())
            .collect()
    };
    let a = names(serve(dir.path(), "127.78.1.1", "9"));
    let b = names(serve(dir.path(), "127.78.2.1", "9"));
    assert_eq!(a, b);
}

#[test]
fn non_loopback_base_is_a_usage_error() {
    Command::cargo_bin("vigie")
        .unwrap()
        .args(["lab", "serve", "--hosts", "2", "--duration", "1"])
        .args(["--base", "10.0.0.1"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("127.0.0.0/8"));
}

/// Regression guard for fleets larger than one process's open-files
/// limit: worker processes must add up to the single-process fleet.
#[test]
fn worker_processes_add_up_to_the_same_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let strip = |m: serde_json::Value| -> Vec<(String, String)> {
        m.as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let a = h["address"].as_str().unwrap().to_string();
                (a, h["persona"].as_str().unwrap().to_string())
            })
            .collect()
    };
    let one = strip(serve(dir.path(), "127.78.3.1", "11"));
    let split = strip(serve_with(
        dir.path(),
        "127.78.3.1",
        "11",
        &["--hosts-per-process", "3"],
    ));
    assert_eq!(one.len(), 8);
    assert_eq!(one, split);
}

/// `--persona INDEX=NAME` upgrades chosen hosts and leaves the others as
/// the seed drew them, also when worker processes serve the fleet.
#[test]
fn persona_overrides_change_only_the_chosen_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let personas = |m: &serde_json::Value| -> Vec<String> {
        m.as_array()
            .unwrap()
            .iter()
            .map(|h| h["persona"].as_str().unwrap().to_string())
            .collect()
    };
    let before = personas(&serve(dir.path(), "127.78.4.1", "12"));
    let after = serve_with(
        dir.path(),
        "127.78.5.1",
        "12",
        &[
            "--persona",
            "1=exse-rtm-aug26su",
            "--persona",
            "6=closed",
            "--hosts-per-process",
            "3",
        ],
    );
    let mut want = before.clone();
    want[1] = "exse-rtm-aug26su".into();
    want[6] = "closed".into();
    assert_eq!(personas(&after), want);
    assert_eq!(after[1]["expected"]["state"], "patched");

    for (bad, why) in [
        ("8=closed", "hosts 0 to 7"),
        ("1=ex2099", "no persona \"ex2099\""),
        ("x", "INDEX=NAME"),
    ] {
        Command::cargo_bin("vigie")
            .unwrap()
            .args(["lab", "serve", "--hosts", "8", "--duration", "1"])
            .args(["--base", "127.78.6.1", "--persona", bad])
            .assert()
            .code(2)
            .stderr(predicates::str::contains(why));
    }
}
