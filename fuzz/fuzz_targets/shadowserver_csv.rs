//! Feeds: any bytes read as a Shadowserver report and as a host,build
//! list, every row judged, without a panic.
#![no_main]

use chrono::{NaiveDate, Utc};
use libfuzzer_sys::fuzz_target;
use vigie_feeds::{FeedFormat, FeedReader, judge};

fuzz_target!(|data: &[u8]| {
    let as_of = NaiveDate::from_ymd_opt(2021, 3, 12).unwrap();
    let _ = FeedFormat::detect(data);
    for format in [FeedFormat::Shadowserver, FeedFormat::HostBuild] {
        for row in FeedReader::new(data, "fuzz", format).flatten() {
            let _ = judge(&row, "fuzz", "fuzz", as_of, Utc::now());
        }
    }
});
