//! Defect 7 (issue 14): a server that answers the first request and then
//! holds every later one open cost the full request timeout per request.
//! Every request to a host now shares one deadline (`Timeouts::host`),
//! and the result says which request it cut.

use std::time::Duration;

use chrono::NaiveDate;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vigie_model::scan::HostStatus;
use vigie_scan::http::Timeouts;
use vigie_scan::probe::{ProbeOptions, ProbeTarget, Scheme, probe};

/// Answers `GET /owa/` like an Exchange 2016 CU23 front end (CU-level
/// version only, so the probe goes on to the logon page and the export
/// tool manifest), then reads every later request and never answers.
async fn holding_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut answered = false;
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) if !answered => {
                            if buf[..n].starts_with(b"GET /owa/ ") {
                                let _ = s
                                    .write_all(
                                        b"HTTP/1.1 302 Found\r\n\
                                          X-OWA-Version: 15.1.2507\r\n\
                                          X-FEServer: EX01\r\n\
                                          Location: /owa/auth/logon.aspx\r\n\
                                          Content-Length: 0\r\n\r\n",
                                    )
                                    .await;
                            }
                            answered = true;
                        }
                        Ok(_) => {} // held: never answered
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn holding_server_costs_one_host_deadline_not_a_timeout_per_request() {
    let port = holding_server().await;
    let target = ProbeTarget {
        target: "127.0.0.1".into(),
        addr: ([127, 0, 0, 1], port).into(),
        name: None,
    };
    let opts = ProbeOptions {
        timeouts: Timeouts {
            connect: Duration::from_secs(5),
            tls: Duration::from_secs(5),
            // Without the host deadline the two held requests alone
            // would take two minutes.
            request: Duration::from_secs(60),
            host: Duration::from_secs(1),
        },
        ssrf_check: true,
        as_of: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
        scheme: Scheme::Http,
    };
    let r = probe(&target, opts).await;
    assert_eq!(r.status, HostStatus::Exchange, "{r:?}");
    let error = r.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("GET /owa/auth/logon.aspx: host deadline reached"),
        "the logon page request is the one cut: {error}"
    );
    assert!(error.contains("/ecp/Current/exporttool/"), "{error}");
    // The active probe found the deadline already spent.
    assert_eq!(
        r.ssrf_check,
        Some(vigie_model::scan::SsrfOutcome::Error),
        "{r:?}"
    );
    assert!(r.elapsed_ms < 30_000, "bounded by far: {} ms", r.elapsed_ms);
}
