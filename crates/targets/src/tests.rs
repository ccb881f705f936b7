//! Unit and property tests of specs, sets, permutation and shards.

use std::collections::HashSet;
use std::net::IpAddr;

use proptest::prelude::*;

use crate::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn parses_every_spec_form() {
    assert_eq!(
        parse_spec("192.0.2.0/30").unwrap(),
        Spec::Range(ip("192.0.2.0"), ip("192.0.2.3"))
    );
    assert_eq!(
        parse_spec("10.0.0.5-10.0.1.0").unwrap(),
        Spec::Range(ip("10.0.0.5"), ip("10.0.1.0"))
    );
    assert_eq!(parse_spec("::1").unwrap(), Spec::Range(ip("::1"), ip("::1")));
    let host =
        |h: &str, p| Spec::Host(HostTarget { host: h.to_string(), port: p });
    assert_eq!(
        parse_spec("mail.example.org").unwrap(),
        host("mail.example.org", None)
    );
    assert_eq!(parse_spec("mail:8443").unwrap(), host("mail", Some(8443)));
    assert_eq!(
        parse_spec("127.0.0.1:8443").unwrap(),
        host("127.0.0.1", Some(8443))
    );
    assert_eq!(parse_spec("[::1]:443").unwrap(), host("::1", Some(443)));
}

#[test]
fn rejects_bad_specs_with_reason() {
    for bad in [
        "",
        "1.2.3.4/33",
        "::/0",
        "a b",
        "host:0",
        "host:99999",
        "10.0.0.9-10.0.0.1",
        "10.0.0.1-::1",
        "[::1",
    ] {
        assert!(parse_spec(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn ports_keep_order_and_drop_duplicates() {
    assert_eq!(parse_ports("443,80,443").unwrap(), vec![443, 80]);
    assert!(parse_ports("443,x").is_err());
}

#[test]
fn blocklist_subtracts_and_reports_line() {
    let mut set = RangeSet::new();
    set.insert(ip("10.0.0.0"), ip("10.0.0.255"));
    set.normalise();
    let ex = parse_exclusions("# comment\n10.0.0.0/25 # x\n\n10.0.0.200\n")
        .unwrap();
    set.subtract(&ex);
    assert_eq!(set.len(), 127);
    assert!(!set.contains(ip("10.0.0.200")));
    assert!(set.contains(ip("10.0.0.201")));
    assert_eq!(set.nth(0), Some(ip("10.0.0.128")));
    let err = parse_exclusions("10.0.0.1\nnope\n").unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn slash_eight_is_one_interval() {
    let mut set = RangeSet::new();
    if let Spec::Range(a, b) = parse_spec("10.0.0.0/8").unwrap() {
        set.insert(a, b);
    }
    set.normalise();
    assert_eq!(set.len(), 1 << 24);
    assert_eq!(set.nth((1 << 24) - 1), Some(ip("10.255.255.255")));
}

#[test]
fn shard_parse() {
    assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 1, count: 3 });
    assert!(Shard::parse("0/3").is_err());
    assert!(Shard::parse("4/3").is_err());
}

proptest! {
    #[test]
    fn permutation_is_bijection(n in 0u64..3000, seed: u64) {
        let p = Permutation::new(n, seed);
        let seen: HashSet<u64> = (0..n).map(|i| p.at(i)).collect();
        prop_assert_eq!(seen.len() as u64, n);
        prop_assert!(seen.iter().all(|&x| x < n));
    }

    #[test]
    fn shards_partition_exactly(n in 0u64..2000, count in 1u64..9, seed: u64) {
        let p = Permutation::new(n, seed);
        let mut all = Vec::new();
        for index in 0..count {
            let s = Shard { index, count };
            for i in 0..s.len(n) {
                all.push(p.at(s.position(i)));
            }
        }
        prop_assert_eq!(all.len() as u64, n);
        let uniq: HashSet<u64> = all.into_iter().collect();
        prop_assert_eq!(uniq.len() as u64, n);
    }

    #[test]
    fn set_matches_naive(ranges in prop::collection::vec((0u32..500, 0u32..40), 0..8),
                         excl in prop::collection::vec((0u32..500, 0u32..40), 0..4)) {
        let v4 = |n: u32| IpAddr::from(std::net::Ipv4Addr::from(n));
        let mut set = RangeSet::new();
        let mut naive = std::collections::BTreeSet::new();
        for &(a, l) in &ranges { set.insert(v4(a), v4(a + l)); naive.extend(a..=a + l); }
        set.normalise();
        let mut ex = RangeSet::new();
        for &(a, l) in &excl { ex.insert(v4(a), v4(a + l)); for x in a..=a + l { naive.remove(&x); } }
        ex.normalise();
        set.subtract(&ex);
        prop_assert_eq!(set.len(), naive.len() as u64);
        for (i, x) in naive.iter().enumerate() {
            prop_assert_eq!(set.nth(i as u64), Some(v4(*x)));
        }
    }
}
