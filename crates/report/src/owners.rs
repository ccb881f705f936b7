//! Owner lists for `vigie notify`: a CSV of `owner,contact,cidr_or_domain`
//! rows, and the matching of scanned hosts to owners.

use std::net::IpAddr;

use vigie_model::scan::HostResult;
use vigie_model::{ItemError, ItemErrorKind};

/// What an owner is responsible for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// An address range.
    Cidr {
        /// Network address.
        net: IpAddr,
        /// Prefix length.
        prefix: u8,
    },
    /// A DNS domain and its subdomains.
    Domain(String),
}

/// One row of the owner list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Owner name.
    pub owner: String,
    /// How to reach them (mail address).
    pub contact: String,
    /// What they own.
    pub scope: Scope,
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v) => (u32::from(v) as u128, 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    }
}

fn parse_scope(text: &str) -> Option<Scope> {
    let text = text.trim();
    if let Some((net, prefix)) = text.split_once('/') {
        let net: IpAddr = net.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        return (prefix <= bits(net).1).then_some(Scope::Cidr { net, prefix });
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(Scope::Cidr { net: ip, prefix: bits(ip).1 });
    }
    let domain = text.trim_start_matches("*.").trim_end_matches('.');
    let ok = !domain.is_empty()
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    ok.then(|| Scope::Domain(domain.to_ascii_lowercase()))
}

/// Parse the owner list; bad rows are item errors naming the line.
pub fn parse(text: &str, name: &str) -> (Vec<Owner>, Vec<ItemError>) {
    let mut owners = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        if i == 0 && cols.first() == Some(&"owner") {
            continue;
        }
        let scope = (cols.len() == 3).then(|| parse_scope(cols[2])).flatten();
        match scope {
            Some(scope) if !cols[0].is_empty() => owners.push(Owner {
                owner: cols[0].to_string(),
                contact: cols[1].to_string(),
                scope,
            }),
            _ => errors.push(ItemError::new(
                format!("{name}:{}", i + 1),
                ItemErrorKind::Parse,
                "expected owner,contact,cidr_or_domain",
            )),
        }
    }
    (owners, errors)
}

impl Scope {
    /// Whether the host falls in this scope (by address or by name).
    pub fn covers(&self, host: &HostResult) -> bool {
        match self {
            Scope::Cidr { net, prefix } => {
                let Ok(ip) = host.ip.parse::<IpAddr>() else {
                    return false;
                };
                let ((a, wa), (b, wb)) = (bits(ip), bits(*net));
                if wa != wb {
                    return false;
                }
                let shift = u32::from(wa - prefix);
                let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
                a & mask == b & mask
            }
            Scope::Domain(d) => {
                let t = host.target.to_ascii_lowercase();
                let t = t.trim_end_matches('.');
                t == d || t.ends_with(&format!(".{d}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(target: &str, ip: &str) -> HostResult {
        let line = format!(
            "{{\"record\":\"scan\",\"schema_version\":1,\"target\":\"{target}\",\
             \"ip\":\"{ip}\",\"port\":443,\"scheme\":\"https\",\
             \"scanned_at\":\"2021-03-10T00:00:00Z\",\"status\":\"exchange\",\
             \"product\":null,\"build\":null,\"precision\":null,\
             \"assessment\":null,\"ssrf_check\":null,\"identity\":{{\
             \"fe_server\":null,\"be_server\":null,\"cert_subject\":null,\
             \"cert_sans\":[],\"cert_sha256\":null}},\"tls\":null,\
             \"evidence\":[],\"error\":null,\"elapsed_ms\":1}}"
        );
        serde_json::from_str(&line).unwrap()
    }

    #[test]
    fn cidrs_domains_and_bad_rows() {
        let (owners, errors) = parse(
            "owner,contact,cidr_or_domain\n\
             A,a@a.test,192.0.2.0/25\n\
             B,b@b.test,*.Example.TEST\n\
             C,c@c.test,2001:db8::/32\n\
             D,d@d.test,0.0.0.0/0\n\
             E,e@e.test,10.0.0.0/33\n\
             F,f@f.test\n",
            "o.csv",
        );
        assert_eq!(owners.len(), 4);
        let subjects: Vec<&str> =
            errors.iter().map(|e| e.subject.as_str()).collect();
        assert_eq!(subjects, ["o.csv:6", "o.csv:7"]);
        let h = host("mx.example.test", "192.0.2.127");
        assert!(owners[0].scope.covers(&h));
        assert!(!owners[0].scope.covers(&host("x", "192.0.2.128")));
        assert!(owners[1].scope.covers(&h));
        assert!(!owners[1].scope.covers(&host("badexample.test", "::1")));
        assert!(owners[2].scope.covers(&host("x", "2001:db8::5")));
        assert!(!owners[2].scope.covers(&h), "v4 is not in a v6 range");
        assert!(owners[3].scope.covers(&h), "/0 covers every v4");
    }
}
