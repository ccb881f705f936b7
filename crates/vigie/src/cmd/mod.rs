//! One module per subcommand: arguments, validation, and wiring.

pub mod check;
pub mod completions;
pub mod demo;
pub mod diff;
pub mod history;
pub mod hunt;
pub mod import;
pub mod lab;
pub mod live;
pub mod notify;
pub mod report;
pub mod scan;
