//! TLS client that accepts any certificate and reports what it saw.
//!
//! Exchange front ends routinely carry self-signed or internal-CA
//! certificates; a scanner that verified them would miss most servers. No
//! secret is sent, so accepting any certificate costs nothing here, and the
//! certificate itself is recorded as identity evidence.

use std::sync::{Arc, LazyLock};

use rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConnection, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use tokio_rustls::TlsConnector;
use vigie_model::scan::{Identity, TlsFacts};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::http::ConnFacts;

#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

static CONNECTOR: LazyLock<TlsConnector> = LazyLock::new(|| {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
});

/// The process-wide connector (immutable once built).
pub fn connector() -> &'static TlsConnector {
    &CONNECTOR
}

/// Version, cipher and certificate identity of a finished handshake.
pub fn facts(conn: &ClientConnection) -> ConnFacts {
    let tls = TlsFacts {
        version: conn
            .protocol_version()
            .map(|v| match v {
                rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
                rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default(),
        cipher: conn
            .negotiated_cipher_suite()
            .map(|c| format!("{:?}", c.suite()))
            .unwrap_or_default(),
        stack: "rustls".to_string(),
    };
    let identity = conn
        .peer_certificates()
        .and_then(|certs| certs.first())
        .map(|leaf| cert_identity(leaf.as_ref()))
        .unwrap_or_default();
    ConnFacts { tls: Some(tls), identity }
}

/// Subject, SANs and SHA-256 of a DER certificate (garbage tolerated).
pub fn cert_identity(der: &[u8]) -> Identity {
    let mut id = Identity {
        cert_sha256: Some(hex::encode(Sha256::digest(der))),
        ..Identity::default()
    };
    if let Ok((_, cert)) = X509Certificate::from_der(der) {
        id.cert_subject = Some(cert.subject().to_string());
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(d) => {
                        id.cert_sans.push(d.to_string())
                    }
                    GeneralName::IPAddress(b) => {
                        id.cert_sans.push(hex::encode(b))
                    }
                    _ => {}
                }
            }
        }
    }
    id
}
