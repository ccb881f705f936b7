//! The remediation story end to end on a lab fleet: `vigie scan --db`, a
//! change to the fleet (servers upgraded, one downgraded from an old
//! image, one decommissioned, one new), a second `vigie scan --db`; then
//! `vigie diff` must list exactly what the two lab manifests say changed
//! and `vigie history` must count each run as the manifests do.
//!
//! The expected changes come from the manifests' hand-written verdicts,
//! not from vigie's own engine. The story runs on an SQLite file and on
//! a PostgreSQL database (a private server, see `vigie-pgtest`; skipped
//! with a message where PostgreSQL is not installed, failed under
//! `CI=true`). Only loopback is contacted.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use vigie_lab::persona::{EXPECTED_AS_OF, by_name};
use vigie_lab::{Fleet, FleetConfig, ManifestEntry};

const HOSTS: usize = 40;
const SEED: u64 = 5;
const BASE: Ipv4Addr = Ipv4Addr::new(127, 64, 0, 1);
/// The PostgreSQL story's fleet (the two run at once in one process).
const BASE_PG: Ipv4Addr = Ipv4Addr::new(127, 164, 0, 1);

/// What the operators did between the scans: upgrades to the security
/// update or to a current build, by persona.
const UPGRADES: &[(&str, &str)] = &[
    ("ex2019-cu8-vulnerable", "ex2019-cu15-aug26su"),
    ("ex2016-cu19-vulnerable", "ex2016-cu19-mar21su"),
    ("ex2013-cu23-vulnerable", "ex2013-cu23-mar21su"),
    ("ex2016-cu23-rtm", "exse-rtm-aug26su"),
];

/// Serves the fleet, hands its manifest to `f`, then stops it.
fn with_fleet<T>(
    base: Ipv4Addr,
    overrides: BTreeMap<u64, &'static vigie_lab::Persona>,
    f: impl FnOnce(&[ManifestEntry]) -> T,
) -> T {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fleet = rt
        .block_on(Fleet::start(FleetConfig {
            hosts: HOSTS,
            seed: SEED,
            base,
            https_port: 8443,
            http_port: 8080,
            record_requests: false,
            overrides,
            slow_delay: Duration::from_millis(300),
            ..Default::default()
        }))
        .unwrap();
    let out = f(fleet.manifest());
    rt.block_on(fleet.shutdown());
    out
}

/// The second fleet: every other host of each upgraded persona
/// upgraded (the rest were missed), the first current server restored
/// from an old vulnerable image, the first Exchange 2010 server
/// decommissioned and the first IIS site turned into an Exchange server.
fn changed_fleet(
    before: &[ManifestEntry],
) -> BTreeMap<u64, &'static vigie_lab::Persona> {
    let mut overrides = BTreeMap::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut once = |name: &str| {
        let n = seen.entry(by_name(name).unwrap().name).or_default();
        *n += 1;
        *n
    };
    for (i, h) in before.iter().enumerate() {
        let i = i as u64;
        let nth = once(&h.persona);
        let to = match (h.persona.as_str(), nth) {
            ("exse-rtm-aug26su", 1) => "ex2019-cu8-vulnerable",
            ("ex2010-sp3-ru30", 1) => "closed",
            ("iis-default", 1) => "ex2019-cu8-may21su",
            (p, n) if n % 2 == 1 => {
                match UPGRADES.iter().find(|(from, _)| *from == p) {
                    Some((_, to)) => to,
                    None => continue,
                }
            }
            _ => continue,
        };
        overrides.insert(i, by_name(to).unwrap());
    }
    overrides
}

