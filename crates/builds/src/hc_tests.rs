//! vigie's verdicts from the build alone against Microsoft's HealthChecker
//! (issue 9): for every Exchange 2013/2016/2019/SE build in Microsoft's
//! build list and in HealthChecker's build dictionary, and every CVE that
//! HealthChecker maps to a security update, vigie says "vulnerable" exactly
//! when HealthChecker does, except the disagreements listed in
//! `data/sources/healthchecker-exceptions.csv` (each explained in
//! `data/README.md`). HealthChecker's logic is re-implemented here from
//! `Test-ExchangeBuildGreaterOrEqualThanSecurityPatch` (css-exchange.md
//! §3.5) over its own vendored dictionary, not over vigie's table.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use vigie_model::build::CveState;

use crate::Table;

const HC_BUILDS: &str =
    include_str!("../data/sources/healthchecker-builds.csv");
const HC_CVES: &str =
    include_str!("../data/sources/healthchecker-su-cves.csv");
const MS_BUILDS: &str =
    include_str!("../data/sources/microsoft-ExchangeBuildNumbers.csv");
const EXCEPTIONS: &str =
    include_str!("../data/sources/healthchecker-exceptions.csv");

type V = [u32; 4];

fn ver(s: &str) -> V {
    let p: Vec<u32> = s.split('.').map(|x| x.parse().unwrap()).collect();
    [p[0], p[1], p[2], p[3]]
}

/// `2013`, `2016`, `2019` or `SE` for a build, as HealthChecker names it.
fn major(v: V) -> Option<&'static str> {
    match (v[0], v[1]) {
        (15, 0) => Some("2013"),
        (15, 1) => Some("2016"),
        (15, 2) if v[2] >= 2562 => Some("SE"),
        (15, 2) => Some("2019"),
        _ => None,
    }
}

struct Cu {
    name: String,
    build: V,
    year: u32,
}

struct SuBuild {
    cu: String,
    cu_date: NaiveDate,
    build: V,
}

/// HealthChecker's build dictionary and SU -> CVE map.
struct Hc {
    cus: HashMap<&'static str, Vec<Cu>>,
    sus: HashMap<(String, &'static str), Vec<SuBuild>>,
    cves: BTreeMap<String, Vec<(String, Vec<String>)>>,
    all_builds: BTreeSet<V>,
}

fn product_key(p: &str) -> &'static str {
    match p {
        "2013" => "2013",
        "2016" => "2016",
        "2019" => "2019",
        _ => "SE",
    }
}

impl Hc {
    fn load() -> Hc {
        let mut hc = Hc {
            cus: HashMap::new(),
            sus: HashMap::new(),
            cves: BTreeMap::new(),
            all_builds: BTreeSet::new(),
        };
        let mut rd = csv::Reader::from_reader(HC_BUILDS.as_bytes());
        for r in rd.records() {
            let r = r.unwrap();
            let p = product_key(&r[0]);
            let date = NaiveDate::parse_from_str(&r[3], "%Y-%m-%d").unwrap();
            let cu_build = ver(&r[2]);
            hc.all_builds.insert(cu_build);
            if r[4].is_empty() {
                hc.cus.entry(p).or_default().push(Cu {
                    name: r[1].to_string(),
                    build: cu_build,
                    year: date.format("%y").to_string().parse().unwrap(),
                });
            } else {
                let b = ver(&r[5]);
                hc.all_builds.insert(b);
                hc.sus.entry((r[4].to_string(), p)).or_default().push(
                    SuBuild { cu: r[1].to_string(), cu_date: date, build: b },
                );
            }
        }
        for list in hc.sus.values_mut() {
            list.sort_by_key(|s| std::cmp::Reverse(s.cu_date));
        }
        let mut rd = csv::Reader::from_reader(HC_CVES.as_bytes());
        for r in rd.records() {
            let r = r.unwrap();
            let prods = r[2].split(';').map(str::to_string).collect();
            hc.cves
                .entry(r[0].to_string())
                .or_default()
                .push((r[1].to_string(), prods));
        }
        hc
    }

