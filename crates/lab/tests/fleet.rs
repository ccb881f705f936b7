//! A small fleet on loopback, read back with a raw HTTP/1.1 client over
//! plain TCP or TLS (any certificate accepted: the lab's is self-signed).

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use vigie_lab::{Fleet, FleetConfig, ManifestEntry, PERSONAS};
use vigie_model::scan::{HostStatus, SsrfOutcome};

#[derive(Debug)]
struct AnyCert;

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn connector() -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert))
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Sends one request and reads until the server closes (or 2 s pass).
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    req: &str,
) -> String {
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ =
        tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut out))
            .await;
    String::from_utf8_lossy(&out).into_owned()
}

async fn get(
    host: &ManifestEntry,
    path: &str,
    cookie: Option<&str>,
) -> String {
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        host.address
    );
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    req.push_str("\r\n");
    let tcp =
        TcpStream::connect((host.address.as_str(), host.port)).await.unwrap();
    if host.scheme == "https" {
        let name = ServerName::try_from("mail.lab.invalid").unwrap();
        let tls = connector().connect(name, tcp).await.unwrap();
        exchange(tls, &req).await
    } else {
        exchange(tcp, &req).await
    }
}

const PROBE: &str = "X-AnonResource=true; \
    X-AnonResource-Backend=localhost/ecp/default.flt?~3; \
    X-BEResource=localhost/owa/auth/logon.aspx?~3;";

async fn fleet(base: [u8; 4]) -> Fleet {
    Fleet::start(FleetConfig {
        hosts: PERSONAS.len(),
        seed: 42,
        base: Ipv4Addr::from(base),
        https_port: 0,
        http_port: 0,
        record_requests: true,
        first_index: 0,
        ..Default::default()
    })
    .await
    .unwrap()
}

fn by<'a>(fleet: &'a Fleet, persona: &str) -> &'a ManifestEntry {
    fleet.manifest().iter().find(|e| e.persona == persona).unwrap()
}

#[tokio::test]
async fn exchange_hosts_answer_like_exchange_and_match_manifest() {
    let fleet = fleet([127, 77, 0, 1]).await;
    for host in fleet.manifest() {
        let e = &host.expected;
        // TLS 1.0-only hosts have their own test (legacy-tls feature).
        if e.status != HostStatus::Exchange
            || host.persona.starts_with("slow")
            || host.tls.as_deref() == Some("1.0")
        {
            continue;
        }
        let r = get(host, "/owa/", None).await;
        assert!(r.starts_with("HTTP/1.1 302 Found"), "{}: {r}", host.persona);
        let build = host.build.as_deref().unwrap();
        let header = format!("X-OWA-Version: {build}\r\n");
        assert_eq!(
            r.contains(&header),
            host.persona != "ex2016-cu19-stripped",
            "{}",
            host.persona
        );
        let r = get(host, "/owa/auth/logon.aspx?reason=0", None).await;
        assert!(r.contains("<title>Outlook</title>"), "{}", host.persona);
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn proxylogon_probe_matches_expected_ssrf_outcome() {
    let fleet = fleet([127, 77, 1, 1]).await;
    for name in [
        "ex2016-cu19-vulnerable",
        "ex2016-cu19-mar21su",
        "ex2016-cu19-eomt",
        "ex2016-cu19-stripped",
    ] {
        let host = by(&fleet, name);
        let r = get(host, "/owa/auth/x.js", Some(PROBE)).await;
        let localhost = r.contains("X-CalculatedBETarget: localhost");
        match host.expected.ssrf.unwrap() {
            SsrfOutcome::Vulnerable => assert!(localhost, "{name}: {r}"),
            SsrfOutcome::NotVulnerable => {
                assert!(r.starts_with("HTTP/1.1 404") && !localhost)
            }
            SsrfOutcome::Mitigated => assert_eq!(r, "", "{name}"),
            other => panic!("{name}: unexpected {other:?}"),
        }
    }
    let seen = fleet.requests();
    assert!(seen.iter().any(|r| r.path == "/owa/auth/x.js"
        && r.headers.iter().any(|(n, v)| n == "Cookie" && v == PROBE)));
    fleet.shutdown().await;
}

#[tokio::test]
async fn hostile_and_absent_hosts_behave() {
    let fleet = fleet([127, 77, 2, 1]).await;
    let closed = by(&fleet, "closed");
    assert_ne!(closed.port, 0);
    assert!(
        TcpStream::connect((closed.address.as_str(), closed.port))
            .await
            .is_err()
    );
    let g = by(&fleet, "garbage");
    let mut s =
        TcpStream::connect((g.address.as_str(), g.port)).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    assert!(!out.is_empty() && !out.starts_with(b"HTTP/"));
    let t = by(&fleet, "tarpit");
    let mut s =
        TcpStream::connect((t.address.as_str(), t.port)).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut one = [0u8; 1];
    let read =
        tokio::time::timeout(Duration::from_millis(300), s.read(&mut one))
            .await;
    assert!(read.is_err(), "tarpit answered");
    let nginx = by(&fleet, "nginx");
    let r = get(nginx, "/owa/", None).await;
    assert!(r.contains("Server: nginx/1.24.0") && !r.contains("X-FEServer"));
    fleet.shutdown().await;
}

#[tokio::test]
async fn non_loopback_base_is_refused() {
    for base in [[10, 0, 0, 1], [192, 168, 1, 1], [127, 255, 255, 250]] {
        let r = Fleet::start(FleetConfig {
            hosts: 16,
            base: Ipv4Addr::from(base),
            ..Default::default()
        })
        .await;
        assert!(r.is_err(), "{base:?} accepted");
    }
}

/// Exchange 2010 on Windows 2008 R2 speaks TLS 1.0 only: a TLS 1.0 client
/// reads it, a modern (rustls) client cannot.
#[cfg(feature = "legacy-tls")]
#[tokio::test]
async fn exchange_2010_serves_tls_1_0_only() {
    use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};
    let fleet = fleet([127, 77, 3, 1]).await;
    let host = by(&fleet, "ex2010-sp3-ru30");
    assert_eq!(host.tls.as_deref(), Some("1.0"));
    let addr = (host.address.as_str(), host.port);
    let name = ServerName::try_from("mail.lab.invalid").unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    assert!(connector().connect(name, tcp).await.is_err());
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    b.set_verify(SslVerifyMode::NONE);
    b.set_cipher_list("ALL:@SECLEVEL=0").unwrap();
    b.set_min_proto_version(Some(SslVersion::TLS1)).unwrap();
    let ssl =
        b.build().configure().unwrap().into_ssl("mail.lab.invalid").unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut s = tokio_openssl::SslStream::new(ssl, tcp).unwrap();
    std::pin::Pin::new(&mut s).connect().await.unwrap();
    assert_eq!(s.ssl().version_str(), "TLSv1");
    let r = exchange(
        s,
        "GET /owa/auth/logon.aspx HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(r.contains("/owa/14.3.496.0/themes/"), "{r}");
    fleet.shutdown().await;
}
