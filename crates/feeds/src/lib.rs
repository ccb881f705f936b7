//! Third-party data into vigie: scan feeds from others and owner data
//! from the Regional Internet Registries.
//!
//! - [`feed`]: Shadowserver's "Vulnerable Exchange Server" report CSV
//!   and plain `host,build` lists, read row by row (a bad row is an item
//!   error naming file and line; the rest goes on) and judged by the
//!   same build engine as `vigie check` and `vigie scan`.
//! - [`rpsl`]: RIR bulk data in RPSL form (RIPE's split database files
//!   `ripe.db.inetnum`, `ripe.db.inet6num`, `ripe.db.role`,
//!   `ripe.db.organisation`), streamed; `inetnum` ranges become CIDR
//!   prefixes and `abuse-c` handles are resolved to `abuse-mailbox`.
//! - [`owners`]: the owner table of `vigie notify`: hand-written owners
//!   and RIR networks in a longest-prefix-match trie (`prefix-trie`),
//!   plus domain owners.

pub mod feed;
pub mod owners;
pub mod rpsl;

pub use feed::{FeedFormat, FeedReader, FeedRow, judge};
pub use owners::{Contact, ContactSource, OwnerTable};
pub use rpsl::{RirNetworks, read_rpsl};