    /// HealthChecker's CU for a build: the highest CU whose build is not
    /// above it (None below CU1: HealthChecker has no RTM entries).
    fn cu_of(&self, v: V) -> Option<&Cu> {
        let p = major(v)?;
        self.cus[p].iter().filter(|c| c.build <= v).max_by_key(|c| c.build)
    }

    /// The CVEs HealthChecker reports for a build.
    fn vulnerable(&self, v: V) -> Option<BTreeSet<String>> {
        let p = major(v)?;
        let cu = self.cu_of(v)?;
        let mut out = BTreeSet::new();
        for (su, entries) in &self.cves {
            let year: u32 = su[3..5].parse().unwrap();
            if year < cu.year {
                continue;
            }
            if self.patched(v, p, &cu.name, su) {
                continue;
            }
            for (cve, prods) in entries {
                if prods.iter().any(|x| x == p) {
                    out.insert(cve.clone());
                }
            }
        }
        Some(out)
    }

    fn patched(&self, v: V, p: &'static str, cu: &str, su: &str) -> bool {
        let Some(list) = self.sus.get(&(su.to_string(), p)) else {
            return true;
        };
        if v >= list[0].build {
            return true;
        }
        list.iter().find(|s| s.cu == cu).is_some_and(|s| v >= s.build)
    }
}

/// Listed disagreements: `build` (or `*`), `cve` (or `*`), `reason`.
fn exceptions() -> Vec<(String, String)> {
    let mut rd = csv::Reader::from_reader(EXCEPTIONS.as_bytes());
    rd.records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string())
        })
        .collect()
}

fn excepted(list: &[(String, String)], build: &str, cve: &str) -> bool {
    list.iter()
        .any(|(b, c)| (b == "*" || b == build) && (c == "*" || c == cve))
}

fn every_build(hc: &Hc) -> BTreeSet<V> {
    let mut all = hc.all_builds.clone();
    let mut rd = csv::Reader::from_reader(MS_BUILDS.as_bytes());
    for r in rd.records() {
        let r = r.unwrap();
        if r[0].contains("Preview") {
            continue;
        }
        if let Ok(p) = crate::parse_build(&r[1])
            && let Some(v) = p.full()
            && major(v).is_some()
        {
            all.insert(v);
        }
    }
    all
}

#[test]
fn verdicts_from_the_build_alone_equal_healthcheckers() {
    let hc = Hc::load();
    let table = Table::embedded();
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    let listed = exceptions();
    let mut mismatches = Vec::new();
    let mut pairs = 0;
    for v in every_build(&hc) {
        let build = format!("{}.{}.{}.{}", v[0], v[1], v[2], v[3]);
        let Some(hc_open) = hc.vulnerable(v) else { continue };
        let a = table.assess(&build, as_of).unwrap();
        for cve in hc.cves.values().flatten().map(|(c, _)| c) {
            pairs += 1;
            let ours =
                a.cves.iter().find(|c| &c.cve == cve).unwrap_or_else(|| {
                    panic!("{cve} is not in vigie's table")
                });
            let vigie_open = ours.state == CveState::Vulnerable;
            if vigie_open != hc_open.contains(cve)
                && !excepted(&listed, &build, cve)
            {
                mismatches.push(format!(
                    "{build} {cve}: HealthChecker {}, vigie {:?}",
                    if hc_open.contains(cve) { "vulnerable" } else { "not" },
                    ours.state
                ));
            }
        }
    }
    assert!(pairs > 30_000, "only {pairs} build x CVE pairs compared");
    assert!(
        mismatches.is_empty(),
        "{} unlisted disagreements:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// Every listed exception is still needed (no stale entries).
#[test]
fn every_listed_exception_is_a_real_disagreement() {
    let hc = Hc::load();
    let table = Table::embedded();
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    for (b, c) in exceptions() {
        if b == "*" || c == "*" {
            continue;
        }
        let v = ver(&b);
        let hc_open = hc.vulnerable(v).unwrap().contains(&c);
        let a = table.assess(&b, as_of).unwrap();
        let ours = a.cves.iter().find(|x| x.cve == c).unwrap().state;
        assert_ne!(
            hc_open,
            ours == CveState::Vulnerable,
            "{b} {c} agrees now"
        );
    }
}
