//! RIR bulk data in RPSL form, as RIPE publishes its database (split
//! files `ripe.db.inetnum`, `ripe.db.inet6num`, `ripe.db.role`,
//! `ripe.db.organisation`; APNIC and AFRINIC publish the same form).
//!
//! Objects are runs of `attribute: value` lines separated by blank lines;
//! a line starting with a space, a tab or `+` continues the previous
//! value; `%` and `#` lines are comments. Only what owner matching needs
//! is kept, field by field as lines stream by (a million networks must
//! load in under two seconds, bench/owners):
//! - `inetnum:` (a range `a - b`, split into the CIDR prefixes that cover
//!   exactly that range) and `inet6num:` (a prefix), with `netname:`,
//!   `abuse-mailbox:`, `abuse-c:` and `org:`;
//! - `role:`/`person:`/`irt:` objects: `nic-hdl:` (or the `irt:` name)
//!   to `abuse-mailbox:`;
//! - `organisation:` objects: `abuse-c:`.
//!
//! A network's contact is its own `abuse-mailbox`, else its `abuse-c`
//! role's, else its organisation's `abuse-c` role's. Networks without one
//! are left out, so a longest-prefix match falls back to the covering
//! network that has one (as RIPE's abuse contact finder does).

use std::collections::HashMap;
use std::io::BufRead;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Subnets, Ipv6Net};
use vigie_model::{ItemError, ItemErrorKind};

/// Longest line read (RPSL lines are short; a longer one is cut).
const MAX_LINE: usize = 64 << 10;

/// One network with its resolved abuse contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RirNetwork {
    /// The CIDR prefixes the network covers.
    pub prefixes: Vec<IpNet>,
    /// `netname:`.
    pub netname: String,
    /// The abuse mailbox.
    pub mailbox: String,
    /// The contact's name (the role's `role:` name, else the netname).
    pub contact_name: String,
}

/// A network as read, before its contact is resolved.
#[derive(Debug, Clone, Default)]
struct RawNet {
    prefixes: Vec<IpNet>,
    netname: String,
    mailbox: Option<String>,
    abuse_c: Option<String>,
    org: Option<String>,
}

/// A contact object (`role`, `person`, `irt`).
#[derive(Debug, Clone, Default)]
struct Role {
    name: String,
    mailbox: String,
}

/// Everything read from RPSL files; [`RirNetworks::resolve`] gives the
/// networks with their contacts.
#[derive(Debug, Default)]
pub struct RirNetworks {
    nets: Vec<RawNet>,
    roles: HashMap<String, Role>,
    orgs: HashMap<String, String>,
    /// Objects read, of any class.
    pub objects: u64,
    /// Lines or objects that could not be used.
    pub errors: Vec<ItemError>,
}

/// The object being read: its class and the attributes kept.
#[derive(Debug, Default)]
struct Object {
    class: String,
    key: String,
    line: u64,
    netname: Option<String>,
    mailbox: Option<String>,
    abuse_c: Option<String>,
    org: Option<String>,
    nic_hdl: Option<String>,
    /// Attribute the previous line set, for continuation lines.
    last: Option<Attr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attr {
    Key,
    Netname,
    Mailbox,
    AbuseC,
    Org,
    NicHdl,
    Other,
}

/// Read RPSL text from `reader` into `into`; `name` names the file in
/// errors. Bad objects are item errors naming `file:line`; the rest is
/// read.
pub fn read_rpsl(
    mut reader: impl BufRead,
    name: &str,
    into: &mut RirNetworks,
) {
    let mut obj = Object::default();
    let mut buf = Vec::with_capacity(256);
    let mut number = 0u64;
    loop {
        buf.clear();
        number += 1;
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                into.errors.push(ItemError::new(
                    format!("{name}:{number}"),
                    ItemErrorKind::Io,
                    e.to_string(),
                ));
                break;
            }
        }
        buf.truncate(MAX_LINE);
        // RIPE's files are Latin-1 in places: read bytes, lossily
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        into.line(&mut obj, line, number, name);
    }
    into.end(&mut obj, name);
}

impl RirNetworks {
    fn line(&mut self, obj: &mut Object, line: &str, number: u64, name: &str) {
        if line.trim().is_empty() {
            self.end(obj, name);
            return;
        }
        if line.starts_with('%') || line.starts_with('#') {
            return;
        }
        if let Some(rest) = line.strip_prefix([' ', '\t', '+']) {
            obj.continue_value(rest);
            return;
        }
        let Some((attr, value)) = line.split_once(':') else {
            self.errors.push(ItemError::new(
                format!("{name}:{number}"),
                ItemErrorKind::Parse,
                "not an RPSL `attribute: value` line",
            ));
            return;
        };
        let attr = attr.trim();
        let value = strip_comment(value);
        if obj.class.is_empty() {
            obj.class = attr.to_ascii_lowercase();
            obj.line = number;
        }
        obj.set(attr, value);
    }

