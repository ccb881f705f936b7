//! RPSL reading: ranges split into prefixes, contacts resolved through
//! roles and organisations, bad objects named by line.

use super::*;

const SAMPLE: &str = "\
% This is the RIPE Database split file (sample, documentation addresses)

inetnum:        192.0.2.0 - 192.0.2.255
netname:        ALPHA-NET
descr:          Alpha hosting
                second descr line
country:        XX
abuse-c:        AA1-TEST   # the abuse team
status:         ASSIGNED PA
source:         RIPE

inetnum:        198.51.100.0 - 198.51.100.191
netname:        BETA-NET
org:            ORG-BE1-TEST
source:         RIPE

inetnum:        203.0.113.0 - 203.0.113.127
netname:        GAMMA-NET
abuse-mailbox:  abuse@gamma.example
source:         RIPE

inetnum:        203.0.113.128 - 203.0.113.255
netname:        ORPHAN-NET
source:         RIPE

inet6num:       2001:db8::/32
netname:        ALPHA-V6
abuse-c:        AA1-TEST
source:         RIPE

inetnum:        192.0.2.300 - 192.0.2.400
netname:        BROKEN

role:           Alpha Abuse Team
address:        Somewhere
nic-hdl:        AA1-TEST
abuse-mailbox:  abuse@alpha.example
source:         RIPE

organisation:   ORG-BE1-TEST
org-name:       Beta Ltd
abuse-c:        BB2-TEST

role:           Beta CSIRT
nic-hdl:        BB2-TEST
abuse-mailbox:  csirt@beta.example
this line is not rpsl
";

#[test]
fn networks_get_their_abuse_mailbox() {
    let mut nets = RirNetworks::default();
    read_rpsl(SAMPLE.as_bytes(), "ripe.db", &mut nets);
    let errors: Vec<String> =
        nets.errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("ripe.db:31: inetnum"), "{errors:?}");
    assert!(errors[1].starts_with("ripe.db:47: not an RPSL"), "{errors:?}");
    assert_eq!(nets.objects, 9);
    let (resolved, without) = nets.resolve();
    assert_eq!(without, 1, "ORPHAN-NET has no contact");
    let by_name = |n: &str| resolved.iter().find(|r| r.netname == n).unwrap();
    let alpha = by_name("ALPHA-NET");
    assert_eq!(alpha.mailbox, "abuse@alpha.example");
    assert_eq!(alpha.contact_name, "Alpha Abuse Team");
    assert_eq!(alpha.prefixes, [IpNet::V4("192.0.2.0/24".parse().unwrap())]);
    let beta = by_name("BETA-NET");
    assert_eq!(beta.mailbox, "csirt@beta.example", "through the organisation");
    let beta_prefixes: Vec<String> =
        beta.prefixes.iter().map(ToString::to_string).collect();
    assert_eq!(beta_prefixes, ["198.51.100.0/25", "198.51.100.128/26"]);
    assert_eq!(by_name("GAMMA-NET").mailbox, "abuse@gamma.example");
    assert_eq!(by_name("ALPHA-V6").prefixes[0].to_string(), "2001:db8::/32");
}

#[test]
fn ranges_become_exact_prefix_sets() {
    let p = |s: &str| -> Vec<String> {
        prefixes(s).unwrap().iter().map(ToString::to_string).collect()
    };
    assert_eq!(p("0.0.0.0 - 255.255.255.255"), ["0.0.0.0/0"]);
    assert_eq!(
        p("192.0.2.1 - 192.0.2.6"),
        ["192.0.2.1/32", "192.0.2.2/31", "192.0.2.4/31", "192.0.2.6/32"]
    );
    assert_eq!(p("2001:db8::/48"), ["2001:db8::/48"]);
    assert_eq!(p("192.0.2.9"), ["192.0.2.9/32"]);
    assert!(prefixes("192.0.2.9 - 192.0.2.1").is_none());
    assert!(prefixes("192.0.2.0 - 2001:db8::").is_none());
}
