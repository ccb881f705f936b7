//! The personas a lab host can wear and what a correct scanner should
//! conclude about each.
//!
//! Builds come from the embedded build table (a unit test checks that every
//! Exchange persona's build is in it), chosen so a fleet holds vulnerable,
//! patched and in-between servers of every product line.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use vigie_model::build::Precision;
use vigie_model::scan::{HostStatus, SsrfOutcome};

/// How a host behaves on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// An Exchange front end (see [`ExchangeTraits`]).
    Exchange(ExchangeTraits),
    /// IIS default site, no Exchange.
    Iis,
    /// nginx default page.
    Nginx,
    /// Accepts connections and never answers.
    Tarpit,
    /// Answers every connection with bytes that are not HTTP.
    Garbage,
    /// An Exchange 2019 CU14 that waits before each answer (3 s unless
    /// `FleetConfig::slow_delay` says otherwise).
    Slow,
    /// Nothing listens.
    Closed,
}

/// The features of an emulated Exchange server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExchangeTraits {
    /// Full 4-part build (`15.1.2176.2`).
    pub build: &'static str,
    /// Whether `X-OWA-Version` is sent (a reverse proxy may strip it).
    pub owa_header: bool,
    /// Whether `/ecp/` is blocked (403 from the proxy).
    pub ecp_blocked: bool,
    /// Whether the EOMT URL rewrite rules abort requests with the cookies.
    pub eomt: bool,
    /// Whether the build is open to CVE-2021-26855 (ProxyLogon SSRF).
    pub proxylogon: bool,
    /// Whether the build is open to CVE-2021-34473 (ProxyShell).
    pub proxyshell: bool,
    /// Whether a passive scan should find open CVEs (at the precision it
    /// can see), judged as of [`EXPECTED_AS_OF`]. Written by hand from
    /// the research notes, so the scanner and the build table are checked
    /// against an independent oracle (a unit test keeps them in step).
    pub open: bool,
}

/// One persona of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Persona {
    /// Short stable name (`ex2016-cu19-vulnerable`).
    pub name: &'static str,
    /// Product name as in the build table, when Exchange.
    pub product: Option<&'static str>,
    /// Served over TLS (self-signed) or plain HTTP.
    pub tls: bool,
    /// Wire behaviour.
    pub behaviour: Behaviour,
}

const fn ex(
    build: &'static str,
    proxylogon: bool,
    proxyshell: bool,
    open: bool,
) -> ExchangeTraits {
    ExchangeTraits {
        build,
        owa_header: true,
        ecp_blocked: false,
        eomt: false,
        proxylogon,
        proxyshell,
        open,
    }
}

/// The judgement date the expected open families hold for (after the
/// last update in the embedded table, so every listed CVE counts).
pub const EXPECTED_AS_OF: &str = "2026-09-01";

/// Every build a persona serves (the slow persona's included).
fn exchange_builds() -> Vec<&'static str> {
    let mut builds: Vec<&str> = PERSONAS
        .iter()
        .filter_map(|p| match p.behaviour {
            Behaviour::Exchange(t) => Some(t.build),
            _ => None,
        })
        .collect();
    builds.push(SLOW_BUILD);
    builds
}

/// Open CVE families of every visible persona build, judged once: a
/// fleet manifest asks for them once per host (65,536 hosts in the scan
/// bench).
static OPEN_FAMILIES: LazyLock<HashMap<String, Vec<String>>> =
    LazyLock::new(|| {
        let builds = exchange_builds();
        let mut map = HashMap::new();
        for b in builds {
            for visible in [b.to_string(), cu_part(b)] {
                let families = judge_open_families(&visible);
                map.insert(visible, families);
            }
        }
        map
    });

/// Open CVE families of a visible build, by the shared build engine.
fn engine_open_families(build: &str) -> Vec<String> {
    match OPEN_FAMILIES.get(build) {
        Some(f) => f.clone(),
        None => judge_open_families(build),
    }
}

