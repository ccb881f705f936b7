//! Embedded Exchange build and CVE tables, build parsing and patch verdicts (pure, no I/O).

#![deny(missing_docs)]
