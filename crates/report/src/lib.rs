//! Report writers: self-contained HTML (inline CSS and SVG, no network
//! needed to open it) for scan and hunt results.
//!
//! Every string that came from a server or a hunted disk is attacker
//! controlled, so it goes through [`html::escape`] before it reaches the
//! page; no data is ever placed inside a script.

#![deny(missing_docs)]

pub mod history;
pub mod html;
pub mod input;
pub mod notice;
pub mod owners;
pub mod text;
