//! The owner table of `vigie notify`: who must hear about a server.
//!
//! Address owners (hand-written CIDRs and RIR networks) sit in one
//! longest-prefix-match trie per address family (`prefix-trie`), so a
//! server goes to the most specific network that has a contact; at equal
//! prefixes a hand-written owner wins over RIR data (it is the CERT's own
//! knowledge). Domain owners (a name and its subdomains) get the servers
//! under their domain as well: a named contact for a named server.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;

/// Where an owner came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactSource {
    /// The hand-written owner list (`--owners`).
    OwnerList,
    /// RIR data (`--rpsl`).
    Rir,
}

/// One owner: who to write to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Owner name.
    pub name: String,
    /// Mail address.
    pub email: String,
    /// Where it came from.
    pub source: ContactSource,
}

/// Contacts of one prefix: one, without a heap allocation (a million RIR
/// prefixes), or several hand-written owners sharing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Slot {
    #[default]
    Empty,
    One(u32),
    Many(Vec<u32>),
}

impl Slot {
    fn ids(&self) -> &[u32] {
        match self {
            Slot::Empty => &[],
            Slot::One(id) => std::slice::from_ref(id),
            Slot::Many(ids) => ids,
        }
    }
}

/// Owners by address prefix and by domain.
#[derive(Default)]
pub struct OwnerTable {
    contacts: Vec<Contact>,
    /// RIR contacts by mail address (one owner per abuse mailbox).
    by_email: HashMap<String, u32>,
    v4: PrefixMap<Ipv4Net, Slot>,
    v6: PrefixMap<Ipv6Net, Slot>,
    domains: Vec<(String, u32)>,
    prefixes: usize,
}

impl std::fmt::Debug for OwnerTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerTable")
            .field("contacts", &self.contacts.len())
            .field("prefixes", &self.prefixes)
            .field("domains", &self.domains.len())
            .finish()
    }
}

impl OwnerTable {
    /// An empty table.
    pub fn new() -> Self {
        OwnerTable::default()
    }

    /// Add a contact; RIR contacts with the same mailbox are one owner.
    pub fn contact(&mut self, contact: Contact) -> u32 {
        if contact.source == ContactSource::Rir {
            if let Some(id) = self.rir_contact(&contact.email) {
                return id;
            }
            let key = contact.email.to_ascii_lowercase();
            let id = self.push(contact);
            self.by_email.insert(key, id);
            return id;
        }
        self.push(contact)
    }

