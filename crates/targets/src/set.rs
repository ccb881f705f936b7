//! A set of IP addresses as sorted, merged, inclusive intervals.
//!
//! IPv4 addresses live in the IPv4-mapped part of the IPv6 space
//! (`::ffff:0:0/96`) so one `u128` line holds both families.

use std::net::{IpAddr, Ipv6Addr};

/// Sorted, disjoint, non-adjacent inclusive intervals of addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet {
    /// (first, last) inclusive, sorted and merged once `normalise` ran.
    ranges: Vec<(u128, u128)>,
    /// Prefix sums of interval lengths, for `nth`.
    starts: Vec<u64>,
    total: u64,
}

/// An address as a point on the shared line.
pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// A point on the shared line back to an address.
pub fn from_u128(n: u128) -> IpAddr {
    let v6 = Ipv6Addr::from(n);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

impl RangeSet {
    /// An empty set.
    pub fn new() -> Self {
        RangeSet::default()
    }

    /// Add the inclusive interval `first..=last` (same family).
    pub fn insert(&mut self, first: IpAddr, last: IpAddr) {
        let (a, b) = (to_u128(first), to_u128(last));
        self.ranges.push((a.min(b), a.max(b)));
    }

    /// Add every interval of `other`; call `normalise` after.
    pub fn extend(&mut self, other: &RangeSet) {
        self.ranges.extend_from_slice(&other.ranges);
    }

    /// Sort and merge the intervals, then index them. Call after inserts.
    pub fn normalise(&mut self) {
        self.ranges.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::new();
        for &(a, b) in &self.ranges {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => {
                    last.1 = last.1.max(b)
                }
                _ => merged.push((a, b)),
            }
        }
        self.ranges = merged;
        self.reindex();
    }

    fn reindex(&mut self) {
        self.starts.clear();
        let mut total: u64 = 0;
        for &(a, b) in &self.ranges {
            self.starts.push(total);
            let len = u64::try_from(b - a + 1).unwrap_or(u64::MAX);
            total = total.saturating_add(len);
        }
        self.total = total;
    }

    /// Remove every address of `other` (both normalised).
    pub fn subtract(&mut self, other: &RangeSet) {
        let mut out = Vec::new();
        for &(mut a, b) in &self.ranges {
            let mut alive = true;
            for &(x, y) in &other.ranges {
                if y < a || x > b {
                    continue;
                }
                if x > a {
                    out.push((a, x - 1));
                }
                if y >= b {
                    alive = false;
                    break;
                }
                a = y + 1;
            }
            if alive {
                out.push((a, b));
            }
        }
        self.ranges = out;
        self.reindex();
    }

    /// Number of addresses (saturating at `u64::MAX`).
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Whether the set holds `ip`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let n = to_u128(ip);
        let i = self.ranges.partition_point(|&(_, b)| b < n);
        self.ranges.get(i).is_some_and(|&(a, _)| a <= n)
    }

    /// The `i`-th address in ascending order.
    pub fn nth(&self, i: u64) -> Option<IpAddr> {
        if i >= self.total {
            return None;
        }
        let k = self.starts.partition_point(|&s| s <= i) - 1;
        let (a, _) = self.ranges[k];
        Some(from_u128(a + u128::from(i - self.starts[k])))
    }
}
