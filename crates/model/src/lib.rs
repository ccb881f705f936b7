//! Shared result types for every vigie job.
//!
//! Everything vigie writes (check results, scan results, hunt findings,
//! reports) is built from these types, so one reader can consume the output
//! of any subcommand. Every JSON document carries [`SCHEMA_VERSION`]; bump it
//! when a field changes meaning or disappears (adding optional fields does
//! not need a bump). This crate does no I/O.

#![deny(missing_docs)]

pub mod build;
mod error;
mod finding;
pub mod health;
pub mod hunt;
pub mod scan;
mod text;

pub use error::{ItemError, ItemErrorKind};
pub use finding::{Family, Finding, Grade, Severity, SourceRef, Verdict};
pub use text::{csv_safe, terminal_safe};

/// Version of the JSON shape of every document vigie writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Name and version of the tool, written into every document.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize,
)]
pub struct ToolInfo {
    /// Always `vigie`.
    pub name: String,
    /// The crate version that wrote the document.
    pub version: String,
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema_version: u32,
}

impl ToolInfo {
    /// The tool info of this build.
    pub fn current() -> Self {
        ToolInfo {
            name: "vigie".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            schema_version: SCHEMA_VERSION,
        }
    }
}