fn vigie(args: &[&str], db: &Path) -> Output {
    Command::cargo_bin("vigie")
        .unwrap()
        .args(args)
        .arg("--db")
        .arg(db)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

fn scan(db: &Path, base: Ipv4Addr) -> Output {
    let last = Ipv4Addr::from(u32::from(base) + HOSTS as u32 - 1);
    let range = format!("{base}-{last}");
    vigie(
        &[
            "scan",
            &range,
            "-p",
            "8443,8080",
            "--as-of",
            EXPECTED_AS_OF,
            "--rate",
            "0",
            "--per-subnet",
            "0",
            "--no-progress",
            "--connect-timeout",
            "2",
            "--tls-timeout",
            "1",
            "--request-timeout",
            "3",
            "-o",
            "/dev/null",
        ],
        db,
    )
}

/// The Exchange servers of a manifest by history key
/// (`target|ip:port`), with the build and state a scan should record.
fn exchange(m: &[ManifestEntry]) -> BTreeMap<String, (String, String)> {
    m.iter()
        .filter(|h| h.expected.state != "closed" && h.expected.build.is_some())
        .map(|h| {
            let key = format!("{}|{}:{}", h.address, h.address, h.port);
            let build = h.expected.build.clone().unwrap();
            (key, (build, h.expected.state.clone()))
        })
        .collect()
}

/// `vigie diff`'s text, written from the two manifests.
fn expected_diff(before: &[ManifestEntry], after: &[ManifestEntry]) -> String {
    let (old, new) = (exchange(before), exchange(after));
    let line = |k: &str, b: Option<&(String, String)>, a: Option<&_>| {
        let side = |s: Option<&(String, String)>| match s {
            Some((build, state)) => format!("{build} ({state})"),
            None => "- (-)".to_string(),
        };
        // diff shows `ip:port`, not the history's `target|ip:port` key
        let shown = k.split_once('|').map_or(k, |(_, addr)| addr);
        format!("  {shown}  {} -> {}\n", side(b), side(a))
    };
    let mut sections: [(&str, Vec<String>); 5] = [
        ("new", vec![]),
        ("gone", vec![]),
        ("newly patched", vec![]),
        ("newly vulnerable", vec![]),
        ("changed build", vec![]),
    ];
    for (k, b) in &old {
        if !new.contains_key(k) {
            sections[1].1.push(line(k, Some(b), None));
        }
    }
    for (k, a) in &new {
        let Some(b) = old.get(k) else {
            sections[0].1.push(line(k, None, Some(a)));
            continue;
        };
        let l = line(k, Some(b), Some(a));
        if b.1 == "vulnerable" && a.1 != "vulnerable" {
            sections[2].1.push(l.clone());
        }
        if b.1 != "vulnerable" && a.1 == "vulnerable" {
            sections[3].1.push(l.clone());
        }
        if b.0 != a.0 {
            sections[4].1.push(l);
        }
    }
    let mut text = "runs 1 -> 2\n".to_string();
    for (name, lines) in sections {
        assert!(!lines.is_empty(), "the fleet change has no {name}");
        text.push_str(&format!("{name}: {}\n", lines.len()));
        text.extend(lines);
    }
    text
}

/// (exchange, vulnerable, patched) as `vigie history` counts a run.
fn counts(m: &[ManifestEntry]) -> (usize, usize, usize) {
    let ex = exchange(m);
    let n = |s: &str| ex.values().filter(|(_, st)| st == s).count();
    (ex.len(), n("vulnerable"), n("patched"))
}

/// Scan, change the fleet, rescan; `diff` and `history` must say what
/// the manifests say.
fn remediation_story(db: &Path, base: Ipv4Addr) {
    let before = with_fleet(base, BTreeMap::new(), |m| {
        let out = scan(db, base);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        m.to_vec()
    });
    let after = with_fleet(base, changed_fleet(&before), |m| {
        let out = scan(db, base);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        m.to_vec()
    });

    let diff = vigie(&["diff"], db);
    let text = String::from_utf8(diff.stdout).unwrap();
    assert_eq!(text, expected_diff(&before, &after));
    // A server came back vulnerable: the diff is a finding.
    assert_eq!(diff.status.code(), Some(1));

    let history = vigie(&["history"], db);
    assert_eq!(history.status.code(), Some(1), "still vulnerable servers");
    let text = String::from_utf8(history.stdout).unwrap();
    let rows: Vec<Vec<&str>> =
        text.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 2, "{text}");
    for (row, m) in rows.iter().zip([&before, &after]) {
        let (ex, vulnerable, patched) = counts(m);
        assert_eq!(
            row[3..],
            [ex.to_string(), vulnerable.to_string(), patched.to_string()],
            "{text}"
        );
    }
    assert!(counts(&after).1 < counts(&before).1, "fewer vulnerable");
}

#[test]
fn diff_and_history_list_exactly_the_fleet_changes() {
    let dir = tempfile::tempdir().unwrap();
    remediation_story(&dir.path().join("vigie.db"), BASE);
}

/// Issue 13: the same story with the history in PostgreSQL.
#[test]
fn diff_and_history_list_exactly_the_fleet_changes_on_postgresql() {
    let Some(db) = vigie_pgtest::database("history_lab") else {
        return;
    };
    remediation_story(Path::new(db.url()), BASE_PG);
}
