//! Passive fingerprint: a pure function from responses to conclusions.
//!
//! Signals, from most to least precise: the eDiscovery export tool
//! manifest (4-part build, 2013+), the `X-OWA-Version` header (4-part, the
//! OWA version, which can differ slightly from ExSetup), OWA resource paths
//! (`/owa/auth/15.1.2176/...`: 3-part, CU only, on 2013+; `/owa/14.3.513.0/`:
//! 4-part on 2010), then markers that only say "Exchange" (`X-FEServer`,
//! OWA page markers). Every signal used is recorded as evidence.

use vigie_model::build::Precision;
use vigie_model::scan::Evidence;

use crate::http::Response;

/// One response and the request that produced it.
#[derive(Debug, Clone)]
pub struct Observed {
    /// `GET /owa/`.
    pub request: String,
    /// The response.
    pub response: Response,
}

/// What the responses say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fingerprint {
    /// Whether any Exchange marker was seen.
    pub is_exchange: bool,
    /// The best build seen.
    pub build: Option<String>,
    /// Its precision.
    pub precision: Option<Precision>,
    /// Product name from the build's major.minor.
    pub product: Option<String>,
    /// `X-FEServer`.
    pub fe_server: Option<String>,
    /// `X-CalculatedBETarget` / `X-BEServer`.
    pub be_server: Option<String>,
    /// Every signal used.
    pub evidence: Vec<Evidence>,
}

const MANIFEST_NAME: &str =
    "microsoft.exchange.ediscovery.exporttool.application";

/// Markers of an OWA logon page (any one suffices).
const BODY_MARKERS: &[&str] =
    &["IsOwaPremiumBrowser", "/owa/auth/", "Outlook Web App", "flogon"];

/// Derive the fingerprint from everything observed on one host.
pub fn fingerprint(observed: &[Observed]) -> Fingerprint {
    let mut fp = Fingerprint::default();
    // (rank, build, precision): lower rank wins.
    let mut best: Option<(u8, String, Precision)> = None;
    let mut offer = |rank: u8, build: String, p: Precision| {
        if best.as_ref().is_none_or(|b| rank < b.0) {
            best = Some((rank, build, p));
        }
    };
    for o in observed {
        let r = &o.response;
        let ev = |signal: &str, value: &str| Evidence {
            request: o.request.clone(),
            signal: signal.to_string(),
            value: clip(value),
        };
        if let Some(v) = r.header("x-owa-version") {
            // Exchange sends exactly a build here; anything else
            // (`15.1.2176.9JJJ`) is some other server or a decoy: kept
            // as evidence of that, never taken as a build.
            if let Some((b, p)) = whole_version(v) {
                fp.evidence.push(ev("header:X-OWA-Version", v));
                fp.is_exchange = true;
                offer(1, b, p);
            } else {
                fp.evidence.push(ev("header:X-OWA-Version-malformed", v));
            }
        }
        for (h, name) in [("x-feserver", "X-FEServer")] {
            if let Some(v) = r.header(h) {
                fp.evidence.push(ev(&format!("header:{name}"), v));
                fp.is_exchange = true;
                fp.fe_server.get_or_insert_with(|| clip(v));
            }
        }
        for (h, name) in [
            ("x-calculatedbetarget", "X-CalculatedBETarget"),
            ("x-beserver", "X-BEServer"),
        ] {
            if let Some(v) = r.header(h) {
                fp.evidence.push(ev(&format!("header:{name}"), v));
                fp.is_exchange = true;
                fp.be_server.get_or_insert_with(|| clip(v));
            }
        }
        if let Some(loc) = r.header("location")
            && let Some((b, p)) = owa_path_version(loc)
        {
            fp.evidence.push(ev("header:Location", loc));
            fp.is_exchange = true;
            offer(2, b, p);
        }
        let body = String::from_utf8_lossy(&r.body);
        if let Some(b) = manifest_version(&body) {
            fp.evidence.push(ev("body:exporttool-manifest", &b));
            fp.is_exchange = true;
            offer(0, b, Precision::Exact);
        }
        if let Some((b, p)) = owa_path_version(&body) {
            fp.evidence.push(ev("body:owa-resource-path", &b));
            fp.is_exchange = true;
            offer(2, b, p);
        } else if let Some(m) =
            BODY_MARKERS.iter().find(|m| body.contains(**m))
        {
            fp.evidence.push(ev("body:owa-marker", m));
            fp.is_exchange = true;
        }
    }
    // The same header on every response is one signal, not three.
    let mut seen = std::collections::HashSet::new();
    fp.evidence.retain(|e| seen.insert((e.signal.clone(), e.value.clone())));
    if let Some((_, b, p)) = best {
        fp.product = product_of(&b).map(str::to_string);
        fp.build = Some(b);
        fp.precision = Some(p);
    }
    fp
}

/// Server text goes into results as data, but never unbounded.
fn clip(v: &str) -> String {
    v.chars().take(200).collect()
}

/// Product line from a build's major.minor.
pub fn product_of(build: &str) -> Option<&'static str> {
    let mut parts = build.split('.');
    match (parts.next()?, parts.next()?) {
        ("8", _) => Some("Exchange Server 2007"),
        ("14", _) => Some("Exchange Server 2010"),
        ("15", "0") => Some("Exchange Server 2013"),
        ("15", "1") => Some("Exchange Server 2016"),
        ("15", "2") => Some("Exchange Server 2019"),
        _ => None,
    }
}

/// A header value that is a build and nothing else (spaces aside).
fn whole_version(value: &str) -> Option<(String, Precision)> {
    let v = value.trim();
    let all = v.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if !all || v.ends_with('.') {
        return None;
    }
    version_at(v, 0)
}

/// A dotted version starting at `at`: 3 or 4 numeric parts, not followed
/// by a letter, digit or `-`/`_`/`+` (`15.1.2176.9JJJ` is no build).
fn version_at(text: &str, at: usize) -> Option<(String, Precision)> {
    let rest = &text[at..];
    let len =
        rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
    let glued = rest[len..]
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '+'));
    if glued {
        return None;
    }
    let v = rest[..len].trim_end_matches('.');
    let parts: Vec<&str> = v.split('.').collect();
    let ok = parts.iter().all(|p| !p.is_empty() && p.len() <= 5);
    match parts.len() {
        4 if ok => Some((v.to_string(), Precision::Exact)),
        3 if ok => Some((v.to_string(), Precision::CuOnly)),
        _ => None,
    }
}

/// The build in an OWA resource path. 2013+ paths carry 3 parts (CU only);
/// 2010 paths (`/owa/14.3.513.0/`) carry all 4.
pub fn owa_path_version(text: &str) -> Option<(String, Precision)> {
    for prefix in ["/owa/auth/", "/owa/"] {
        let mut from = 0;
        while let Some(i) = text[from..].find(prefix) {
            let at = from + i + prefix.len();
            if text[at..].starts_with(|c: char| c.is_ascii_digit())
                && let Some(found) = version_at(text, at)
            {
                return Some(found);
            }
            from = at;
        }
    }
    None
}

/// The version attribute of the export tool manifest's assemblyIdentity.
pub fn manifest_version(body: &str) -> Option<String> {
    let i = body.find(MANIFEST_NAME)?;
    let tag_start = body[..i].rfind('<')?;
    let tag_end = i + body[i..].find('>')?;
    let tag = &body[tag_start..tag_end];
    let v = tag.find("version=\"")? + "version=\"".len();
    match version_at(tag, v)? {
        (b, Precision::Exact) => Some(b),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
