//! A host's passive requests on one kept-alive connection.
//!
//! A response is complete when its `Content-Length` bytes (or the last
//! chunk) have arrived; the connection is then reused for the next request
//! unless the server said `Connection: close`, spoke HTTP/1.0, sent more
//! than one response's worth, or the read stopped at the size limit. A
//! reused connection the server has meanwhile closed costs one fresh
//! connection, never an error. Every read keeps the limits of
//! [`super::exchange`].

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

use super::{
    ConnFacts, Endpoint, FetchError, MAX_RESPONSE, Response, Timeouts,
    connect, handshake, parse_response, request_bytes,
};

/// A connection kept open between requests.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Requests to one endpoint over as few connections as the server allows.
pub struct Session<'a> {
    ep: &'a Endpoint,
    t: Timeouts,
    conn: Option<Box<dyn Stream>>,
    facts: Option<ConnFacts>,
}

impl<'a> Session<'a> {
    /// Nothing is connected until the first request.
    pub fn new(ep: &'a Endpoint, t: Timeouts) -> Self {
        Session { ep, t, conn: None, facts: None }
    }

    /// TLS facts and certificate identity of the first connection.
    pub fn facts(&self) -> ConnFacts {
        self.facts.clone().unwrap_or_default()
    }

    /// Close the kept connection (before a request that needs its own).
    pub fn close(&mut self) {
        self.conn = None;
    }

    /// One GET, on the open connection when there is one.
    pub async fn get(&mut self, path: &str) -> Result<Response, FetchError> {
        let req = request_bytes(&self.ep.host, path, None, false);
        if let Some(conn) = self.conn.take() {
            match exchange_framed(conn, &req, self.t.request).await {
                Ok((resp, back)) => {
                    self.conn = back;
                    return Ok(resp);
                }
                // Closed while idle: ask again on a fresh connection.
                Err(FetchError::Aborted) => {}
                Err(e) => return Err(e),
            }
        }
        self.fresh(path, &req).await
    }

    async fn fresh(
        &mut self,
        path: &str,
        req: &[u8],
    ) -> Result<Response, FetchError> {
        let tcp = connect(self.ep.addr, self.t.connect).await?;
        let _ = tcp.set_nodelay(true);
        let conn: Box<dyn Stream> = if !self.ep.tls {
            Box::new(tcp)
        } else {
            match handshake(self.ep, tcp, self.t).await {
                Ok((stream, facts)) => {
                    self.facts.get_or_insert(facts);
                    Box::new(stream)
                }
                Err(e) => return self.fallback(path, e).await,
            }
        };
        let (resp, back) = exchange_framed(conn, req, self.t.request).await?;
        self.conn = back;
        Ok(resp)
    }

    /// rustls refused the server: with `legacy-tls`, one request over
    /// OpenSSL (TLS 1.0/1.1, CBC), on its own connection.
    #[cfg(feature = "legacy-tls")]
    async fn fallback(
        &mut self,
        path: &str,
        e: FetchError,
    ) -> Result<Response, FetchError> {
        let FetchError::Tls(why) = e else { return Err(e) };
        let req = request_bytes(&self.ep.host, path, None, true);
        match crate::legacy::get(self.ep, &req, self.t).await {
            Ok((resp, facts)) => {
                self.facts.get_or_insert(facts);
                Ok(resp)
            }
            Err(FetchError::Tls(legacy)) => Err(FetchError::Tls(format!(
                "{why}; legacy OpenSSL fallback: {legacy}"
            ))),
            Err(other) => Err(other),
        }
    }

    #[cfg(not(feature = "legacy-tls"))]
    async fn fallback(
        &mut self,
        _path: &str,
        e: FetchError,
    ) -> Result<Response, FetchError> {
        Err(e)
    }
}

/// How the end of a response is known, once its head has arrived.
#[derive(Clone, Copy)]
enum Frame {
    /// The whole response is this many bytes.
    Length(usize),
    /// Chunked: ends with the zero-length chunk.
    Chunked,
    /// Neither: the server closes the connection at the end.
    UntilClose,
}

fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

fn frame(buf: &[u8], head: usize) -> Frame {
    let text = String::from_utf8_lossy(&buf[..head]).to_ascii_lowercase();
    let status = text.split(' ').nth(1).unwrap_or("");
    if status.starts_with('1') || status == "204" || status == "304" {
        return Frame::Length(head);
    }
    let value = |name: &str| {
        text.split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim() == name)
            .map(|(_, v)| v.trim().to_string())
    };
    if value("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        return Frame::Chunked;
    }
    match value("content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(n) => Frame::Length(head.saturating_add(n)),
        None => Frame::UntilClose,
    }
}

/// Bytes of the response when it is complete, `None` while more is due.
fn complete(buf: &[u8], head: usize, f: Frame) -> Option<usize> {
    match f {
        Frame::Length(n) => (buf.len() >= n).then_some(n),
        Frame::Chunked => {
            let body = &buf[head..];
            (body.ends_with(b"\r\n0\r\n\r\n") || body == b"0\r\n\r\n")
                .then_some(buf.len())
        }
        Frame::UntilClose => None,
    }
}

/// Send `req` and read one response within `limit`; the stream comes
/// back when it can carry another request.
async fn exchange_framed<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    req: &[u8],
    limit: std::time::Duration,
) -> Result<(Response, Option<S>), FetchError> {
    let deadline = Instant::now() + limit;
    timeout_at(deadline, s.write_all(req))
        .await
        .map_err(|_| FetchError::Timeout)?
        .map_err(|_| FetchError::Aborted)?;
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    let mut truncated = false;
    let mut framing: Option<(usize, Frame)> = None;
    let mut done = None;
    loop {
        let n = match timeout_at(deadline, s.read(&mut chunk)).await {
            Err(_) if framing.is_some() => break,
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
        if framing.is_none() {
            framing = head_end(&buf).map(|h| (h, frame(&buf, h)));
        }
        if let Some((head, f)) = framing
            && let Some(end) = complete(&buf, head, f)
        {
            done = Some(end);
            break;
        }
    }
    if buf.is_empty() {
        return Err(FetchError::Aborted);
    }
    let mut resp = parse_response(&buf)?;
    resp.truncated = truncated;
    let keep = done == Some(buf.len())
        && buf.starts_with(b"HTTP/1.1 ")
        && !resp
            .header("connection")
            .is_some_and(|v| v.to_ascii_lowercase().contains("close"));
    Ok((resp, keep.then_some(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(raw: &[u8]) -> Option<usize> {
        let head = head_end(raw)?;
        complete(raw, head, frame(raw, head))
    }

    #[test]
    fn response_ends_by_length_chunks_or_status() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(framed(ok), Some(ok.len()));
        assert_eq!(framed(&ok[..ok.len() - 1]), None);
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                        3\r\nabc\r\n0\r\n\r\n";
        assert_eq!(framed(chunked), Some(chunked.len()));
        let not_modified = b"HTTP/1.1 304 Not Modified\r\nX: y\r\n\r\n";
        assert_eq!(framed(not_modified), Some(not_modified.len()));
        // No framing: only the close ends it (never reused).
        assert_eq!(framed(b"HTTP/1.1 200 OK\r\n\r\nabc"), None);
        // A huge declared length does not overflow.
        let huge =
            b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n";
        assert_eq!(framed(huge), None);
    }
}
