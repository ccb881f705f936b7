//! Scan feeds from others, read row by row and judged by vigie's engine.
//!
//! Two formats:
//! - Shadowserver's "Vulnerable Exchange Server" report (`scan_exchange`
//!   CSV): a header row naming the columns (`timestamp`, `ip`, `port`,
//!   `hostname`, `tag`, `asn`, `geo`, `region`, `city`, `naics`, `sic`,
//!   `sector`, `version`, `servername`, `url`, ...). Columns are found by
//!   name, so added or reordered columns do not break the reader. The
//!   `version` is a 3-part build (`15.1.2176`): its precision is
//!   `cu_only`, and the engine never calls an SU-fixed CVE patched or
//!   vulnerable on it.
//! - Plain `host,build` lists (`host` may be `name`, `address`,
//!   `name:port`, `[v6]:port`; port 443 by default), `#` comments and an
//!   optional `host,build` header.
//!
//! A row that cannot be used is an item error naming `file:line` and what
//! was wrong; reading goes on with the next row.

use std::io::Read;
use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use vigie_model::build::Precision;
use vigie_model::scan::{Evidence, HostResult, HostStatus, Identity};
use vigie_model::{ItemError, ItemErrorKind, SCHEMA_VERSION};

/// Longest cell kept (a feed is attacker-reachable text: a hostile
/// hostname or banner must not blow up memory or reports).
const MAX_CELL: usize = 1024;

/// Which feed format a file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    /// Shadowserver's Vulnerable Exchange Server report CSV.
    Shadowserver,
    /// `host,build` lines.
    HostBuild,
}

impl FeedFormat {
    /// The name used in run sources (`import:shadowserver:FILE`).
    pub fn as_str(self) -> &'static str {
        match self {
            FeedFormat::Shadowserver => "shadowserver",
            FeedFormat::HostBuild => "hostbuild",
        }
    }

    /// Tell the format from the start of a file: a CSV header with `ip`
    /// and `version` columns is Shadowserver's; anything else is a
    /// `host,build` list.
    pub fn detect(start: &[u8]) -> FeedFormat {
        let text = String::from_utf8_lossy(start);
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap_or("");
        let cols: Vec<String> = first
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
            .collect();
        let has = |n: &str| cols.iter().any(|c| c == n);
        if has("ip") && has("version") {
            FeedFormat::Shadowserver
        } else {
            FeedFormat::HostBuild
        }
    }
}

/// One usable row of a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRow {
    /// Line of the row in its file (1-based).
    pub line: u64,
    /// The server as vigie's own scans key it: the address for
    /// Shadowserver rows (so `vigie diff` lines them up with scans of
    /// address ranges), the host as given for `host,build` rows.
    pub target: String,
    /// The feed's host name (reverse DNS, attacker-influenced text).
    pub hostname: Option<String>,
    /// The address (empty when a `host,build` row names a host only).
    pub ip: String,
    /// The port.
    pub port: u16,
    /// When the feed saw the host.
    pub seen_at: Option<DateTime<Utc>>,
    /// The build as given (may be 3-part); `None` when the feed has none.
    pub build: Option<String>,
    /// The NetBIOS server name the feed reports.
    pub servername: Option<String>,
    /// The feed's tag (`exchange;cve-2021-26855`).
    pub tag: Option<String>,
    /// Autonomous system number, as given.
    pub asn: Option<String>,
    /// Country code, as given.
    pub geo: Option<String>,
}

/// Column positions of a Shadowserver header.
#[derive(Debug, Default)]
struct Columns {
    timestamp: Option<usize>,
    ip: Option<usize>,
    port: Option<usize>,
    hostname: Option<usize>,
    version: Option<usize>,
    servername: Option<usize>,
    tag: Option<usize>,
    asn: Option<usize>,
    geo: Option<usize>,
}

impl Columns {
    fn of(header: &csv::StringRecord) -> Columns {
        let mut c = Columns::default();
        for (i, name) in header.iter().enumerate() {
            let slot = match name.trim().to_ascii_lowercase().as_str() {
                "timestamp" => &mut c.timestamp,
                "ip" => &mut c.ip,
                "port" => &mut c.port,
                "hostname" => &mut c.hostname,
                "version" => &mut c.version,
                "servername" => &mut c.servername,
                "tag" => &mut c.tag,
                "asn" => &mut c.asn,
                "geo" => &mut c.geo,
                _ => continue,
            };
            slot.get_or_insert(i);
        }
        c
    }
}

