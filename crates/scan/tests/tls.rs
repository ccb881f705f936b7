//! HTTPS against a self-signed loopback server: the certificate is
//! accepted, and its identity and the TLS version are recorded.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use vigie_model::scan::HostStatus;
use vigie_scan::http::Timeouts;
use vigie_scan::probe::{ProbeOptions, ProbeTarget, Scheme, probe};

async fn tls_server(garbage: bool) -> u16 {
    let cert =
        rcgen::generate_simple_self_signed(vec!["mail.lab.test".to_string()])
            .unwrap();
    let der = CertificateDer::from(cert.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        cert.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            if garbage {
                let _ = s.write_all(&[0x16, 3, 1, 0xff, 0xff, 9, 9, 9]).await;
                continue;
            }
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut t) = acceptor.accept(s).await else { return };
                let mut buf = [0u8; 2048];
                let _ = t.read(&mut buf).await;
                let _ = t
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nX-OWA-Version: 15.1.2507.39\r\n\
                          Content-Length: 0\r\n\r\n",
                    )
                    .await;
                let _ = t.shutdown().await;
            });
        }
    });
    port
}

fn opts() -> ProbeOptions {
    ProbeOptions {
        timeouts: Timeouts {
            connect: Duration::from_millis(500),
            tls: Duration::from_millis(800),
            request: Duration::from_millis(800),
            host: Duration::from_secs(5),
        },
        ssrf_check: false,
        as_of: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
        scheme: Scheme::Https,
    }
}

#[tokio::test]
async fn self_signed_https_is_fingerprinted_with_cert_identity() {
    let port = tls_server(false).await;
    let t = ProbeTarget {
        target: "mail.lab.test".into(),
        addr: ([127, 0, 0, 1], port).into(),
        name: Some("mail.lab.test".into()),
    };
    let r = probe(&t, opts()).await;
    assert_eq!(r.status, HostStatus::Exchange, "{r:?}");
    assert_eq!(r.scheme, "https");
    assert_eq!(r.build.as_deref(), Some("15.1.2507.39"));
    let tls = r.tls.unwrap();
    assert_eq!(tls.version, "TLSv1.3");
    assert_eq!(tls.stack, "rustls");
    assert_eq!(r.identity.cert_sans, vec!["mail.lab.test".to_string()]);
    assert_eq!(r.identity.cert_sha256.map(|h| h.len()), Some(64));
}

#[tokio::test]
async fn tls_garbage_is_a_clear_error() {
    let port = tls_server(true).await;
    let t = ProbeTarget {
        target: "127.0.0.1".into(),
        addr: ([127, 0, 0, 1], port).into(),
        name: None,
    };
    let r = probe(&t, opts()).await;
    assert_eq!(r.status, HostStatus::Error);
    let e = r.error.unwrap();
    assert!(e.contains("TLS"), "{e}");
}

/// A TLS 1.0, CBC-only server (`openssl s_server`), when the openssl
/// command exists: rustls alone reports a TLS error; with `legacy-tls`
/// the OpenSSL fallback reads it.
#[tokio::test]
async fn tls1_cbc_only_server() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["old.lab.test".into()])
        .unwrap();
    let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&c, cert.cert.pem()).unwrap();
    std::fs::write(&k, cert.signing_key.serialize_pem()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("openssl")
        .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
        .args([
            "-tls1",
            "-cipher",
            "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0",
            "-www",
        ])
        .arg("-cert")
        .arg(&c)
        .arg("-key")
        .arg(&k)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("openssl command not found: skipped");
        return;
    };
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t = ProbeTarget { target: "127.0.0.1".into(), addr, name: None };
    let r = probe(&t, opts()).await;
    let _ = child.kill();
    let _ = child.wait();
    if cfg!(feature = "legacy-tls") {
        let tls = r.tls.clone().unwrap_or_else(|| panic!("{r:?}"));
        assert_eq!(tls.stack, "openssl-legacy");
        assert_eq!(tls.version, "TLSv1");
        assert_eq!(r.status, HostStatus::NotExchange, "{r:?}");
    } else {
        assert_eq!(r.status, HostStatus::Error);
        assert!(r.error.unwrap().contains("TLS"));
    }
}
