//! Async network engine that fingerprints Exchange servers over HTTP(S).
//!
//! [`http`] is a bounded HTTP/1.1 client over TCP or TLS ([`tls`] accepts
//! any certificate and records it); [`fingerprint`] is a pure function from
//! responses to product, build and precision with the evidence for each;
//! [`probe`] runs the requests against one host:port and judges the build
//! with `vigie-builds`; [`engine`] drives many probes with rate limits,
//! bounded concurrency and a resumable checkpoint.

#![deny(missing_docs)]

pub mod checkpoint;
pub mod engine;
pub mod fingerprint;
pub mod http;
#[cfg(feature = "legacy-tls")]
mod legacy;
pub mod output;
pub mod probe;
pub mod tls;

/// Raise the open-file soft limit to the hard limit: every target in
/// flight holds a socket, and the common default of 1024 would turn a
/// large `--max-inflight` into "too many open files" errors. Returns the
/// limit now in force.
pub fn raise_fd_limit() -> Option<u64> {
    rlimit::increase_nofile_limit(u64::MAX).ok()
}