fn judge_open_families(build: &str) -> Vec<String> {
    let table = vigie_builds::Table::embedded();
    let Ok(as_of) = EXPECTED_AS_OF.parse() else { return Vec::new() };
    let Ok(a) = table.assess(build, as_of) else { return Vec::new() };
    let mut families: Vec<String> =
        a.open_cves().map(|c| c.family.clone()).collect();
    families.sort();
    families.dedup();
    families
}

// Whether a passive scan should find open CVEs, as of EXPECTED_AS_OF.
// Which families are open comes from the one build engine
// (`vigie-builds`), the same one `check` and `scan` use. Since the 2026
// table (issue 9) every build short of its CU line's Aug26SU is open;
// only fully updated 2019 CU15 and SE are not.
const E10_RU30: bool = true;
const E13_PRE: bool = true;
const E13_MAR21: bool = true;
const E1619_PRE: bool = true;
const E1619_MAR21: bool = true;
const E1619_PRE_NOV22: bool = true;
const CURRENT: bool = false;
/// Exchange 2019 CU14 as released in February 2024: open in 2026.
const E19_CU14_RTM: bool = true;

const fn exchange(
    name: &'static str,
    product: &'static str,
    traits: ExchangeTraits,
) -> Persona {
    Persona {
        name,
        product: Some(product),
        tls: true,
        behaviour: Behaviour::Exchange(traits),
    }
}

const fn other(name: &'static str, tls: bool, b: Behaviour) -> Persona {
    Persona { name, product: None, tls, behaviour: b }
}

const E10: &str = "Exchange Server 2010";
const E13: &str = "Exchange Server 2013";
const E16: &str = "Exchange Server 2016";
const E19: &str = "Exchange Server 2019";
const ESE: &str = "Exchange Server SE";

/// Every persona, in a fixed order (selection indexes into it).
pub const PERSONAS: &[Persona] = &[
    exchange("ex2010-sp3-ru30", E10, ex("14.3.496.0", false, false, E10_RU30)),
    exchange(
        "ex2013-cu23-vulnerable",
        E13,
        ex("15.0.1497.2", true, true, E13_PRE),
    ),
    exchange(
        "ex2013-cu23-mar21su",
        E13,
        ex("15.0.1497.12", false, true, E13_MAR21),
    ),
    exchange(
        "ex2016-cu19-vulnerable",
        E16,
        ex("15.1.2176.2", true, true, E1619_PRE),
    ),
    exchange(
        "ex2016-cu19-mar21su",
        E16,
        ex("15.1.2176.9", false, true, E1619_MAR21),
    ),
    exchange(
        "ex2016-cu23-rtm",
        E16,
        ex("15.1.2507.6", false, false, E1619_PRE_NOV22),
    ),
    exchange(
        "ex2019-cu8-vulnerable",
        E19,
        ex("15.2.792.3", true, true, E1619_PRE),
    ),
    exchange(
        "ex2019-cu8-may21su",
        E19,
        ex("15.2.792.15", false, false, E1619_PRE_NOV22),
    ),
    exchange(
        "ex2019-cu15-aug26su",
        E19,
        ex("15.2.1748.49", false, false, CURRENT),
    ),
    exchange(
        "exse-rtm-aug26su",
        ESE,
        ex("15.2.2562.46", false, false, CURRENT),
    ),
    exchange(
        "ex2016-cu19-stripped",
        E16,
        ExchangeTraits {
            owa_header: false,
            ecp_blocked: true,
            // Only the CU shows: what is open whatever the SU level.
            ..ex("15.1.2176.2", true, true, E1619_PRE_NOV22)
        },
    ),
    exchange(
        "ex2019-cu8-ecp-blocked",
        E19,
        ExchangeTraits {
            ecp_blocked: true,
            ..ex("15.2.792.3", true, true, E1619_PRE)
        },
    ),
    exchange(
        "ex2016-cu19-eomt",
        E16,
        ExchangeTraits {
            eomt: true,
            ..ex("15.1.2176.2", true, true, E1619_PRE)
        },
    ),
    Persona {
        tls: false,
        ..exchange(
            "ex2019-cu14-http",
            E19,
            ex("15.2.1544.4", false, false, E19_CU14_RTM),
        )
    },
    other("iis-default", true, Behaviour::Iis),
    other("nginx", false, Behaviour::Nginx),
    other("tarpit", true, Behaviour::Tarpit),
    other("garbage", true, Behaviour::Garbage),
    Persona {
        product: Some(E19),
        ..other("slow-ex2019", true, Behaviour::Slow)
    },
    other("closed", true, Behaviour::Closed),
];

