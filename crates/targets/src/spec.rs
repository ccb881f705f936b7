//! Parsing of target specs, port lists and zmap-style exclusion lists.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::TargetError;
use crate::set::RangeSet;

/// Largest address block accepted in one spec: 2^32 addresses (a /0 of
/// IPv4, a /96 of IPv6). Bigger IPv6 blocks cannot be scanned anyway.
const MAX_BLOCK_BITS: u32 = 32;

/// A named target (hostname, or an address with its own port).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostTarget {
    /// Hostname or address literal, as given (no brackets).
    pub host: String,
    /// Port given with it; the scan's port list applies when `None`.
    pub port: Option<u16>,
}

/// One parsed target spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// An inclusive address interval (address, CIDR or `a-b` range).
    Range(IpAddr, IpAddr),
    /// A name, or `host:port`.
    Host(HostTarget),
}

/// Parse one target spec: `192.0.2.1`, `2001:db8::1`, `192.0.2.0/24`,
/// `192.0.2.1-192.0.2.9`, `mail.example.org`, `host:8443`,
/// `[2001:db8::1]:443`.
pub fn parse_spec(text: &str) -> Result<Spec, TargetError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(TargetError::invalid(text, "empty target"));
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok(Spec::Range(ip, ip));
    }
    if t.contains('/') {
        return parse_cidr(t);
    }
    if let Some((a, b)) = t.split_once('-')
        && let (Ok(a), Ok(b)) = (a.parse::<IpAddr>(), b.parse::<IpAddr>())
    {
        return parse_range(t, a, b);
    }
    parse_host(t)
}

fn parse_cidr(t: &str) -> Result<Spec, TargetError> {
    let net: IpNet =
        t.parse().map_err(|_| TargetError::invalid(t, "not a valid CIDR"))?;
    let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
    if host_bits > MAX_BLOCK_BITS {
        return Err(TargetError::invalid(
            t,
            format!("block too large (more than 2^{MAX_BLOCK_BITS})"),
        ));
    }
    Ok(Spec::Range(net.network(), net.broadcast()))
}

fn parse_range(t: &str, a: IpAddr, b: IpAddr) -> Result<Spec, TargetError> {
    if a.is_ipv4() != b.is_ipv4() {
        return Err(TargetError::invalid(t, "range mixes IPv4 and IPv6"));
    }
    if a > b {
        return Err(TargetError::invalid(t, "range end is before its start"));
    }
    let span = crate::set::to_u128(b) - crate::set::to_u128(a);
    if span >> MAX_BLOCK_BITS > 0 {
        return Err(TargetError::invalid(t, "range too large"));
    }
    Ok(Spec::Range(a, b))
}

fn parse_host(t: &str) -> Result<Spec, TargetError> {
    let (host, port) = split_port(t)?;
    let literal = host.parse::<IpAddr>().is_ok();
    let valid_name = literal
        || host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
                    })
            });
    if !valid_name {
        return Err(TargetError::invalid(
            t,
            "not an address, CIDR, range or hostname",
        ));
    }
    Ok(Spec::Host(HostTarget { host: host.to_string(), port }))
}

fn split_port(t: &str) -> Result<(&str, Option<u16>), TargetError> {
    if let Some(rest) = t.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| TargetError::invalid(t, "missing ']'"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(parse_port(t, p)?),
            None if after.is_empty() => None,
            None => return Err(TargetError::invalid(t, "junk after ']'")),
        };
        return Ok((host, port));
    }
    match t.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Ok((h, Some(parse_port(t, p)?))),
        _ => Ok((t, None)),
    }
}

fn parse_port(t: &str, p: &str) -> Result<u16, TargetError> {
    match p.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(TargetError::invalid(t, format!("bad port {p:?}"))),
    }
}

/// Parse a port list such as `443,80` (order kept, duplicates dropped).
pub fn parse_ports(text: &str) -> Result<Vec<u16>, TargetError> {
    let mut ports = Vec::new();
    for part in text.split(',') {
        let port = parse_port(text, part.trim())?;
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    Ok(ports)
}

/// Parse a zmap-style blocklist: one address, CIDR or range per line,
/// `#` starts a comment. Errors carry the 1-based line number.
pub fn parse_exclusions(text: &str) -> Result<RangeSet, TargetError> {
    let mut set = RangeSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match parse_spec(line) {
            Ok(Spec::Range(a, b)) => set.insert(a, b),
            _ => {
                return Err(TargetError::invalid(
                    line,
                    format!("line {}: not an address, CIDR or range", n + 1),
                ));
            }
        }
    }
    set.normalise();
    Ok(set)
}
