//! Scan target specs, exclusions, seeded permutation, shards and resume cursor.

#![deny(missing_docs)]
