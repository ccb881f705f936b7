//! TLS 1.0-only serving through the system OpenSSL (feature `legacy-tls`).
//!
//! rustls cannot serve TLS 1.0; real Exchange 2010 servers on Windows
//! Server 2008 R2 often offer nothing newer, and scanners must still read
//! them. Security level 0 is needed for OpenSSL 3 to allow TLS 1.0/SHA-1.

use std::sync::Arc;

use openssl::pkey::PKey;
use openssl::ssl::{SslAcceptor, SslMethod, SslVersion};
use openssl::x509::X509;

use crate::LabError;

/// A TLS 1.0-only acceptor for the given PEM certificate and key.
pub(crate) fn acceptor(
    cert_pem: &str,
    key_pem: &str,
) -> Result<Arc<SslAcceptor>, LabError> {
    let e = |e: openssl::error::ErrorStack| LabError::Tls(e.to_string());
    let mut b = SslAcceptor::mozilla_intermediate(SslMethod::tls_server())
        .map_err(e)?;
    b.set_cipher_list("ALL:@SECLEVEL=0").map_err(e)?;
    b.set_min_proto_version(Some(SslVersion::TLS1)).map_err(e)?;
    b.set_max_proto_version(Some(SslVersion::TLS1)).map_err(e)?;
    let cert = X509::from_pem(cert_pem.as_bytes()).map_err(e)?;
    let key = PKey::private_key_from_pem(key_pem.as_bytes()).map_err(e)?;
    b.set_certificate(&cert).map_err(e)?;
    b.set_private_key(&key).map_err(e)?;
    Ok(Arc::new(b.build()))
}

/// Completes a TLS 1.0 handshake; `None` when it fails.
pub(crate) async fn accept(
    acceptor: &SslAcceptor,
    tcp: tokio::net::TcpStream,
) -> Option<tokio_openssl::SslStream<tokio::net::TcpStream>> {
    let ssl = openssl::ssl::Ssl::new(acceptor.context()).ok()?;
    let mut s = tokio_openssl::SslStream::new(ssl, tcp).ok()?;
    std::pin::Pin::new(&mut s).accept().await.ok()?;
    Some(s)
}
