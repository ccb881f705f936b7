//! Engine against tiny loopback servers: one per persona, including
//! hostile ones, plus resume after an interrupt.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use vigie_model::build::Precision;
use vigie_model::scan::{HostResult, HostStatus, SsrfOutcome};
use vigie_scan::checkpoint::Checkpoint;
use vigie_scan::engine::{EngineOptions, Plan, run};
use vigie_scan::http::Timeouts;
use vigie_scan::probe::{ProbeOptions, Scheme};
use vigie_targets::{HostTarget, RangeSet, Shard};

#[derive(Clone, Copy, Debug)]
enum Persona {
    Ex2019Header,
    Ex2016Path,
    Ex2016Mitigated,
    Nginx,
    Tarpit,
    Garbage,
    EndlessHeaders,
}

type Log = Arc<Mutex<Vec<String>>>;

fn respond(p: Persona, path: &str, cookie: bool) -> Option<Vec<u8>> {
    let ok = |h: &str, body: &str| {
        Some(
            format!(
                "HTTP/1.1 200 OK\r\n{h}Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        )
    };
    match p {
        Persona::Ex2019Header => {
            if path == "/owa/auth/x.js" && cookie {
                return Some(b"HTTP/1.1 500 Err\r\nX-CalculatedBETarget: localhost\r\n\r\n".to_vec());
            }
            ok("X-OWA-Version: 15.2.721.2\r\nX-FEServer: EX19\r\n", "/owa/auth/15.2.721/x")
        }
        Persona::Ex2016Path | Persona::Ex2016Mitigated => {
            if path == "/owa/auth/x.js" && matches!(p, Persona::Ex2016Mitigated) {
                return None; // abort, as the EOMT rewrite rule does
            }
            if path == "/owa/" {
                return Some(b"HTTP/1.1 302 Found\r\nLocation: https://x/owa/auth/logon.aspx\r\nX-FEServer: EX16\r\nContent-Length: 0\r\n\r\n".to_vec());
            }
            if path.starts_with("/ecp/") {
                return Some(b"HTTP/1.1 404 NF\r\nContent-Length: 0\r\n\r\n".to_vec());
            }
            ok("", "<link href=\"/owa/auth/15.1.2507/themes/a.css\">")
        }
        Persona::Nginx => Some(b"HTTP/1.1 404 Not Found\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n".to_vec()),
        Persona::Garbage => Some(vec![0xde; 300]),
        Persona::Tarpit | Persona::EndlessHeaders => None,
    }
}

async fn serve(p: Persona, log: Log) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split(' ').nth(1).unwrap_or("").to_string();
                let cookie = req.contains("Cookie:");
                log.lock()
                    .unwrap()
                    .push(format!("{port} {path} cookie={cookie}"));
                match p {
                    Persona::Tarpit => {
                        tokio::time::sleep(Duration::from_secs(30)).await
                    }
                    Persona::EndlessHeaders => {
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n").await;
                        loop {
                            if s.write_all(b"X-A: aaaaaaaaaaaaaaaa\r\n")
                                .await
                                .is_err()
                            {
                                break;
                            }
                        }
                    }
                    _ => {
                        if let Some(bytes) = respond(p, &path, cookie) {
                            let _ = s.write_all(&bytes).await;
                        }
                    }
                }
            });
        }
    });
    port
}

fn opts(ssrf: bool) -> EngineOptions {
    EngineOptions {
        probe: ProbeOptions {
            timeouts: Timeouts {
                connect: Duration::from_millis(500),
                tls: Duration::from_millis(500),
                request: Duration::from_millis(700),
                host: Duration::from_secs(5),
            },
            ssrf_check: ssrf,
            as_of: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
            scheme: Scheme::Http,
        },
        rate: None,
        max_inflight: 16,
        checkpoint: None,
        resume: None,
        excluded: Default::default(),
        per_subnet: 0,
    }
}

async fn fleet(log: &Log) -> BTreeMap<u16, &'static str> {
    let mut ports = BTreeMap::new();
    for (p, name) in [
        (Persona::Ex2019Header, "ex2019"),
        (Persona::Ex2016Path, "ex2016"),
        (Persona::Ex2016Mitigated, "ex2016m"),
        (Persona::Nginx, "nginx"),
        (Persona::Tarpit, "tarpit"),
        (Persona::Garbage, "garbage"),
        (Persona::EndlessHeaders, "endless"),
    ] {
        ports.insert(serve(p, log.clone()).await, name);
    }
    // A port nothing listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ports.insert(l.local_addr().unwrap().port(), "closed");
    drop(l);
    ports
}

fn plan(ports: &BTreeMap<u16, &str>) -> Plan {
    Plan {
        set: RangeSet::new(),
        hosts: ports
            .keys()
            .map(|&p| HostTarget { host: "127.0.0.1".into(), port: Some(p) })
            .collect(),
        ports: vec![443],
        seed: 1,
        shard: Shard::ALL,
    }
}

