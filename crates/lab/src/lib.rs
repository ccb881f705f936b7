//! An emulated Exchange fleet on loopback for tests, benchmarks and the demo.
//!
//! [`Fleet::start`] binds one listener per host on consecutive loopback
//! addresses (`127.10.0.1`, `127.10.0.2`, ...; on Linux all of
//! `127.0.0.0/8` reaches `lo`, so no setup is needed), gives each host a
//! persona chosen deterministically from the seed, and answers like the
//! real server would: `/owa/` redirects to `logon.aspx` whose resource
//! paths carry the build, `X-OWA-Version` and `X-FEServer` headers, the
//! exporttool manifest, the ProxyLogon cookie probe and the ProxyShell
//! path confusion. Nothing requested is ever acted on.
//!
//! ```no_run
//! # async fn demo() -> Result<(), vigie_lab::LabError> {
//! let fleet = vigie_lab::Fleet::start(vigie_lab::FleetConfig {
//!     hosts: 16,
//!     seed: 1,
//!     ..Default::default()
//! })
//! .await?;
//! for host in fleet.manifest() {
//!     println!("{}:{} {}", host.address, host.port, host.persona);
//! }
//! let seen = fleet.requests();
//! fleet.shutdown().await;
//! # let _ = seen; Ok(()) }
//! ```
//!
//! Only loopback addresses are accepted: a base outside `127.0.0.0/8`, or a
//! fleet that would run past `127.255.255.255`, is refused.

#![deny(missing_docs)]

#[cfg(feature = "legacy-tls")]
mod legacy;
pub mod persona;
pub mod respond;
mod server;

pub use server::parse_head;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use persona::{Behaviour, ExpectedVerdict, PERSONAS, Persona};

/// Failures of [`Fleet::start`].
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The base address or the fleet would leave loopback.
    #[error("lab addresses must stay in 127.0.0.0/8: {0}")]
    NotLoopback(String),
    /// A listener could not be bound.
    #[error(
        "cannot listen on {addr} (with many hosts, raise the open-files \
         limit: ulimit -n)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// TLS certificate generation or configuration failed.
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

/// How to build a fleet.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Number of hosts (one address each).
    pub hosts: usize,
    /// Seed of the persona choice.
    pub seed: u64,
    /// First address (default `127.10.0.1`).
    pub base: Ipv4Addr,
    /// Port of TLS personas (default 8443; 0 picks a free port per host).
    pub https_port: u16,
    /// Port of plain-HTTP personas (default 8080; 0 picks a free port).
    pub http_port: u16,
    /// Keep every request for [`Fleet::requests`] (default true; turn off
    /// for long benchmarks).
    pub record_requests: bool,
    /// Index of the first host in a larger fleet split over several
    /// processes (default 0): persona and `X-FEServer` name follow the
    /// index, so shards of one seed add up to the same fleet.
    pub first_index: u64,
    /// Personas forced for some hosts, by host index (the same index as
    /// `first_index` counts): a fleet "patched" between two scans is the
    /// same seed with a few hosts overridden.
    pub overrides: BTreeMap<u64, &'static Persona>,
    /// How long the slow persona waits before each answer (default 3 s;
    /// tests shorten it).
    pub slow_delay: Duration,
    /// Wait this long before every answer of every host (default none):
    /// stands for a network round trip in benchmarks, so a scanner's
    /// concurrency shows as it would on a real network.
    pub delay: Duration,
}

impl FleetConfig {
    /// The persona of host `index`: the override, else the seed's pick.
    pub fn persona(&self, index: u64) -> &'static Persona {
        self.overrides
            .get(&index)
            .copied()
            .unwrap_or_else(|| persona::select(self.seed, index))
    }
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            hosts: 16,
            seed: 0,
            base: Ipv4Addr::new(127, 10, 0, 1),
            https_port: 8443,
            http_port: 8080,
            record_requests: true,
            first_index: 0,
            overrides: BTreeMap::new(),
            slow_delay: Duration::from_secs(3),
            delay: Duration::ZERO,
        }
    }
}

