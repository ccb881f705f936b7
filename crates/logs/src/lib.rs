//! Streaming readers for Exchange CSV logs, IIS W3C logs, EVTX and JSON event exports.

#![deny(missing_docs)]