/// The build the slow persona serves.
pub const SLOW_BUILD: &str = "15.2.1544.4";

/// What the slow persona is, once it answers.
pub const SLOW_TRAITS: ExchangeTraits =
    ex(SLOW_BUILD, false, false, E19_CU14_RTM);

/// What a faithful scanner should conclude about a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedVerdict {
    /// What answers.
    pub status: HostStatus,
    /// The build a passive scan can read, at `precision`.
    pub build: Option<String>,
    /// How much of the build is visible without the active probe.
    pub precision: Option<Precision>,
    /// ProxyLogon (CVE-2021-26855) state as judged from the visible
    /// build: `vulnerable`, `patched`, `not_affected`, `unknown`.
    pub proxylogon: String,
    /// What the opt-in ProxyLogon cookie probe should report (`None`
    /// when it is never sent: nothing listens, or no HTTP answer).
    pub ssrf: Option<SsrfOutcome>,
    /// The host's state word, as `HostResult::state` gives it:
    /// `vulnerable`, `patched`, `unknown`, `not_exchange`, `closed`,
    /// `error` (judged as of [`EXPECTED_AS_OF`]).
    #[serde(default)]
    pub state: String,
    /// CVE families with an open CVE (sorted, as the build assessment
    /// names them), judged as of [`EXPECTED_AS_OF`].
    #[serde(default)]
    pub open_families: Vec<String>,
}

/// Deterministic persona for host `index` of a fleet seeded with `seed`.
pub fn select(seed: u64, index: u64) -> &'static Persona {
    let n = PERSONAS.len() as u64;
    // The first hosts of a fleet walk a seed-shifted cycle so even a
    // small fleet shows variety; later ones are hashed.
    let pick = if index < n {
        (splitmix64(seed) + index) % n
    } else {
        splitmix64(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % n
    };
    &PERSONAS[pick as usize]
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Persona {
    /// The verdict a faithful scanner should reach.
    pub fn expected(&self) -> ExpectedVerdict {
        match self.behaviour {
            Behaviour::Exchange(t) => exchange_expected(&t),
            Behaviour::Slow => exchange_expected(&SLOW_TRAITS),
            Behaviour::Iis | Behaviour::Nginx => no_exchange(
                HostStatus::NotExchange,
                "not_exchange",
                Some(SsrfOutcome::NotExchange),
            ),
            // No HTTP answer: the scanner never gets as far as the
            // active probe, so it reports none.
            Behaviour::Tarpit | Behaviour::Garbage => {
                no_exchange(HostStatus::Error, "error", None)
            }
            Behaviour::Closed => {
                no_exchange(HostStatus::Closed, "closed", None)
            }
        }
    }
}

/// Looks a persona up by name.
pub fn by_name(name: &str) -> Option<&'static Persona> {
    PERSONAS.iter().find(|p| p.name == name)
}

fn no_exchange(
    status: HostStatus,
    state: &str,
    ssrf: Option<SsrfOutcome>,
) -> ExpectedVerdict {
    ExpectedVerdict {
        status,
        build: None,
        precision: None,
        proxylogon: "unknown".into(),
        ssrf,
        state: state.into(),
        open_families: Vec::new(),
    }
}

