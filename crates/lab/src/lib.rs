//! An emulated Exchange fleet on loopback for tests, benchmarks and the demo.

#![deny(missing_docs)]
