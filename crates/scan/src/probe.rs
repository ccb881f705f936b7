//! Probe one host:port: the passive requests, the optional active cookie
//! probe, and the judgement of the build seen.

use std::net::SocketAddr;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use vigie_model::SCHEMA_VERSION;
use vigie_model::scan::{
    Evidence, HostResult, HostStatus, Identity, SsrfOutcome,
};

use crate::fingerprint::{Observed, fingerprint};
use crate::http::{Endpoint, FetchError, Session, Timeouts, get};

/// The passive requests, in order.
pub const OWA: &str = "/owa/";
/// The OWA logon page: resource paths carry the CU build.
pub const LOGON: &str = "/owa/auth/logon.aspx";
/// The eDiscovery export tool manifest: the full build on 2013+.
pub const EXPORTTOOL: &str = "/ecp/Current/exporttool/\
     microsoft.exchange.ediscovery.exporttool.application";
/// Path of Microsoft's ProxyLogon cookie probe (active).
pub const SSRF_PATH: &str = "/owa/auth/x.js";
/// Cookie of Microsoft's ProxyLogon probe (`http-vuln-cve2021-26855.nse`).
pub const SSRF_COOKIE: &str = "X-AnonResource=true; \
     X-AnonResource-Backend=localhost/ecp/default.flt?~3; \
     X-BEResource=localhost/owa/auth/logon.aspx?~3;";

/// One host:port to probe.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    /// As the user gave it (hostname or address).
    pub target: String,
    /// Where to connect.
    pub addr: SocketAddr,
    /// Name for SNI and Host; the address when `None`.
    pub name: Option<String>,
}

/// How to probe.
#[derive(Debug, Clone, Copy)]
pub struct ProbeOptions {
    /// Per-phase time limits.
    pub timeouts: Timeouts,
    /// Run the active ProxyLogon cookie probe.
    pub ssrf_check: bool,
    /// Judgement date for the build assessment.
    pub as_of: NaiveDate,
    /// HTTPS, HTTP, or chosen by port.
    pub scheme: Scheme,
}

/// Which protocol to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP on ports 80 and 8080, HTTPS elsewhere.
    Auto,
    /// Always HTTPS.
    Https,
    /// Always plain HTTP.
    Http,
}

impl Scheme {
    /// Whether to use TLS on `port`.
    pub fn tls(self, port: u16) -> bool {
        match self {
            Scheme::Auto => uses_tls(port),
            Scheme::Https => true,
            Scheme::Http => false,
        }
    }
}

/// Plain HTTP on the usual cleartext ports, TLS elsewhere.
pub fn uses_tls(port: u16) -> bool {
    !matches!(port, 80 | 8080)
}

/// `fut` within the host's deadline.
async fn within<T>(
    deadline: tokio::time::Instant,
    limit: std::time::Duration,
    fut: impl Future<Output = Result<T, FetchError>>,
) -> Result<T, FetchError> {
    tokio::time::timeout_at(deadline, fut)
        .await
        .unwrap_or(Err(FetchError::HostDeadline(limit)))
}

/// Probe one target; never fails: errors are part of the result. Every
/// request to the target shares one deadline (`timeouts.host`).
pub async fn probe(t: &ProbeTarget, opts: ProbeOptions) -> HostResult {
    let started = Instant::now();
    let limit = opts.timeouts.host;
    let deadline = tokio::time::Instant::now() + limit;
    let tls = opts.scheme.tls(t.addr.port());
    let ep = Endpoint {
        addr: t.addr,
        host: t.name.clone().unwrap_or_else(|| t.addr.ip().to_string()),
        tls,
    };
    let mut r = empty_result(t, tls);
    let mut seen = Vec::new();
    // The passive requests share one kept-alive connection; the active
    // probe below has its own, so an abort is the server's answer to it.
    let mut session = Session::new(&ep, opts.timeouts);
    match within(deadline, limit, session.get(OWA)).await {
        Ok(resp) => {
            seen.push(Observed {
                request: format!("GET {OWA}"),
                response: resp,
            });
        }
        Err(e) => {
            r.status = match e {
                FetchError::Refused | FetchError::ConnectTimeout => {
                    HostStatus::Closed
                }
                _ => HostStatus::Error,
            };
            r.error = Some(e.to_string());
            r.elapsed_ms = ms(started);
            return r;
        }
    }
    let mut errors = Vec::new();
    let mut fetch = Fetch { session: &mut session, deadline, limit };
    fetch.get_into(LOGON, &mut seen, &mut errors).await;
    let fp = fingerprint(&seen);
    let want_manifest = fp.is_exchange
        && fp.precision != Some(vigie_model::build::Precision::Exact)
        && fp.product.as_deref() != Some("Exchange Server 2010");
    let fp = if want_manifest {
        fetch.get_into(EXPORTTOOL, &mut seen, &mut errors).await;
        fingerprint(&seen)
    } else {
        fp
    };
    r.status = if fp.is_exchange {
        HostStatus::Exchange
    } else {
        HostStatus::NotExchange
    };
    // Done with the passive requests: let the server go.
    session.close();
    let conn = session.facts();
    r.tls = conn.tls;
    r.identity = Identity {
        fe_server: fp.fe_server.clone(),
        be_server: fp.be_server.clone(),
        ..conn.identity
    };
    r.product = fp.product.clone();
    r.build = fp.build.clone();
    r.precision = fp.precision;
    r.evidence = fp.evidence;
    if let Some(b) = &fp.build {
        match vigie_builds::Table::embedded().assess(b, opts.as_of) {
            Ok(a) => {
                if a.product.is_some() {
                    r.product = a.product.clone();
                }
                r.assessment = Some(a);
            }
            Err(e) => errors.push(format!("build {b:?}: {e}")),
        }
    }
    if opts.ssrf_check {
        let (outcome, ev) = ssrf(&ep, fp.is_exchange, opts, deadline).await;
        r.ssrf_check = Some(outcome);
        r.evidence.extend(ev);
    }
    if !errors.is_empty() {
        r.error = Some(errors.join("; "));
    }
    r.elapsed_ms = ms(started);
    r
}

