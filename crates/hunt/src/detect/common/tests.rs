//! Unit tests of the detectors' shared scan state: timestamps, spans and
//! the in-order fast path.

use super::*;

fn utc(s: &str) -> Option<DateTime<Utc>> {
    parse_time(s)
}

#[test]
fn canonical_times_parse_as_parse_time_does() {
    for s in [
        "2021-03-03T07:25:46.123Z",
        "2021-03-03T07:25:46Z",
        "2021-03-03 07:25:46",
        "2021-03-03T07:25:46.1234567",
        "2024-02-29T23:59:59.999999999Z",
    ] {
        let c = Canonical::of(s.as_bytes()).map(Canonical::time);
        assert_eq!(c, utc(s), "{s}");
    }
    // Offsets, bad dates, leap seconds and junk take the slow path.
    for s in [
        "2021-03-03T07:25:46+01:00",
        "2021-02-30T07:25:46Z",
        "2021-03-03T23:59:60Z",
        "2021-03-03T07:25:46.Z",
        " 2021-03-03T07:25:46Z",
        "2021-13-03 07:25:46",
    ] {
        assert!(Canonical::of(s.as_bytes()).is_none(), "{s}");
    }
}

/// The in-order fast path (`RawSpan::advance`) must still reject a
/// clock that is not a time: hour 25 on the newest record's day may
/// not become the span's end.
#[test]
fn in_order_fast_path_checks_the_clock() {
    let mut scan = Scan::new(Path::new("x.log"), LogSource::Iis);
    for raw in [
        "2021-03-03 07:00:00",
        "2021-03-03 07:00:00",
        "2021-03-03 25:00:00",
        "2021-03-03 07:61:00",
        "2021-03-03 08:00:00",
        "2021-03-03 07:30:00",
    ] {
        scan.record_raw(raw.as_bytes());
    }
    let r = scan.finish();
    assert_eq!(r.coverage.first, utc("2021-03-03T07:00:00Z"));
    assert_eq!(r.coverage.last, utc("2021-03-03T08:00:00Z"));
}

#[test]
fn raw_span_orders_mixed_layouts_by_time() {
    let mut scan = Scan::new(Path::new("x.log"), LogSource::HttpProxy);
    for raw in [
        "2021-03-03T07:25:46.500Z",
        "2021-03-03T07:25:46.1Z",
        "2021-03-03 07:25:47",
        "not a time",
        "2021-03-03T07:25:46.2Z",
        "2021-03-04T00:00:00+05:00",
    ] {
        scan.record_raw(raw.as_bytes());
    }
    let r = scan.finish();
    assert_eq!(r.coverage.records, 6);
    assert_eq!(r.coverage.first, utc("2021-03-03T07:25:46.1Z"));
    assert_eq!(r.coverage.last, utc("2021-03-03T19:00:00Z"));
}
