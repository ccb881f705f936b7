//! IIS configuration readers (applicationHost.config, web.config, and
//! their module registrations) on arbitrary bytes: a named error or a result, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vigie_health::iis::{AppHost, linked_configuration, web_config_rules};
use vigie_health::xml::ConfigText;

fuzz_target!(|data: &[u8]| {
    let cfg = ConfigText::from_bytes(Path::new("fuzz.config"), data);
    if let Ok(host) = AppHost::parse(&cfg) {
        let _ = vigie_health::ep::extended_protection(&host, Some([15, 2, 1118, 40]), Default::default());
    }
    let _ = web_config_rules(&cfg);
    let _ = linked_configuration(&cfg);
    if let Ok(regs) = vigie_health::modules::registrations(&cfg) {
        for r in regs {
            let _ = r.shipped();
        }
    }
});