/// The passive requests after the first, within the host's deadline.
struct Fetch<'s, 'e> {
    session: &'s mut Session<'e>,
    deadline: tokio::time::Instant,
    limit: std::time::Duration,
}

impl Fetch<'_, '_> {
    async fn get_into(
        &mut self,
        path: &str,
        seen: &mut Vec<Observed>,
        errors: &mut Vec<String>,
    ) {
        let got =
            within(self.deadline, self.limit, self.session.get(path)).await;
        match got {
            Ok(resp) => seen.push(Observed {
                request: format!("GET {path}"),
                response: resp,
            }),
            Err(e) => errors.push(format!("GET {path}: {e}")),
        }
    }
}

/// Microsoft's ProxyLogon cookie probe: vulnerable when the front end
/// computed a back end of `localhost` from the forged cookie. Not sent to
/// hosts not seen as Exchange. The evidence entry says it was ACTIVE.
async fn ssrf(
    ep: &Endpoint,
    is_exchange: bool,
    o: ProbeOptions,
    deadline: tokio::time::Instant,
) -> (SsrfOutcome, Option<Evidence>) {
    if !is_exchange {
        return (SsrfOutcome::NotExchange, None);
    }
    let probe = get(ep, SSRF_PATH, Some(SSRF_COOKIE), o.timeouts);
    let got = within(deadline, o.timeouts.host, probe).await;
    let (outcome, seen) = match &got {
        Ok((resp, _)) => match resp.header("x-calculatedbetarget") {
            Some(v) if v.to_ascii_lowercase().contains("localhost") => {
                (SsrfOutcome::Vulnerable, format!("X-CalculatedBETarget: {v}"))
            }
            Some(v) => (
                SsrfOutcome::NotVulnerable,
                format!("X-CalculatedBETarget: {v}"),
            ),
            None => (
                SsrfOutcome::NotVulnerable,
                format!("HTTP {} without X-CalculatedBETarget", resp.status),
            ),
        },
        Err(FetchError::Aborted) => {
            (SsrfOutcome::Mitigated, "connection aborted".to_string())
        }
        Err(e) => (SsrfOutcome::Error, e.to_string()),
    };
    let ev = Evidence {
        request: format!(
            "GET {SSRF_PATH} with ProxyLogon probe cookie (ACTIVE, \
             --ssrf-check)"
        ),
        signal: "active:ssrf-cookie-probe".to_string(),
        value: seen.chars().take(200).collect(),
    };
    (outcome, Some(ev))
}

fn ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A result with nothing learnt yet (status `error`), e.g. for a name
/// that did not resolve.
pub fn unprobed(t: &ProbeTarget, scheme: Scheme) -> HostResult {
    empty_result(t, scheme.tls(t.addr.port()))
}

fn empty_result(t: &ProbeTarget, tls: bool) -> HostResult {
    HostResult {
        record: "scan".to_string(),
        schema_version: SCHEMA_VERSION,
        target: t.target.clone(),
        ip: t.addr.ip().to_string(),
        port: t.addr.port(),
        scheme: if tls { "https" } else { "http" }.to_string(),
        scanned_at: Utc::now(),
        status: HostStatus::Error,
        product: None,
        build: None,
        precision: None,
        assessment: None,
        ssrf_check: None,
        identity: Identity::default(),
        tls: None,
        evidence: Vec::new(),
        error: None,
        elapsed_ms: 0,
    }
}

/// Whether a result is a finding: an open CVE or a vulnerable probe.
pub fn is_finding(r: &HostResult) -> bool {
    r.ssrf_check == Some(SsrfOutcome::Vulnerable)
        || r.assessment
            .as_ref()
            .is_some_and(|a| a.open_cves().next().is_some())
}
