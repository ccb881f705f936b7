//! A minimal, bounded HTTP/1.1 client over TCP or TLS.
//!
//! Hostile servers are the norm on the Internet: each request has a
//! connect timeout, a TLS timeout and an overall read deadline, and reads
//! stop at [`MAX_RESPONSE`] bytes, so a tarpit, endless headers or a huge
//! body cost bounded time and memory. [`get`] is one request on its own
//! connection (`Connection: close`); a [`Session`] keeps one connection
//! open across a host's requests when the server allows it, so they cost
//! one TCP and TLS handshake, on both sides, instead of one each.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use vigie_model::scan::{Identity, TlsFacts};

use crate::tls;

mod session;
pub use session::Session;

/// Bytes read from one response at most (headers and body together).
pub const MAX_RESPONSE: usize = 256 * 1024;

/// Per-phase time limits.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP connect.
    pub connect: Duration,
    /// TLS handshake.
    pub tls: Duration,
    /// Writing the request and reading the whole response.
    pub request: Duration,
    /// Every request to one host:port together (connects, handshakes,
    /// reads, the active probe): a server that answers the first request
    /// and then holds every later one costs this, not a request timeout
    /// per request.
    pub host: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            tls: Duration::from_secs(5),
            request: Duration::from_secs(8),
            host: Duration::from_secs(15),
        }
    }
}

/// How one request failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Nothing listens.
    #[error("connection refused")]
    Refused,
    /// Connect took too long (filtered).
    #[error("connect timed out")]
    ConnectTimeout,
    /// TLS handshake failed or timed out.
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// The connection was reset or closed before any response.
    #[error("connection aborted before a response")]
    Aborted,
    /// Reading the response took longer than the request timeout.
    #[error("response timed out")]
    Timeout,
    /// The host's time (every request to it together) ran out first.
    #[error("host deadline reached ({} s for every request to the host)", .0.as_secs_f64())]
    HostDeadline(Duration),
    /// The bytes received are not an HTTP response.
    #[error("not an HTTP response: {0}")]
    Garbage(String),
    /// Other I/O failure.
    #[error("I/O error: {0}")]
    Io(String),
}

/// What to connect to and how.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Address and port.
    pub addr: SocketAddr,
    /// Name sent as SNI and Host (the address when none).
    pub host: String,
    /// TLS or plain HTTP.
    pub tls: bool,
}

/// A parsed response (body possibly truncated at [`MAX_RESPONSE`]).
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names lower-cased, values as sent (lossy UTF-8).
    pub headers: Vec<(String, String)>,
    /// Body bytes as received (chunk markers left in: only text is
    /// searched in it).
    pub body: Vec<u8>,
    /// Whether the read stopped at the size limit.
    pub truncated: bool,
}

