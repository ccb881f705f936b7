//! YARA rule compilation and scanning, isolated in one crate.

#![deny(missing_docs)]
