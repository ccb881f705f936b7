//! `vigie scan` (the real binary) against an emulated fleet on loopback:
//! every host's status, product, build, precision, state and open CVE
//! families must be what the lab's manifest expects; the lab's request
//! log proves the default scan is passive and that `--ssrf-check` sends
//! exactly Microsoft's cookie probe, and says so in the output. Each
//! output format is snapshotted on a small fleet of chosen personas.
//!
//! Only loopback is contacted (every base is in 127.0.0.0/8).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use vigie_lab::persona::{EXPECTED_AS_OF, by_name};
use vigie_lab::{Fleet, FleetConfig, ManifestEntry, RequestRecord};
use vigie_scan::probe::{EXPORTTOOL, LOGON, OWA, SSRF_COOKIE, SSRF_PATH};

/// A fleet and the runtime that serves it while the binary runs.
struct Lab {
    rt: tokio::runtime::Runtime,
    fleet: Option<Fleet>,
}

impl Lab {
    fn start(config: FleetConfig) -> Lab {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fleet = rt.block_on(Fleet::start(config)).unwrap();
        Lab { rt, fleet: Some(fleet) }
    }

    fn fleet(&self) -> &Fleet {
        self.fleet.as_ref().unwrap()
    }

    fn manifest(&self) -> &[ManifestEntry] {
        self.fleet().manifest()
    }

    /// `first-last` of the fleet's addresses.
    fn range(&self) -> String {
        let m = self.manifest();
        format!("{}-{}", m[0].address, m[m.len() - 1].address)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(f) = self.fleet.take() {
            self.rt.block_on(f.shutdown());
        }
    }
}

/// Fixed ports (8443 TLS, 8080 plain), a short slow delay.
fn config(base: [u8; 4], hosts: usize, seed: u64) -> FleetConfig {
    FleetConfig {
        hosts,
        seed,
        base: Ipv4Addr::from(base),
        https_port: 8443,
        http_port: 8080,
        slow_delay: Duration::from_millis(300),
        ..Default::default()
    }
}

/// `vigie scan RANGE` with short timeouts (the tarpit costs one TLS
/// timeout); `extra` gives the ports.
fn scan(range: &str, extra: &[&str]) -> Output {
    Command::cargo_bin("vigie")
        .unwrap()
        .args(["scan", range, "--as-of", EXPECTED_AS_OF])
        .args(["--rate", "0", "--per-subnet", "0", "--no-progress"])
        .args(["--connect-timeout", "2", "--tls-timeout", "1"])
        .args(["--request-timeout", "3"])
        .args(extra)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

/// Results by `address:port`; each target exactly once.
fn by_target(stdout: &[u8]) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    for line in String::from_utf8_lossy(stdout).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let key = format!("{}:{}", v["ip"].as_str().unwrap(), v["port"]);
        assert!(map.insert(key.clone(), v).is_none(), "{key} twice");
    }
    map
}

fn open_families(r: &Value) -> Vec<String> {
    let mut f: Vec<String> = r["assessment"]["cves"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["state"] == "vulnerable")
        .map(|c| c["family"].as_str().unwrap().to_string())
        .collect();
    f.sort();
    f.dedup();
    f
}

/// The one-word state `HostResult::state` gives, from the JSON.
fn state(r: &Value) -> &'static str {
    match r["status"].as_str().unwrap() {
        "exchange" if r["assessment"].is_null() => "unknown",
        "exchange" if open_families(r).is_empty() => "patched",
        "exchange" => "vulnerable",
        "not_exchange" => "not_exchange",
        "closed" => "closed",
        _ => "error",
    }
}

fn cve_state(r: &Value, cve: &str) -> String {
    r["assessment"]["cves"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["cve"] == cve)
        .map_or("unknown".into(), |c| c["state"].as_str().unwrap().into())
}