/// One host of the fleet and what a scanner should conclude about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Loopback address.
    pub address: String,
    /// Port (for `closed`, the port nothing listens on).
    pub port: u16,
    /// `https` or `http`.
    pub scheme: String,
    /// Persona name.
    pub persona: String,
    /// Product, when Exchange.
    pub product: Option<String>,
    /// Full build the emulated server runs, when Exchange.
    pub build: Option<String>,
    /// `X-FEServer` name.
    pub fe_server: Option<String>,
    /// TLS versions served: `1.2-1.3`, `1.0` (TLS 1.0 only), or `None`
    /// for plain HTTP.
    pub tls: Option<String>,
    /// Expected verdict.
    pub expected: ExpectedVerdict,
}

/// One request received by the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// When it arrived.
    pub time: chrono::DateTime<chrono::Utc>,
    /// Address of the host that received it.
    pub address: String,
    /// Port it arrived on.
    pub port: u16,
    /// The client's address.
    pub peer: String,
    /// Persona of the host.
    pub persona: String,
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers as sent, in order (including `Cookie`).
    pub headers: Vec<(String, String)>,
}

/// A running fleet; stop it with [`Fleet::shutdown`].
pub struct Fleet {
    manifest: Vec<ManifestEntry>,
    log: Option<Arc<Mutex<Vec<RequestRecord>>>>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Fleet {
    /// Binds every host and starts answering.
    pub async fn start(config: FleetConfig) -> Result<Fleet, LabError> {
        check_loopback(&config)?;
        raise_nofile(config.hosts as u64 + 4096);
        let tls = tls_acceptor()?;
        let log =
            config.record_requests.then(|| Arc::new(Mutex::new(Vec::new())));
        let (stop, stop_rx) = watch::channel(false);
        let mut fleet = Fleet {
            manifest: Vec::with_capacity(config.hosts),
            log: log.clone(),
            stop,
            tasks: Vec::with_capacity(config.hosts),
        };
        let base = u32::from(config.base);
        for i in 0..config.hosts {
            let ip = Ipv4Addr::from(base + i as u32);
            let index = config.first_index + i as u64;
            let persona = config.persona(index);
            let want =
                if persona.tls { config.https_port } else { config.http_port };
            let fe = format!("EXCH{:05}", index + 1);
            let port = if persona.behaviour == Behaviour::Closed {
                closed_port(ip, want).await
            } else {
                let addr = SocketAddr::from((ip, want));
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| LabError::Bind { addr, source })?;
                let port = listener.local_addr().map_or(want, |a| a.port());
                let ctx = server::HostCtx {
                    persona,
                    fe_server: fe.as_str().into(),
                    tls: (persona.tls && !tls10_only(persona))
                        .then(|| tls.modern.clone()),
                    #[cfg(feature = "legacy-tls")]
                    legacy: tls10_only(persona).then(|| tls.legacy.clone()),
                    log: log.clone(),
                    stop: stop_rx.clone(),
                    slow: config.slow_delay,
                    delay: config.delay,
                };
                fleet
                    .tasks
                    .push(tokio::spawn(server::accept_loop(listener, ctx)));
                port
            };
            fleet.manifest.push(entry(ip, port, persona, fe));
        }
        Ok(fleet)
    }

    /// Every host, in address order.
    pub fn manifest(&self) -> &[ManifestEntry] {
        &self.manifest
    }

    /// A copy of every request received so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.log
            .as_ref()
            .and_then(|l| l.lock().ok().map(|v| v.clone()))
            .unwrap_or_default()
    }

    /// Removes and returns the requests received so far (for streaming
    /// them to a log without holding them all).
    pub fn take_requests(&self) -> Vec<RequestRecord> {
        self.log
            .as_ref()
            .and_then(|l| l.lock().ok().map(|mut v| std::mem::take(&mut *v)))
            .unwrap_or_default()
    }

    /// Stops every listener and connection.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

