//! Async network engine that fingerprints Exchange servers over HTTP(S).

#![deny(missing_docs)]
