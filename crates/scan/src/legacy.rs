//! OpenSSL fallback (feature `legacy-tls`) for servers that rustls cannot
//! talk to: TLS 1.0/1.1 only, or CBC-only cipher suites. Verification is
//! off and the security level lowered to 0, as for the rustls path: the
//! point is to read what the server shows, not to trust it.

use std::pin::Pin;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};
use vigie_model::scan::TlsFacts;

use crate::http::{
    ConnFacts, Endpoint, FetchError, Response, Timeouts, connect, exchange,
};

fn tls_err(e: impl std::fmt::Display) -> FetchError {
    FetchError::Tls(e.to_string())
}

/// One request over an OpenSSL connection on a fresh TCP connection.
pub async fn get(
    ep: &Endpoint,
    req: &[u8],
    t: Timeouts,
) -> Result<(Response, ConnFacts), FetchError> {
    let tcp = connect(ep.addr, t.connect).await?;
    let mut b =
        SslConnector::builder(SslMethod::tls_client()).map_err(tls_err)?;
    b.set_verify(SslVerifyMode::NONE);
    b.set_min_proto_version(Some(SslVersion::TLS1)).map_err(tls_err)?;
    b.set_cipher_list("ALL:@SECLEVEL=0").map_err(tls_err)?;
    let mut cfg = b.build().configure().map_err(tls_err)?;
    cfg.set_verify_hostname(false);
    let literal = ep.host.parse::<std::net::IpAddr>().is_ok();
    cfg.set_use_server_name_indication(!literal);
    let ssl = cfg.into_ssl(&ep.host).map_err(tls_err)?;
    let mut stream =
        tokio_openssl::SslStream::new(ssl, tcp).map_err(tls_err)?;
    tokio::time::timeout(t.tls, Pin::new(&mut stream).connect())
        .await
        .map_err(|_| tls_err("handshake timed out"))?
        .map_err(tls_err)?;
    let s = stream.ssl();
    let facts = ConnFacts {
        tls: Some(TlsFacts {
            version: s.version_str().to_string(),
            cipher: s
                .current_cipher()
                .map(|c| c.name().to_string())
                .unwrap_or_default(),
            stack: "openssl-legacy".to_string(),
        }),
        identity: s
            .peer_certificate()
            .and_then(|c| c.to_der().ok())
            .map(|der| crate::tls::cert_identity(&der))
            .unwrap_or_default(),
    };
    let resp = exchange(stream, req, t.request).await?;
    Ok((resp, facts))
}
