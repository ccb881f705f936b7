//! The registry hive reader (base block checks, then notatin) and the
//! `.reg` export reader on arbitrary bytes: a named error or a snapshot,
//! never a panic that escapes.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vigie_health::registry::{HiveKind, read_hive_bytes};

fuzz_target!(|data: &[u8]| {
    let _ = read_hive_bytes(Path::new("fuzz.hive"), data.to_vec(), HiveKind::System);
    let _ = read_hive_bytes(Path::new("fuzz.hive"), data.to_vec(), HiveKind::Software);
    let text = String::from_utf8_lossy(data);
    let _ = vigie_health::registry::parse_reg_text(Path::new("fuzz.reg"), &text);
});