fn exchange_expected(t: &ExchangeTraits) -> ExpectedVerdict {
    let is_2010 = t.build.starts_with("14.");
    // 2010 resource paths carry all four parts; 2013+ carry three, and
    // the header or the exporttool manifest give the fourth.
    let exact = is_2010 || t.owa_header || !t.ecp_blocked;
    let (build, precision) = if exact {
        (t.build.to_string(), Precision::Exact)
    } else {
        (cu_part(t.build), Precision::CuOnly)
    };
    // Exchange SE (15.2.2562+) came after ProxyLogon: not affected.
    let is_se = t.build.starts_with("15.2.")
        && t.build.split('.').nth(2).and_then(|b| b.parse::<u32>().ok())
            >= Some(2562);
    let proxylogon = if is_2010 || is_se {
        "not_affected"
    } else if !exact {
        "unknown"
    } else if t.proxylogon {
        "vulnerable"
    } else {
        "patched"
    };
    let ssrf = if t.eomt {
        SsrfOutcome::Mitigated
    } else if t.proxylogon {
        SsrfOutcome::Vulnerable
    } else {
        SsrfOutcome::NotVulnerable
    };
    ExpectedVerdict {
        status: HostStatus::Exchange,
        precision: Some(precision),
        proxylogon: proxylogon.into(),
        ssrf: Some(ssrf),
        state: if t.open { "vulnerable" } else { "patched" }.into(),
        open_families: engine_open_families(&build),
        build: Some(build),
    }
}

/// `15.1.2176.2` -> `15.1.2176`.
pub fn cu_part(build: &str) -> String {
    build.rsplit_once('.').map_or(build, |(head, _)| head).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_is_deterministic_and_seed_dependent() {
        let a: Vec<_> = (0..200).map(|i| select(7, i).name).collect();
        let b: Vec<_> = (0..200).map(|i| select(7, i).name).collect();
        let c: Vec<_> = (0..200).map(|i| select(8, i).name).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn small_fleet_has_no_duplicate_personas() {
        let names: std::collections::HashSet<_> =
            (0..PERSONAS.len() as u64).map(|i| select(3, i).name).collect();
        assert_eq!(names.len(), PERSONAS.len());
    }

    #[test]
    fn every_exchange_build_is_in_the_build_table() {
        let table = vigie_builds::Table::embedded();
        let builds = exchange_builds();
        for b in builds {
            assert!(
                table.rows().iter().any(|r| r.build == b),
                "{b} missing from the build table"
            );
        }
    }

    /// Guards the hand-written oracle (open or not) against drift of the
    /// build table, and the 2026 truth of issue 9: 2019 CU14 as released
    /// is vulnerable.
    #[test]
    fn expected_state_matches_the_build_table() {
        let table = vigie_builds::Table::embedded();
        let as_of = EXPECTED_AS_OF.parse().unwrap();
        for p in PERSONAS {
            let e = p.expected();
            let Some(build) = &e.build else { continue };
            let a = table.assess(build, as_of).unwrap();
            let open = a.open_cves().next().is_some();
            assert_eq!(open, e.state == "vulnerable", "{}", p.name);
            assert_eq!(open, !e.open_families.is_empty(), "{}", p.name);
        }
        let cu14 = by_name("ex2019-cu14-http").unwrap().expected();
        assert_eq!(cu14.state, "vulnerable");
    }

    #[test]
    fn stripped_header_and_blocked_ecp_leave_cu_only() {
        let p = PERSONAS
            .iter()
            .find(|p| p.name == "ex2016-cu19-stripped")
            .unwrap();
        let e = p.expected();
        assert_eq!(e.precision, Some(Precision::CuOnly));
        assert_eq!(e.build.as_deref(), Some("15.1.2176"));
        assert_eq!(e.proxylogon, "unknown");
        assert_eq!(e.ssrf, Some(SsrfOutcome::Vulnerable));
    }
}
