//! The result of fingerprinting one host:port.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::build::{PatchAssessment, Precision};

/// What the scan could tell about a host:port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    /// An Exchange server answered.
    Exchange,
    /// Something answered, but not Exchange.
    NotExchange,
    /// Nothing listens (refused or filtered).
    Closed,
    /// It answered, but the exchange failed (garbage, timeout mid-way...).
    Error,
}

/// Outcome of Microsoft's opt-in ProxyLogon cookie probe (active check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SsrfOutcome {
    /// The SSRF was answered as on an unpatched server.
    Vulnerable,
    /// Answered as a patched server does.
    NotVulnerable,
    /// The connection was aborted, as the EOMT URL rewrite rule does.
    Mitigated,
    /// Not an Exchange server.
    NotExchange,
    /// The probe failed.
    Error,
}

/// One observed signal and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The request that produced it (`GET /owa/`).
    pub request: String,
    /// What was looked at (`header:X-OWA-Version`, `path:/owa/auth/...`).
    pub signal: String,
    /// The value seen (server-controlled text: escape on output).
    pub value: String,
}

/// TLS facts of the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsFacts {
    /// `TLSv1.2`, `TLSv1.3`, `TLSv1.0`.
    pub version: String,
    /// Negotiated cipher suite.
    pub cipher: String,
    /// `rustls` or `openssl-legacy`.
    pub stack: String,
}

/// Identity signals used to tell servers apart and de-duplicate them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Identity {
    /// `X-FEServer` header (front-end server NetBIOS name).
    pub fe_server: Option<String>,
    /// `X-CalculatedBETarget` or similar back-end names, when leaked.
    pub be_server: Option<String>,
    /// Certificate subject.
    pub cert_subject: Option<String>,
    /// Certificate subject alternative names.
    pub cert_sans: Vec<String>,
    /// SHA-256 of the leaf certificate DER (hex).
    pub cert_sha256: Option<String>,
}

/// Everything one scan learnt about one host:port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostResult {
    /// Always `scan`: tells scan lines apart from other JSONL records.
    pub record: String,
    /// [`crate::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The target as given (hostname or address).
    pub target: String,
    /// The address connected to.
    pub ip: String,
    /// The port.
    pub port: u16,
    /// `https` or `http`.
    pub scheme: String,
    /// When the host was scanned.
    pub scanned_at: DateTime<Utc>,
    /// What answered.
    pub status: HostStatus,
    /// `Exchange Server 2016`, when known.
    pub product: Option<String>,
    /// Build as seen (4-part, 3-part or 2-part).
    pub build: Option<String>,
    /// Precision of `build`.
    pub precision: Option<Precision>,
    /// Judgement of the build by the same engine as `vigie check`.
    pub assessment: Option<PatchAssessment>,
    /// Result of the opt-in active probe; `None` when not run.
    pub ssrf_check: Option<SsrfOutcome>,
    /// Identity for de-duplication.
    pub identity: Identity,
    /// TLS facts, for HTTPS.
    pub tls: Option<TlsFacts>,
    /// Every signal that led to the conclusions above.
    pub evidence: Vec<Evidence>,
    /// Per-host error, when status is `error` (or a phase failed).
    pub error: Option<String>,
    /// Milliseconds spent on the host.
    pub elapsed_ms: u64,
}

impl HostResult {
    /// How the host is judged, as one word for tables, charts and run
    /// diffs: `vulnerable`, `patched`, `unknown` (Exchange, build not
    /// judged), `not_exchange`, `closed` or `error`.
    pub fn state(&self) -> &'static str {
        match self.status {
            HostStatus::Exchange => match &self.assessment {
                Some(a) if a.open_cves().next().is_some() => "vulnerable",
                Some(_) => "patched",
                None => "unknown",
            },
            HostStatus::NotExchange => "not_exchange",
            HostStatus::Closed => "closed",
            HostStatus::Error => "error",
        }
    }
}
