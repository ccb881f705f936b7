//! Accept loops and per-connection handling.
//!
//! One tokio task per listening socket and one per connection; the
//! per-connection state is the persona reference, the host name and an
//! 8 KiB head buffer, so tens of thousands of hosts stay cheap.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::RequestRecord;
use crate::persona::{Behaviour, Persona};
use crate::respond::{Action, Request, respond};

/// Largest request head read; longer heads close the connection.
const MAX_HEAD: usize = 16 * 1024;
/// Idle time before a keep-alive connection is closed.
const IDLE: Duration = Duration::from_secs(10);

/// What one accept loop needs.
#[derive(Clone)]
pub(crate) struct HostCtx {
    pub persona: &'static Persona,
    pub fe_server: Arc<str>,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    #[cfg(feature = "legacy-tls")]
    pub legacy: Option<Arc<openssl::ssl::SslAcceptor>>,
    pub log: Option<Arc<Mutex<Vec<RequestRecord>>>>,
    pub stop: watch::Receiver<bool>,
    /// Delay of the slow persona before each answer.
    pub slow: Duration,
    /// Delay of every answer (a simulated round trip).
    pub delay: Duration,
}

pub(crate) async fn accept_loop(listener: TcpListener, ctx: HostCtx) {
    let mut stop = ctx.stop.clone();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let Ok((stream, peer)) = accepted else {
            // EMFILE and friends: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let local = stream.local_addr().ok();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let mut stop = ctx.stop.clone();
            tokio::select! {
                _ = serve(stream, local, peer, &ctx) => {}
                _ = stop.changed() => {}
            }
        });
    }
}

async fn serve(
    stream: tokio::net::TcpStream,
    local: Option<SocketAddr>,
    peer: SocketAddr,
    ctx: &HostCtx,
) {
    let _ = stream.set_nodelay(true);
    match ctx.persona.behaviour {
        Behaviour::Tarpit => {
            // Hold the socket open, answer nothing, until shutdown.
            let _keep = stream;
            std::future::pending::<()>().await;
        }
        Behaviour::Garbage => {
            let mut s = stream;
            let _ = s.write_all(GARBAGE).await;
            let _ = s.shutdown().await;
        }
        #[cfg(feature = "legacy-tls")]
        _ if ctx.legacy.is_some() => {
            let Some(acc) = &ctx.legacy else { return };
            let hs =
                tokio::time::timeout(IDLE, crate::legacy::accept(acc, stream));
            if let Ok(Some(tls)) = hs.await {
                http_loop(tls, local, peer, ctx).await;
            }
        }
        _ => match &ctx.tls {
            Some(acceptor) => {
                let hs = tokio::time::timeout(IDLE, acceptor.accept(stream));
                if let Ok(Ok(tls)) = hs.await {
                    http_loop(tls, local, peer, ctx).await;
                }
            }
            None => http_loop(stream, local, peer, ctx).await,
        },
    }
}

/// Not HTTP, not TLS: a scanner must call it an error, not crash.
const GARBAGE: &[u8] = b"\x00\xff\x13\x37SSH-1.99-\xfe\xfe\r\n\x1b[2J\
    \x07garbage\x00\x00\x15\x03\x01\x00\x02\x02\x28";

async fn http_loop<S>(
    mut s: S,
    local: Option<SocketAddr>,
    peer: SocketAddr,
    ctx: &HostCtx,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = Vec::with_capacity(1024);
    loop {
        let head = match tokio::time::timeout(
            IDLE,
            read_head(&mut s, &mut buf),
        )
        .await
        {
            Ok(Some(h)) => h,
            _ => return,
        };
        let Some(req) = parse_head(&head) else {
            let _ = s.write_all(BAD_REQUEST).await;
            return;
        };
        record(ctx, local, peer, &req);
        if ctx.persona.behaviour == Behaviour::Slow {
            tokio::time::sleep(ctx.slow).await;
        }
        if !ctx.delay.is_zero() {
            tokio::time::sleep(ctx.delay).await;
        }
        let close = req
            .header("Connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        match respond(ctx.persona, &ctx.fe_server, &req) {
            Action::Abort => return,
            Action::Reply(bytes) => {
                if s.write_all(&bytes).await.is_err() {
                    return;
                }
                let _ = s.flush().await;
            }
        }
        if close {
            let _ = s.shutdown().await;
            return;
        }
    }
}

const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// Reads one request head (up to the blank line); leftover bytes stay in
/// `buf` for the next request. Bodies are not expected (GET/HEAD) and a
/// declared body is skipped by the caller's next read failing to parse.
async fn read_head<S: AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
) -> Option<Vec<u8>> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find_end(buf) {
            let head = buf[..end].to_vec();
            buf.drain(..end + 4);
            return Some(head);
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Parses a request head (without the blank line); `None` when it is not
/// HTTP/1.x. Client bytes are untrusted: lossy UTF-8, never panics.
pub fn parse_head(head: &[u8]) -> Option<Request> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    if !first.next()?.starts_with("HTTP/1.") || method.is_empty() {
        return None;
    }
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Request { method, path, headers })
}

fn record(
    ctx: &HostCtx,
    local: Option<SocketAddr>,
    peer: SocketAddr,
    req: &Request,
) {
    let Some(log) = &ctx.log else { return };
    let rec = RequestRecord {
        time: chrono::Utc::now(),
        address: local.map(|a| a.ip().to_string()).unwrap_or_default(),
        port: local.map_or(0, |a| a.port()),
        peer: peer.to_string(),
        persona: ctx.persona.name.to_string(),
        method: req.method.clone(),
        path: req.path.clone(),
        headers: req.headers.clone(),
    };
    if let Ok(mut v) = log.lock() {
        v.push(rec);
    }
}
