//! The CLIXML reader and the setting-override extraction on arbitrary
//! bytes: a named error or values, never a panic or a blow-up.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(values) = vigie_health::clixml::parse(Path::new("fuzz.xml"), data) {
        let _ = vigie_health::overrides::from_clixml(&values, "fuzz.xml");
    }
});
