//! Offline compromise assessment of an Exchange server's disk.
//!
//! [`engine::hunt`] takes the paths a responder hands over (a mounted
//! image, a triage copy, an Exchange install folder or loose log files),
//! walks them once, checks every file on disk, then reads every log with
//! the web shells it found in mind, and judges the server per CVE family.
//! Data flows one way: walk -> file checks and log detectors -> findings
//! -> verdict, coverage and timeline.

#![deny(missing_docs)]

pub mod coverage;
pub mod detect;
pub mod discover;
pub mod engine;
pub mod files;
pub mod place;
pub mod timeline;
pub mod verdict;
pub mod walk;
