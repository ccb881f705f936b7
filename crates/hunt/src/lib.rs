//! Offline compromise assessment of an Exchange server's disk.

#![deny(missing_docs)]

pub mod detect;
pub mod files;
pub mod place;