/// Every manifest host judged as expected; `active` adds the probe.
fn assert_matches_manifest(
    manifest: &[ManifestEntry],
    results: &BTreeMap<String, Value>,
    active: bool,
) {
    for h in manifest {
        let key = format!("{}:{}", h.address, h.port);
        let r = results.get(&key).unwrap_or_else(|| panic!("{key} missing"));
        let e = &h.expected;
        let who = format!("{key} {}", h.persona);
        assert_eq!(
            r["status"],
            serde_json::to_value(e.status).unwrap(),
            "{who}"
        );
        assert_eq!(state(r), e.state, "{who}");
        assert_eq!(r["build"].as_str(), e.build.as_deref(), "{who}");
        assert_eq!(
            r["precision"],
            serde_json::to_value(e.precision).unwrap(),
            "{who}"
        );
        assert_eq!(open_families(r), e.open_families, "{who}");
        if e.build.is_some() {
            assert_eq!(r["product"].as_str(), h.product.as_deref(), "{who}");
            assert_eq!(cve_state(r, "CVE-2021-26855"), e.proxylogon, "{who}");
        }
        let ssrf = if active { e.ssrf } else { None };
        assert_eq!(
            r["ssrf_check"],
            serde_json::to_value(ssrf).unwrap(),
            "{who}"
        );
    }
}

fn is_passive(q: &RequestRecord) -> bool {
    let cookie = q.headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("cookie")
            || v.contains("X-BEResource")
            || v.contains("X-AnonResource")
    });
    matches!(q.method.as_str(), "GET" | "HEAD")
        && [OWA, LOGON, EXPORTTOOL].contains(&q.path.as_str())
        && !cookie
}