impl Drop for Fleet {
    /// A fleet dropped without [`Fleet::shutdown`] (a failing test) still
    /// closes its sockets.
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// With a fixed port nothing listens there for that address; with port 0
/// a free port is taken and released, so the manifest names a real port
/// that refuses connections.
async fn closed_port(ip: Ipv4Addr, want: u16) -> u16 {
    if want != 0 {
        return want;
    }
    match tokio::net::TcpListener::bind((ip, 0)).await {
        Ok(l) => l.local_addr().map_or(0, |a| a.port()),
        Err(_) => 0,
    }
}

/// How many hosts one process can serve under its open-files hard limit
/// (one socket per host, headroom for connections).
pub fn hosts_per_process() -> usize {
    #[cfg(unix)]
    if let Ok((_, hard)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
        return hard.saturating_sub(4096).clamp(256, 1 << 24) as usize;
    }
    16_000
}

/// One socket per host plus headroom for connections. The hard limit is
/// raised too when allowed (root, or CAP_SYS_RESOURCE); otherwise the soft
/// limit goes as high as the hard one and binding reports what is missing.
#[cfg(unix)]
fn raise_nofile(want: u64) {
    use rlimit::Resource;
    if let Ok((soft, hard)) = rlimit::getrlimit(Resource::NOFILE) {
        if soft >= want {
            return;
        }
        if hard < want
            && rlimit::setrlimit(Resource::NOFILE, want, want).is_ok()
        {
            return;
        }
    }
    let _ = rlimit::increase_nofile_limit(want);
}

#[cfg(not(unix))]
fn raise_nofile(want: u64) {
    let _ = rlimit::increase_nofile_limit(want);
}

fn check_loopback(config: &FleetConfig) -> Result<(), LabError> {
    let first = u32::from(config.base);
    let last = first as u64 + config.hosts.saturating_sub(1) as u64;
    let in_lo = |a: u64| (a >> 24) == 127;
    if !in_lo(first as u64) || !in_lo(last) {
        return Err(LabError::NotLoopback(format!(
            "{} + {} hosts",
            config.base, config.hosts
        )));
    }
    Ok(())
}

fn entry(
    ip: Ipv4Addr,
    port: u16,
    p: &'static Persona,
    fe: String,
) -> ManifestEntry {
    let build = match p.behaviour {
        Behaviour::Exchange(t) => Some(t.build.to_string()),
        Behaviour::Slow => Some(persona::SLOW_BUILD.to_string()),
        _ => None,
    };
    let is_exchange = build.is_some();
    ManifestEntry {
        address: ip.to_string(),
        port,
        scheme: if p.tls { "https" } else { "http" }.into(),
        persona: p.name.into(),
        product: p.product.map(str::to_string),
        build,
        fe_server: is_exchange.then_some(fe),
        tls: p.tls.then(|| {
            if tls10_only(p) { "1.0" } else { "1.2-1.3" }.to_string()
        }),
        expected: p.expected(),
    }
}

/// A self-signed certificate generated at start (never stored).
fn tls_acceptor() -> Result<Tls, LabError> {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let ck = rcgen::generate_simple_self_signed(vec![
        "mail.lab.invalid".to_string(),
        "autodiscover.lab.invalid".to_string(),
    ])
    .map_err(|e| LabError::Tls(e.to_string()))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        ck.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LabError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .map_err(|e| LabError::Tls(e.to_string()))?;
    Ok(Tls {
        modern: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        #[cfg(feature = "legacy-tls")]
        legacy: legacy::acceptor(
            &ck.cert.pem(),
            &ck.signing_key.serialize_pem(),
        )?,
    })
}

/// The acceptors every TLS host shares.
struct Tls {
    modern: tokio_rustls::TlsAcceptor,
    #[cfg(feature = "legacy-tls")]
    legacy: Arc<openssl::ssl::SslAcceptor>,
}

/// Exchange 2010 sits on Windows Server 2008 R2: TLS 1.0 only, when the
/// `legacy-tls` feature can serve it.
fn tls10_only(p: &Persona) -> bool {
    cfg!(feature = "legacy-tls")
        && p.tls
        && matches!(p.behaviour, Behaviour::Exchange(t) if t.build.starts_with("14."))
}
