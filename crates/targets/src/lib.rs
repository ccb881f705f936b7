//! Scan target specs, exclusions, seeded permutation, shards and resume
//! cursor.
//!
//! Address targets (single addresses, CIDRs, `a-b` ranges) go into a
//! [`RangeSet`] of merged intervals: a /8 is one interval, never 16 million
//! entries. Exclusions are subtracted interval-wise. The set is indexed
//! (`nth`), and scan order is a seeded Feistel permutation of those indexes
//! ([`Permutation`]), so neighbouring addresses are not hit in a row and
//! every machine given the same seed computes the same order. A shard `K/N`
//! takes every N-th position of that order, so shards partition the set
//! exactly; a resume cursor is a position within a shard.
//! Hostnames are kept aside as names: they are resolved by the scanner.
//! List files are read one bounded line at a time ([`LineReader`]), so a
//! caller can cut a long list into chunks and start on the first at once.

#![deny(missing_docs)]

mod lines;
mod perm;
mod set;
mod spec;

pub use lines::{LineReader, ListLine, MAX_LINE};
pub use perm::Permutation;
pub use set::RangeSet;
pub use spec::{HostTarget, Spec, parse_exclusions, parse_ports, parse_spec};

/// A target spec, exclusion or option that could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    /// The text is not an address, CIDR, range or hostname.
    #[error("{input:?}: {reason}")]
    Invalid {
        /// The offending text.
        input: String,
        /// What was wrong.
        reason: String,
    },
}

impl TargetError {
    fn invalid(input: &str, reason: impl Into<String>) -> Self {
        TargetError::Invalid {
            input: input.to_string(),
            reason: reason.into(),
        }
    }
}

/// Which slice of the whole target order one machine scans: `K/N`
/// (1-based K, as users write it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 0-based.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
    /// The whole set in one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parse `K/N` with 1 <= K <= N.
    pub fn parse(text: &str) -> Result<Shard, TargetError> {
        let bad = || TargetError::invalid(text, "expected K/N, 1 <= K <= N");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let k: u64 = k.trim().parse().map_err(|_| bad())?;
        let n: u64 = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { index: k - 1, count: n })
    }

    /// Number of positions of a `total`-long order in this shard.
    pub fn len(&self, total: u64) -> u64 {
        if total <= self.index {
            0
        } else {
            (total - self.index).div_ceil(self.count)
        }
    }

    /// Whether this shard of a `total`-long order is empty.
    pub fn is_empty(&self, total: u64) -> bool {
        self.len(total) == 0
    }

    /// The global position of this shard's `i`-th target.
    pub fn position(&self, i: u64) -> u64 {
        self.index + i * self.count
    }
}

#[cfg(test)]
mod tests;