/// Reads the rows of one feed file, one [`FeedRow`] or [`ItemError`] at
/// a time (the file is never held whole).
pub struct FeedReader<R: Read> {
    csv: csv::Reader<R>,
    name: String,
    format: FeedFormat,
    columns: Option<Columns>,
    record: csv::StringRecord,
    done: bool,
}

impl<R: Read> FeedReader<R> {
    /// Read `reader` in `format`; `name` names the file in errors.
    pub fn new(reader: R, name: &str, format: FeedFormat) -> Self {
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(reader);
        FeedReader {
            csv,
            name: name.to_string(),
            format,
            columns: None,
            record: csv::StringRecord::new(),
            done: false,
        }
    }

    fn error(&self, line: u64, message: impl Into<String>) -> ItemError {
        ItemError::new(
            format!("{}:{line}", self.name),
            ItemErrorKind::Parse,
            message,
        )
    }

    /// The next row, or `None` at the end of the file.
    fn next_row(&mut self) -> Option<Result<FeedRow, ItemError>> {
        loop {
            if self.done {
                return None;
            }
            let line = self.csv.position().line().max(1);
            match self.csv.read_record(&mut self.record) {
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Ok(true) => {}
                Err(e) => {
                    let at = e.position().map_or(line, |p| p.line());
                    // an I/O error ends the file; a bad row does not
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        self.done = true;
                    }
                    return Some(Err(self.error(at, cut(&e.to_string()))));
                }
            }
            let line = self.record.position().map_or(line, |p| p.line());
            if self.record.iter().all(str::is_empty) {
                continue;
            }
            let row = match self.format {
                FeedFormat::Shadowserver => self.shadowserver(line)?,
                FeedFormat::HostBuild => self.host_build(line)?,
            };
            return Some(row);
        }
    }

    /// A Shadowserver row; `None` for the header (which sets the columns).
    fn shadowserver(
        &mut self,
        line: u64,
    ) -> Option<Result<FeedRow, ItemError>> {
        let Some(cols) = &self.columns else {
            let cols = Columns::of(&self.record);
            if cols.ip.is_none() || cols.version.is_none() {
                self.done = true;
                return Some(Err(self.error(
                    line,
                    "not a Shadowserver Exchange report: the header has no \
                     `ip` and `version` columns",
                )));
            }
            self.columns = Some(cols);
            return None;
        };
        let cell = |i: Option<usize>| {
            i.and_then(|i| self.record.get(i))
                .filter(|v| !v.is_empty())
                .map(|v| v.chars().take(MAX_CELL).collect::<String>())
        };
        let Some(ip) = cell(cols.ip) else {
            return Some(Err(self.error(line, "empty ip")));
        };
        let Ok(addr) = ip.parse::<IpAddr>() else {
            return Some(Err(self.error(
                line,
                format!("bad ip {:?}", vigie_model::terminal_safe(&ip)),
            )));
        };
        let port = match cell(cols.port).map(|p| p.parse::<u16>()) {
            None => 443,
            Some(Ok(p)) if p > 0 => p,
            Some(_) => {
                return Some(Err(self.error(line, "bad port (1-65535)")));
            }
        };
        let seen_at = match cell(cols.timestamp).map(|t| parse_time(&t)) {
            None => None,
            Some(Some(t)) => Some(t),
            Some(None) => {
                return Some(Err(self.error(
                    line,
                    "bad timestamp (expected YYYY-MM-DD HH:MM:SS, UTC)",
                )));
            }
        };
        Some(Ok(FeedRow {
            line,
            target: addr.to_string(),
            hostname: cell(cols.hostname),
            ip: addr.to_string(),
            port,
            seen_at,
            build: cell(cols.version),
            servername: cell(cols.servername),
            tag: cell(cols.tag),
            asn: cell(cols.asn),
            geo: cell(cols.geo),
        }))
    }

    /// A `host,build` row; `None` for a `host,build` header.
    fn host_build(&mut self, line: u64) -> Option<Result<FeedRow, ItemError>> {
        let host = self.record.get(0).unwrap_or("");
        let build = self.record.get(1).unwrap_or("");
        if host.eq_ignore_ascii_case("host") && build.starts_with("build") {
            return None;
        }
        if self.record.len() != 2 || host.is_empty() || build.is_empty() {
            return Some(Err(self.error(line, "expected host,build")));
        }
        let Some((target, ip, port)) = split_host(host) else {
            return Some(Err(self.error(
                line,
                format!("bad host {:?}", vigie_model::terminal_safe(host)),
            )));
        };
        Some(Ok(FeedRow {
            line,
            target,
            hostname: None,
            ip,
            port,
            seen_at: None,
            build: Some(build.chars().take(MAX_CELL).collect()),
            servername: None,
            tag: None,
            asn: None,
            geo: None,
        }))
    }
}

