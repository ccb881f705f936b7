//! Benchmark stand-in: one plain-HTTP listener answering for every
//! loopback address (bound to the wildcard address of a high port: the
//! bench only ever connects to 127.0.0.0/8). The persona depends on the
//! address asked for: Exchange 2019/2016/2013 builds or a plain web page.
//!
//! Usage: `responder PORT [DELAY_MS]`; DELAY_MS (default 0) is waited
//! before each answer, to stand for a network round trip.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PERSONAS: &[&str] = &[
    "HTTP/1.1 200 OK\r\nX-OWA-Version: 15.2.792.3\r\nX-FEServer: EX19\r\n\
     Content-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX-FEServer: EX16\r\nContent-Length: 32\r\n\r\n\
     <a href=\"/owa/auth/15.1.2507/x\">",
    "HTTP/1.1 200 OK\r\nX-OWA-Version: 15.0.1497.48\r\nContent-Length: 0\
     \r\n\r\n",
    "HTTP/1.1 404 Not Found\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n",
];

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 =
        std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(18080);
    let delay = std::time::Duration::from_millis(
        std::env::args().nth(2).and_then(|d| d.parse().ok()).unwrap_or(0),
    );
    let l = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
    loop {
        let (mut s, _) = l.accept().await?;
        let which = match s.local_addr()?.ip() {
            std::net::IpAddr::V4(v4) if v4.is_loopback() => {
                v4.octets()[3] as usize % PERSONAS.len()
            }
            // Anything not on loopback gets nothing.
            _ => continue,
        };
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf).await;
            tokio::time::sleep(delay).await;
            let _ = s.write_all(PERSONAS[which].as_bytes()).await;
        });
    }
}