impl Response {
    /// First value of a header (name lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Connection facts collected on a TLS handshake.
#[derive(Debug, Clone, Default)]
pub struct ConnFacts {
    /// TLS version and cipher.
    pub tls: Option<TlsFacts>,
    /// Certificate identity.
    pub identity: Identity,
}

/// Send one GET and read the response within the limits.
pub async fn get(
    ep: &Endpoint,
    path: &str,
    cookie: Option<&str>,
    t: Timeouts,
) -> Result<(Response, ConnFacts), FetchError> {
    let tcp = connect(ep.addr, t.connect).await?;
    let _ = tcp.set_nodelay(true);
    let req = request_bytes(&ep.host, path, cookie, true);
    if !ep.tls {
        let resp = exchange(tcp, &req, t.request).await?;
        return Ok((resp, ConnFacts::default()));
    }
    match get_rustls(ep, tcp, &req, t).await {
        #[cfg(feature = "legacy-tls")]
        Err(FetchError::Tls(why)) => {
            // rustls refuses TLS 1.0/1.1 and CBC-only servers, which old
            // Exchange front ends still are: try once more with OpenSSL.
            crate::legacy::get(ep, &req, t).await.map_err(|e| match e {
                FetchError::Tls(legacy) => FetchError::Tls(format!(
                    "{why}; legacy OpenSSL fallback: {legacy}"
                )),
                other => other,
            })
        }
        other => other,
    }
}

async fn get_rustls(
    ep: &Endpoint,
    tcp: TcpStream,
    req: &[u8],
    t: Timeouts,
) -> Result<(Response, ConnFacts), FetchError> {
    let (stream, facts) = handshake(ep, tcp, t).await?;
    let resp = exchange(stream, req, t.request).await?;
    Ok((resp, facts))
}

type TlsStream = tokio_rustls::client::TlsStream<TcpStream>;

/// The rustls handshake within the TLS timeout.
pub(crate) async fn handshake(
    ep: &Endpoint,
    tcp: TcpStream,
    t: Timeouts,
) -> Result<(TlsStream, ConnFacts), FetchError> {
    let name = ServerName::try_from(ep.host.clone())
        .unwrap_or_else(|_| ServerName::from(ep.addr.ip()));
    let hs = tls::connector().connect(name, tcp);
    let stream = tokio::time::timeout(t.tls, hs)
        .await
        .map_err(|_| FetchError::Tls("handshake timed out".into()))?
        .map_err(|e| FetchError::Tls(e.to_string()))?;
    let facts = tls::facts(stream.get_ref().1);
    Ok((stream, facts))
}

pub(crate) async fn connect(
    addr: SocketAddr,
    limit: Duration,
) -> Result<TcpStream, FetchError> {
    match tokio::time::timeout(limit, TcpStream::connect(addr)).await {
        Err(_) => Err(FetchError::ConnectTimeout),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err(FetchError::Refused)
        }
        Ok(Err(e)) => Err(FetchError::Io(e.to_string())),
        Ok(Ok(s)) => Ok(s),
    }
}

pub(crate) fn request_bytes(
    host: &str,
    path: &str,
    cookie: Option<&str>,
    close: bool,
) -> Vec<u8> {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: vigie/{}\r\n\
         Accept: */*\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if close {
        req.push_str("Connection: close\r\n");
    }
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    req.push_str("\r\n");
    req.into_bytes()
}

pub(crate) async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    req: &[u8],
    limit: Duration,
) -> Result<Response, FetchError> {
    let deadline = Instant::now() + limit;
    timeout_at(deadline, s.write_all(req))
        .await
        .map_err(|_| FetchError::Timeout)?
        .map_err(|_| FetchError::Aborted)?;
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    let mut truncated = false;
    loop {
        let n = match timeout_at(deadline, s.read(&mut chunk)).await {
            Err(_) if head_complete(&buf) => break,
            Err(_) => return Err(FetchError::Timeout),
            Ok(Ok(n)) => n,
            Ok(Err(_)) if buf.is_empty() => return Err(FetchError::Aborted),
            // TLS peers often close without close_notify: keep what came.
            Ok(Err(_)) => break,
        };
        if n == 0 {
            break;
        }
        let room = MAX_RESPONSE - buf.len();
        buf.extend_from_slice(&chunk[..n.min(room)]);
        if buf.len() >= MAX_RESPONSE {
            truncated = true;
            break;
        }
    }
    if buf.is_empty() {
        return Err(FetchError::Aborted);
    }
    let mut resp = parse_response(&buf)?;
    resp.truncated = truncated;
    Ok(resp)
}

fn head_complete(buf: &[u8]) -> bool {
    buf.windows(4).any(|w| w == b"\r\n\r\n")
}

/// Parse a raw HTTP/1.x response (headers must be complete).
pub fn parse_response(buf: &[u8]) -> Result<Response, FetchError> {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| garbage(buf, "no end of headers"))?;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(garbage(buf, "no HTTP/1.x status line"));
    }
    let status = parts
        .next()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| (100..1000).contains(c))
        .ok_or_else(|| garbage(buf, "bad status code"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: buf[end + 4..].to_vec(),
        truncated: false,
    })
}

fn garbage(buf: &[u8], why: &str) -> FetchError {
    let start: String = String::from_utf8_lossy(&buf[..buf.len().min(24)])
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    FetchError::Garbage(format!("{why} (starts {start:?})"))
}

/// Shared TLS client config, built once per process.
pub type TlsConfig = Arc<rustls::ClientConfig>;