impl<R: Read> Iterator for FeedReader<R> {
    type Item = Result<FeedRow, ItemError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            match self.next_row() {
                Some(row) => return Some(row),
                None if self.done => return None,
                // a header row: read on
                None => continue,
            }
        }
    }
}

fn cut(text: &str) -> String {
    vigie_model::terminal_safe(&text.chars().take(200).collect::<String>())
}

/// `name`, `addr`, `name:port`, `addr:port`, `[v6]:port` into
/// (target, ip, port).
fn split_host(host: &str) -> Option<(String, String, u16)> {
    if host.len() > 255 || host.chars().any(|c| c.is_whitespace()) {
        return None;
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some((host.to_string(), ip.to_string(), 443));
    }
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => {
            let (v6, port) = rest.split_once("]:")?;
            (v6, port.parse::<u16>().ok().filter(|&p| p > 0)?)
        }
        None => match host.rsplit_once(':') {
            Some((n, p)) => (n, p.parse::<u16>().ok().filter(|&p| p > 0)?),
            None => (host, 443),
        },
    };
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:".contains(c));
    if !ok {
        return None;
    }
    let ip = name.parse::<IpAddr>().map(|a| a.to_string()).ok();
    Some((name.to_string(), ip.unwrap_or_default(), port))
}

/// Shadowserver's `2021-05-14 00:11:30` (UTC), or RFC 3339.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim().trim_end_matches(" UTC").trim_end_matches('Z');
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(t.and_utc());
        }
    }
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// Judge one feed row with vigie's engine: a scan host record whose
/// evidence names the source. A build the engine cannot read is an error
/// naming `file:line`; a row with no build is an Exchange server of
/// unknown build (state `unknown`).
pub fn judge(
    row: &FeedRow,
    source: &str,
    name: &str,
    as_of: NaiveDate,
    now: DateTime<Utc>,
) -> Result<HostResult, ItemError> {
    let table = vigie_builds::Table::embedded();
    let mut evidence = vec![Evidence {
        request: source.to_string(),
        signal: "feed:row".to_string(),
        value: format!("{name}:{}", row.line),
    }];
    let mut push = |signal: &str, value: &Option<String>| {
        if let Some(v) = value {
            evidence.push(Evidence {
                request: source.to_string(),
                signal: format!("feed:{signal}"),
                value: v.clone(),
            });
        }
    };
    push("hostname", &row.hostname);
    push("version", &row.build);
    push("tag", &row.tag);
    push("servername", &row.servername);
    push("asn", &row.asn);
    push("geo", &row.geo);
    let assessment = match &row.build {
        None => None,
        Some(b) => Some(table.assess(b, as_of).map_err(|e| {
            ItemError::new(
                format!("{name}:{}", row.line),
                ItemErrorKind::Parse,
                format!(
                    "build {:?}: {e}",
                    vigie_model::terminal_safe(&cut(b))
                ),
            )
        })?),
    };
    let precision: Option<Precision> =
        assessment.as_ref().map(|a| a.precision);
    Ok(HostResult {
        record: "scan".to_string(),
        schema_version: SCHEMA_VERSION,
        target: row.target.clone(),
        ip: row.ip.clone(),
        port: row.port,
        scheme: if row.port == 80 { "http" } else { "https" }.to_string(),
        scanned_at: row.seen_at.unwrap_or(now),
        status: HostStatus::Exchange,
        product: assessment.as_ref().and_then(|a| a.product.clone()),
        build: row.build.clone(),
        precision,
        assessment,
        ssrf_check: None,
        identity: Identity {
            fe_server: row.servername.clone(),
            ..Identity::default()
        },
        tls: None,
        evidence,
        error: None,
        elapsed_ms: 0,
    })
}

#[cfg(test)]
mod tests;
