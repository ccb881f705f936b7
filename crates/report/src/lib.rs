//! Report writers: self-contained HTML (inline CSS and SVG, no network
//! needed to open it) for scan, hunt and server-health results, and the
//! history's remediation curve and configuration drift.
//!
//! Every string that came from a server or a hunted disk is attacker
//! controlled, so it goes through [`html::escape`] before it reaches the
//! page; no data is ever placed inside a script.

#![deny(missing_docs)]

pub mod drift;
pub mod history;
pub mod html;
pub mod input;
pub mod notice;
pub mod owners;
pub mod text;
