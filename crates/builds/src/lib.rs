//! Embedded Exchange build and CVE tables, build parsing and patch
//! verdicts (pure, no I/O).
//!
//! [`Table::embedded`] is the table compiled in from `data/*.csv`;
//! [`Table::assess`] turns a build string into a
//! [`vigie_model::build::PatchAssessment`]: product, CU, SU, support
//! state, every CVE judged, and the upgrade path. [`pe`] reads the build
//! from `ExSetup.exe` bytes and [`inventory`] reads `server,build` lists.

#![deny(missing_docs)]

mod assess;
mod error;
mod extra;
pub mod inventory;
mod load;
mod locate;
mod parse;
pub mod pe;
mod table;

pub use assess::STALE_DAYS;
pub use error::{BuildError, TableError};
pub use extra::{CVE_FILE_OPTIONAL, CVE_FILE_REQUIRED, Loaded};
pub use parse::{ParsedBuild, parse_build};
pub use table::{BuildRow, Table};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod hc_tests;

#[cfg(test)]
mod tests_current;

#[cfg(test)]
mod tests_history;