fn parse(out: &[u8]) -> Vec<HostResult> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn personas_get_their_verdicts_and_passive_is_passive() {
    let log: Log = Arc::default();
    let ports = fleet(&log).await;
    let (_tx, rx) = watch::channel(false);
    let mut out = Vec::new();
    let s = run(&plan(&ports), opts(false), &mut out, rx, &|_, _| {})
        .await
        .unwrap();
    let results = parse(&out);
    assert_eq!(results.len(), ports.len());
    assert_eq!(s.exchange, 3);
    let by: BTreeMap<&str, &HostResult> =
        results.iter().map(|r| (ports[&r.port], r)).collect();
    let ex19 = by["ex2019"];
    assert_eq!(ex19.build.as_deref(), Some("15.2.721.2"));
    assert_eq!(ex19.precision, Some(Precision::Exact));
    assert!(ex19.assessment.as_ref().unwrap().open_cves().next().is_some());
    assert_eq!(ex19.identity.fe_server.as_deref(), Some("EX19"));
    let ex16 = by["ex2016"];
    assert_eq!(ex16.build.as_deref(), Some("15.1.2507"));
    assert_eq!(ex16.precision, Some(Precision::CuOnly));
    assert_eq!(ex16.product.as_deref(), Some("Exchange Server 2016"));
    assert_eq!(by["nginx"].status, HostStatus::NotExchange);
    assert_eq!(by["closed"].status, HostStatus::Closed);
    for hostile in ["tarpit", "garbage", "endless"] {
        let r = by[hostile];
        assert_eq!(r.status, HostStatus::Error, "{hostile}: {r:?}");
        assert!(r.error.is_some());
        assert!(r.elapsed_ms < 5_000, "{hostile} took {}", r.elapsed_ms);
    }
    assert!(by.values().all(|r| r.ssrf_check.is_none()));
    let log = log.lock().unwrap();
    assert!(!log.is_empty());
    assert!(
        log.iter().all(|l| !l.contains("x.js") && l.ends_with("cookie=false")),
        "active request in a default scan: {log:?}"
    );
}

#[tokio::test]
async fn ssrf_check_has_distinct_outcomes() {
    let log: Log = Arc::default();
    let ports = fleet(&log).await;
    let (_tx, rx) = watch::channel(false);
    let mut out = Vec::new();
    run(&plan(&ports), opts(true), &mut out, rx, &|_, _| {}).await.unwrap();
    let by: BTreeMap<&str, Option<SsrfOutcome>> =
        parse(&out).iter().map(|r| (ports[&r.port], r.ssrf_check)).collect();
    assert_eq!(by["ex2019"], Some(SsrfOutcome::Vulnerable));
    assert_eq!(by["ex2016"], Some(SsrfOutcome::NotVulnerable));
    assert_eq!(by["ex2016m"], Some(SsrfOutcome::Mitigated));
    assert_eq!(by["nginx"], Some(SsrfOutcome::NotExchange));
    assert_eq!(by["closed"], None);
    let ex19 =
        parse(&out).into_iter().find(|r| ports[&r.port] == "ex2019").unwrap();
    let active =
        ex19.evidence.iter().find(|e| e.signal.starts_with("active:"));
    assert!(active.unwrap().request.contains("ACTIVE"));
}

#[tokio::test]
async fn interrupted_scan_resumed_gives_same_results() {
    let log: Log = Arc::default();
    let ports = fleet(&log).await;
    let dir = tempfile::tempdir().unwrap();
    let cp_path = dir.path().join("cp.json");
    let plan = plan(&ports);
    let key =
        |r: &HostResult| (r.port, format!("{:?}", r.status), r.build.clone());
    let (_t, rx) = watch::channel(false);
    let mut full = Vec::new();
    run(&plan, opts(false), &mut full, rx, &|_, _| {}).await.unwrap();
    let full: BTreeSet<_> = parse(&full).iter().map(key).collect();

    let (tx, rx) = watch::channel(false);
    let mut first = Vec::new();
    let mut o = opts(false);
    o.max_inflight = 2;
    o.checkpoint = Some(cp_path.clone());
    let stop = move |done: u64, _| {
        if done >= 3 {
            let _ = tx.send(true);
        }
    };
    let s = run(&plan, o.clone(), &mut first, rx, &stop).await.unwrap();
    assert!(s.interrupted);
    let cp = Checkpoint::load(&cp_path).unwrap();
    cp.check_fits(&cp_path, 1, "1/1", ports.len() as u64).unwrap();
    o.resume = Some(cp);
    let (_t2, rx) = watch::channel(false);
    let mut second = Vec::new();
    run(&plan, o, &mut second, rx, &|_, _| {}).await.unwrap();
    let mut all: Vec<_> = parse(&first).iter().map(key).collect();
    all.extend(parse(&second).iter().map(key));
    assert_eq!(all.len(), ports.len(), "lost or repeated targets");
    assert_eq!(all.into_iter().collect::<BTreeSet<_>>(), full);
}
