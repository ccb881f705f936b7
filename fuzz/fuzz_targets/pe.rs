//! Fuzz the ExSetup.exe PE version-resource reader: arbitrary bytes must
//! give a version or an error, never a panic or an out-of-bounds read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vigie_builds::pe::file_version(data);
});
