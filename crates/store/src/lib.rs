//! SQLite history of scan and hunt runs, and diffs between runs.

#![deny(missing_docs)]