#[test]
fn scan_of_a_mixed_fleet_matches_the_manifest_and_stays_passive() {
    let lab = Lab::start(config([127, 61, 0, 1], 300, 11));
    let personas: BTreeSet<&str> =
        lab.manifest().iter().map(|h| h.persona.as_str()).collect();
    assert_eq!(personas.len(), vigie_lab::PERSONAS.len(), "all personas");

    let out =
        scan(&lab.range(), &["-p", "8443,8080", "--max-inflight", "256"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panick"), "{stderr}");
    assert!(!stderr.contains("ACTIVE"), "{stderr}");
    let results = by_target(&out.stdout);
    assert_eq!(results.len(), 600, "every address on both ports");
    assert_matches_manifest(lab.manifest(), &results, false);
    // Nor does any result claim an active check.
    for (key, r) in &results {
        let active = r["evidence"].as_array().into_iter().flatten().any(|e| {
            e["signal"].as_str().is_some_and(|s| s.starts_with("active:"))
                || e["request"].as_str().is_some_and(|s| s.contains("ACTIVE"))
        });
        assert!(!active, "{key}: active evidence in a passive scan");
    }

    let seen = lab.fleet().take_requests();
    assert!(!seen.is_empty());
    let active: Vec<_> = seen.iter().filter(|q| !is_passive(q)).collect();
    assert!(active.is_empty(), "not passive: {active:#?}");
    // Each Exchange host was read with the passive requests only.
    for path in [OWA, LOGON] {
        assert!(seen.iter().any(|q| q.path == path), "{path} never sent");
    }
    // Guards keep-alive: a host's passive requests share one connection
    // (one TCP and TLS handshake on each side).
    let mut peers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for q in &seen {
        peers.entry(&q.address).or_default().insert(&q.peer);
    }
    for h in lab.manifest().iter().filter(|h| h.build.is_some()) {
        let p = &peers[h.address.as_str()];
        assert_eq!(p.len(), 1, "{} {}: {p:?}", h.address, h.persona);
    }
}

#[test]
fn ssrf_check_sends_exactly_microsofts_probe_and_labels_it() {
    // The first PERSONAS.len() hosts of a fleet wear every persona once.
    let lab =
        Lab::start(config([127, 62, 0, 1], vigie_lab::PERSONAS.len(), 3));
    let out = scan(&lab.range(), &["-p", "8443,8080", "--ssrf-check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ACTIVE ProxyLogon cookie probe (--ssrf-check)"),
        "{stderr}"
    );
    let results = by_target(&out.stdout);
    assert_matches_manifest(lab.manifest(), &results, true);

    // Exactly one probe per Exchange host, nothing else but passive GETs.
    let mut probed = BTreeSet::new();
    for q in lab.fleet().requests() {
        if is_passive(&q) {
            continue;
        }
        assert_eq!((q.method.as_str(), q.path.as_str()), ("GET", SSRF_PATH));
        let cookies: Vec<_> = q
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(cookies, [SSRF_COOKIE]);
        assert!(probed.insert(q.address.clone()), "{} twice", q.address);
    }
    let exchange: BTreeSet<String> = lab
        .manifest()
        .iter()
        .filter(|h| h.build.is_some())
        .map(|h| h.address.clone())
        .collect();
    assert_eq!(probed, exchange);

    // Each probed host's result says the check was active.
    for h in lab.manifest().iter().filter(|h| h.build.is_some()) {
        let r = &results[&format!("{}:{}", h.address, h.port)];
        let ev = r["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["signal"] == "active:ssrf-cookie-probe")
            .unwrap_or_else(|| panic!("{} unlabelled", h.persona));
        assert!(ev["request"].as_str().unwrap().contains("ACTIVE"));
    }
}

/// One host of each kind: vulnerable, patched, CU-only, 2010, web
/// server, garbage, closed.
fn snapshot_lab(base: [u8; 4]) -> Lab {
    let names = [
        "ex2019-cu8-vulnerable",
        "exse-rtm-aug26su",
        "ex2016-cu19-stripped",
        "ex2010-sp3-ru30",
        "iis-default",
        "garbage",
        "closed",
    ];
    let mut c = config(base, names.len(), 0);
    for (i, n) in names.iter().enumerate() {
        c.overrides.insert(i as u64, by_name(n).unwrap());
    }
    Lab::start(c)
}

/// Times, durations and the per-run certificate vary: blank them.
fn redact(text: &str) -> String {
    let patterns = [
        (r#""scanned_at": ?"[^"]*""#, r#""scanned_at": "[time]""#),
        (r#""elapsed_ms": ?\d+"#, r#""elapsed_ms": 0"#),
        // The suite depends on the CPU (AES or ChaCha first).
        (r#""cipher": ?"[^"]*""#, r#""cipher": "[suite]""#),
        (r#""cert_sha256": ?"[0-9a-f]{64}""#, r#""cert_sha256": "[sha256]""#),
        (r#""not_(before|after)": ?"[^"]*""#, r#""not_$1": "[time]""#),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", "[time]"),
    ];
    let mut out = text.to_string();
    for (re, with) in patterns {
        out = regex::Regex::new(re).unwrap().replace_all(&out, with).into();
    }
    out
}

#[test]
fn each_output_format_snapshot() {
    let lab = snapshot_lab([127, 63, 0, 1]);
    for format in ["table", "json", "jsonl", "csv"] {
        // One target at a time, in the seed's order: stable output.
        let out = scan(
            &lab.range(),
            &["--format", format, "--max-inflight", "1", "-p", "8443"],
        );
        assert_eq!(out.status.code(), Some(1), "{format}");
        let text = redact(&String::from_utf8(out.stdout).unwrap());
        if format == "json" {
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["results"].as_array().unwrap().len(), 7);
        }
        insta::assert_snapshot!(format!("scan_lab_{format}"), text);
    }
}

/// A list file the nmap way (`-iL`), with a garbage line named and
/// skipped; the scan goes on and exits 3 only if nothing is open.
#[test]
fn nmap_style_input_list_and_bad_lines() {
    let lab = snapshot_lab([127, 63, 1, 1]);
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("fleet.txt");
    let mut text = String::from("# fleet\n");
    for h in lab.manifest() {
        text.push_str(&format!("{}:{}\n", h.address, h.port));
    }
    text.push_str("not a target\n");
    text.push_str(&"x".repeat(10_000));
    text.push('\n');
    std::fs::write(&list, text).unwrap();
    let out = Command::cargo_bin("vigie")
        .unwrap()
        .args(["scan", "-iL"])
        .arg(&list)
        .args(["--as-of", EXPECTED_AS_OF, "--no-progress"])
        .args(["--tls-timeout", "1", "--format", "jsonl"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("fleet.txt:9"), "{stderr}");
    assert!(stderr.contains("fleet.txt:10: \"<line longer"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let results = by_target(&out.stdout);
    assert_eq!(results.len(), 7);
    assert_matches_manifest(lab.manifest(), &results, false);
}
