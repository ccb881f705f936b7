//! RIR bulk data (RPSL): any bytes stream through the reader and the
//! contact resolution without a panic; every prefix it yields is valid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigie_feeds::{OwnerTable, RirNetworks, read_rpsl};

fuzz_target!(|data: &[u8]| {
    let mut nets = RirNetworks::default();
    read_rpsl(data, "fuzz", &mut nets);
    let (networks, _) = nets.resolve();
    let mut table = OwnerTable::new();
    for n in &networks {
        let id = table.contact(vigie_feeds::Contact {
            name: n.contact_name.clone(),
            email: n.mailbox.clone(),
            source: vigie_feeds::ContactSource::Rir,
        });
        for p in &n.prefixes {
            table.insert(*p, id);
            assert!(!table.by_address(p.network()).is_empty());
        }
    }
});
