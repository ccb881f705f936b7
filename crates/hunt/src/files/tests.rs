//! Unit tests of the file checks.