    /// The RIR owner with this abuse mailbox, if already added (looked up
    /// without copying the address when it is lower case, as most are).
    pub fn rir_contact(&self, email: &str) -> Option<u32> {
        if email.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_email.get(&email.to_ascii_lowercase()).copied()
        } else {
            self.by_email.get(email).copied()
        }
    }

    fn push(&mut self, contact: Contact) -> u32 {
        self.contacts.push(contact);
        u32::try_from(self.contacts.len() - 1).unwrap_or(u32::MAX)
    }

    /// The contact with this id.
    pub fn get(&self, id: u32) -> Option<&Contact> {
        self.contacts.get(id as usize)
    }

    /// Every contact, in the order added.
    pub fn contacts(&self) -> &[Contact] {
        &self.contacts
    }

    /// Address prefixes held.
    pub fn prefixes(&self) -> usize {
        self.prefixes
    }

    /// `id` owns `net`.
    pub fn insert(&mut self, net: IpNet, id: u32) {
        let rir = self.is_rir(id);
        let slot = match net.trunc() {
            IpNet::V4(n) => self.v4.entry(n).or_default(),
            IpNet::V6(n) => self.v6.entry(n).or_default(),
        };
        let first = slot.ids().first().copied();
        let slot_rir = first.is_some_and(|c| {
            self.contacts[c as usize].source == ContactSource::Rir
        });
        match (first, rir, slot_rir) {
            (None, _, _) => {
                self.prefixes += 1;
                *slot = Slot::One(id);
            }
            // hand-written owners replace RIR data at the same prefix
            (Some(_), false, true) => *slot = Slot::One(id),
            (Some(_), false, false) => {
                if !slot.ids().contains(&id) {
                    let mut ids = slot.ids().to_vec();
                    ids.push(id);
                    *slot = Slot::Many(ids);
                }
            }
            // RIR data never overrides a hand-written owner, and the
            // first RIR network of a prefix keeps it
            (Some(_), true, _) => {}
        }
    }

    /// `id` owns `net/prefix`; false when the prefix is too long.
    pub fn insert_cidr(&mut self, net: IpAddr, prefix: u8, id: u32) -> bool {
        match IpNet::new(net, prefix) {
            Ok(n) => {
                self.insert(n, id);
                true
            }
            Err(_) => false,
        }
    }

    fn is_rir(&self, id: u32) -> bool {
        self.get(id).is_some_and(|c| c.source == ContactSource::Rir)
    }

    /// `id` owns `domain` and its subdomains.
    pub fn insert_domain(&mut self, domain: &str, id: u32) {
        let d = domain.trim_start_matches("*.").trim_end_matches('.');
        self.domains.push((d.to_ascii_lowercase(), id));
    }

    /// The address owners of `ip`: those of the longest prefix holding it.
    pub fn by_address(&self, ip: IpAddr) -> &[u32] {
        let found = match ip {
            IpAddr::V4(a) => Ipv4Net::new(a, 32)
                .ok()
                .and_then(|n| self.v4.get_lpm(&n).map(|(_, s)| s)),
            IpAddr::V6(a) => {
                // an IPv4-mapped address belongs to the IPv4 owner
                if let Some(v4) = a.to_ipv4_mapped() {
                    return self.by_address(IpAddr::V4(v4));
                }
                Ipv6Net::new(a, 128)
                    .ok()
                    .and_then(|n| self.v6.get_lpm(&n).map(|(_, s)| s))
            }
        };
        found.map_or(&[], Slot::ids)
    }

    /// Every owner of a server: its domain owners, then its address
    /// owners, each once.
    pub fn owners_of(&self, name: &str, ip: Option<IpAddr>) -> Vec<u32> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let mut out: Vec<u32> = self
            .domains
            .iter()
            .filter(|(d, _)| {
                name == *d
                    || name
                        .strip_suffix(d.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            })
            .map(|&(_, id)| id)
            .collect();
        if let Some(ip) = ip {
            for &id in self.by_address(ip) {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn table() -> (OwnerTable, [u32; 4]) {
        let mut t = OwnerTable::new();
        let c = |name: &str, source| Contact {
            name: name.into(),
            email: format!("{name}@x.test"),
            source,
        };
        let isp = t.contact(c("isp", ContactSource::Rir));
        let cust = t.contact(c("cust", ContactSource::Rir));
        let cert = t.contact(c("cert", ContactSource::OwnerList));
        let web = t.contact(c("web", ContactSource::OwnerList));
        t.insert(net("192.0.2.0/24"), isp);
        t.insert(net("192.0.2.128/25"), cust);
        t.insert(net("2001:db8::/32"), isp);
        t.insert(net("198.51.100.0/24"), isp);
        t.insert(net("198.51.100.0/24"), cert);
        t.insert_domain("*.Example.TEST", web);
        (t, [isp, cust, cert, web])
    }

    #[test]
    fn longest_prefix_wins_and_hand_written_beats_rir() {
        let (t, [isp, cust, cert, web]) = table();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(t.owners_of("x", ip("192.0.2.1")), [isp]);
        assert_eq!(t.owners_of("x", ip("192.0.2.200")), [cust]);
        assert_eq!(t.owners_of("x", ip("2001:db8::9")), [isp]);
        assert_eq!(t.owners_of("x", ip("::ffff:192.0.2.200")), [cust]);
        assert_eq!(t.owners_of("x", ip("198.51.100.7")), [cert]);
        assert_eq!(t.owners_of("x", ip("203.0.113.1")), Vec::<u32>::new());
        assert_eq!(
            t.owners_of("mx.example.test.", ip("192.0.2.1")),
            [web, isp]
        );
        assert_eq!(t.owners_of("badexample.test", None), Vec::<u32>::new());
        assert_eq!(t.prefixes(), 4);
    }

    #[test]
    fn one_rir_owner_per_mailbox() {
        let mut t = OwnerTable::new();
        let c = |name: &str| Contact {
            name: name.into(),
            email: "Abuse@isp.test".into(),
            source: ContactSource::Rir,
        };
        assert_eq!(t.contact(c("NET-A")), t.contact(c("NET-B")));
    }
}