    /// End of an object: keep what it says.
    fn end(&mut self, obj: &mut Object, name: &str) {
        if obj.class.is_empty() {
            return;
        }
        let o = std::mem::take(obj);
        self.objects += 1;
        match o.class.as_str() {
            "inetnum" | "inet6num" => match prefixes(&o.key) {
                Some(prefixes) => self.nets.push(RawNet {
                    prefixes,
                    netname: o.netname.unwrap_or_else(|| o.key.clone()),
                    mailbox: o.mailbox,
                    abuse_c: o.abuse_c,
                    org: o.org,
                }),
                None => self.errors.push(ItemError::new(
                    format!("{name}:{}", o.line),
                    ItemErrorKind::Parse,
                    format!(
                        "{} {:?}: not an address range or prefix",
                        o.class,
                        vigie_model::terminal_safe(&o.key)
                    ),
                )),
            },
            "role" | "person" | "irt" => {
                let handle = match o.class.as_str() {
                    "irt" => Some(o.key.clone()),
                    _ => o.nic_hdl,
                };
                if let (Some(h), Some(mailbox)) = (handle, o.mailbox) {
                    let role = Role { name: o.key, mailbox };
                    self.roles.insert(h.to_ascii_uppercase(), role);
                }
            }
            "organisation" => {
                if let Some(c) = o.abuse_c {
                    self.orgs.insert(o.key.to_ascii_uppercase(), c);
                }
            }
            _ => {}
        }
    }

    /// Networks read so far (with or without a contact).
    pub fn networks(&self) -> usize {
        self.nets.len()
    }

    /// Every network that has an abuse contact, with it resolved; the
    /// number of networks left out for having none is returned too.
    pub fn resolve(self) -> (Vec<RirNetwork>, usize) {
        let mut out = Vec::with_capacity(self.nets.len());
        let mut without = 0;
        for net in self.nets {
            let role_of =
                |handle: &str| self.roles.get(&handle.to_ascii_uppercase());
            let by_role =
                net.abuse_c.as_deref().and_then(role_of).or_else(|| {
                    let org = net.org.as_deref()?;
                    let abuse_c = match self.orgs.get(org) {
                        Some(c) => c,
                        None => self.orgs.get(&org.to_ascii_uppercase())?,
                    };
                    role_of(abuse_c)
                });
            let (mailbox, contact_name) = match (&net.mailbox, by_role) {
                (Some(m), _) => (m.clone(), net.netname.clone()),
                (None, Some(r)) => (r.mailbox.clone(), r.name.clone()),
                (None, None) => {
                    without += 1;
                    continue;
                }
            };
            out.push(RirNetwork {
                prefixes: net.prefixes,
                netname: net.netname,
                mailbox,
                contact_name,
            });
        }
        (out, without)
    }
}

impl Object {
    /// Keep `value` when `attr` (any case) is one that matters; nothing is
    /// allocated for the others (most lines of a RIR file).
    fn set(&mut self, attr: &str, value: &str) {
        let is = |name: &str| attr.eq_ignore_ascii_case(name);
        let (slot, which) = if is(&self.class) {
            (&mut self.key, Attr::Key)
        } else if is("netname") {
            (self.netname.get_or_insert_default(), Attr::Netname)
        } else if is("abuse-mailbox") {
            (self.mailbox.get_or_insert_default(), Attr::Mailbox)
        } else if is("abuse-c") {
            (self.abuse_c.get_or_insert_default(), Attr::AbuseC)
        } else if is("org") {
            (self.org.get_or_insert_default(), Attr::Org)
        } else if is("nic-hdl") {
            (self.nic_hdl.get_or_insert_default(), Attr::NicHdl)
        } else {
            self.last = Some(Attr::Other);
            return;
        };
        // the first value of an attribute wins (RPSL repeats some)
        if slot.is_empty() {
            slot.push_str(value);
        }
        self.last = Some(which);
    }

    /// A continuation line: only a range split over two lines matters.
    fn continue_value(&mut self, rest: &str) {
        let rest = strip_comment(rest);
        let slot = match self.last {
            Some(Attr::Key) => &mut self.key,
            Some(Attr::Netname) => match &mut self.netname {
                Some(s) => s,
                None => return,
            },
            _ => return,
        };
        if !rest.is_empty() {
            if !slot.is_empty() {
                slot.push(' ');
            }
            slot.push_str(rest);
        }
    }
}

/// A value without its end-of-line `#` comment, trimmed.
fn strip_comment(value: &str) -> &str {
    value.split_once('#').map_or(value, |(v, _)| v).trim()
}

/// `192.0.2.0 - 192.0.2.255`, `2001:db8::/32`, `192.0.2.0/24` or one
/// address, as the CIDR prefixes covering exactly that.
pub fn prefixes(key: &str) -> Option<Vec<IpNet>> {
    let key = key.trim();
    if let Some((a, b)) = key.split_once('-') {
        let (a, b) = (
            a.trim().parse::<IpAddr>().ok()?,
            b.trim().parse::<IpAddr>().ok()?,
        );
        return match (a, b) {
            (IpAddr::V4(a), IpAddr::V4(b)) if a <= b => {
                Some(Ipv4Subnets::new(a, b, 0).map(IpNet::V4).collect())
            }
            (IpAddr::V6(a), IpAddr::V6(b)) if a <= b => {
                Some(ipnet::Ipv6Subnets::new(a, b, 0).map(IpNet::V6).collect())
            }
            _ => None,
        };
    }
    if let Ok(net) = key.parse::<IpNet>() {
        return Some(vec![net.trunc()]);
    }
    match key.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => {
            Some(vec![IpNet::V4(ipnet::Ipv4Net::new(a, 32).ok()?)])
        }
        IpAddr::V6(a) => Some(vec![IpNet::V6(Ipv6Net::new(a, 128).ok()?)]),
    }
}

#[cfg(test)]
mod tests;
