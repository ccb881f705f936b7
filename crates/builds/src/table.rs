//! The build and CVE table: every known build, grouped into CU lines.
//!
//! A CU line is every build sharing `major.minor.build` (one CU or rollup
//! and the SUs released for it). Builds are matched on the line first and
//! then floored on the revision, never floored across lines or products.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::NaiveDate;

use crate::error::TableError;
use crate::load::{
    RawBuild, RawConfig, RawCve, RawFix, RawNote, RawProduct, read_csv,
    table_build, table_date,
};

/// A 4-part build as integers.
pub(crate) type Ver = [u32; 4];

const BUILDS: &str = include_str!("../data/builds.csv");
const EXTRA: &str = include_str!("../data/builds-extra.csv");
const CVES: &str = include_str!("../data/cves.csv");
const FIXES: &str = include_str!("../data/cve-fixes.csv");
const CONFIG: &str = include_str!("../data/cve-config.csv");
const PRODUCTS: &str = include_str!("../data/products.csv");
const NOTES: &str = include_str!("../data/build-notes.csv");
const AS_OF: &str = include_str!("../data/as-of.txt");

static EMBEDDED: LazyLock<Table> = LazyLock::new(|| {
    let as_of = table_date("as-of.txt", 1, AS_OF.trim())
        .expect("embedded as-of date is checked by tests");
    Table::from_parts(BUILDS, Some(as_of))
        .expect("embedded tables are checked by tests")
});

/// What kind of release a build is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// First release of a product.
    Rtm,
    /// Service pack (2010 SP3, 2013 SP1).
    Sp,
    /// Exchange 2010 update rollup (cumulative).
    Ru,
    /// Cumulative update.
    Cu,
    /// Security or hotfix update on one CU line.
    Su,
}

impl Kind {
    fn parse(text: &str) -> Option<Kind> {
        Some(match text {
            "RTM" => Kind::Rtm,
            "SP" => Kind::Sp,
            "RU" => Kind::Ru,
            "CU" => Kind::Cu,
            "SU" => Kind::Su,
            _ => return None,
        })
    }
}

/// One published build, as other crates see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRow {
    /// `Exchange Server 2016`.
    pub product: String,
    /// `CU23 Mar21SU`, `SP3 RU32`, `RTM`.
    pub name: String,
    /// 4-part build, un-padded: `15.1.2176.9`.
    pub build: String,
    /// Release date (Patch Tuesday for the undated 2018-2021 SUs).
    pub release_date: NaiveDate,
    /// `RTM`, `SP`, `RU`, `CU` or `SU` (hotfix updates are `SU`).
    pub kind: String,
    /// Released after the product's end of support (2016/2019 after
    /// 2025-10-14): only for Extended Security Update customers.
    pub esu_only: bool,
}

/// A build with its parsed fields.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub v: Ver,
    pub product: usize,
    pub name: String,
    pub cu: String,
    pub su: Option<String>,
    pub date: NaiveDate,
    pub kind: Kind,
    /// Released after the product's end of support: only for organisations
    /// enrolled in Microsoft's Extended Security Update programme.
    pub esu_only: bool,
}

/// A product line (2010, 2013, 2016, 2019, SE).
#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub name: String,
    pub major: u32,
    pub minor: u32,
    pub min_build: u32,
    pub end_of_support: Option<NaiveDate>,
}

/// All builds of one CU (same first three parts), oldest first.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub product: usize,
    pub rows: Vec<usize>,
}

/// What the table says about one CVE.
#[derive(Debug, Clone)]
pub(crate) struct CveInfo {
    pub cve: String,
    pub family: String,
    pub impact: String,
    pub name: String,
    pub cvss: Option<f32>,
    pub known_exploited: bool,
    pub published: NaiveDate,
    pub fixes: Vec<Fix>,
    /// What must also be true of the server's configuration for the fix
    /// to protect it (`cve-config.csv`).
    pub config: Option<ConfigNeed>,
}

/// A configuration a fix depends on, and what would confirm it.
#[derive(Debug, Clone)]
pub(crate) struct ConfigNeed {
    pub requirement: String,
    pub what: String,
    pub confirm: String,
}

/// One build that fixes a CVE (for its line, or its product onwards).
#[derive(Debug, Clone)]
pub(crate) struct Fix {
    pub row: usize,
}

/// The whole table. Get the embedded one with [`Table::embedded`].
#[derive(Debug, Clone)]
pub struct Table {
    pub(crate) rows: Vec<Row>,
    public: Vec<BuildRow>,
    pub(crate) lines: Vec<Line>,
    pub(crate) line_of: HashMap<[u32; 3], usize>,
    pub(crate) products: Vec<Product>,
    pub(crate) cves: Vec<CveInfo>,
    pub(crate) extra: HashMap<Ver, Row>,
    pub(crate) notes: HashMap<Ver, String>,
    pub(crate) as_of: NaiveDate,
}

impl Table {
    /// The table compiled into this binary (parsed once, validated by
    /// the crate's tests).
    pub fn embedded() -> &'static Table {
        &EMBEDDED
    }

    /// A table whose builds come from `builds_csv` (same columns as the
    /// embedded `builds.csv`); CVEs, products and notes stay embedded.
    /// Its as-of date is its newest release date.
    pub fn with_builds(builds_csv: &str) -> Result<Table, TableError> {
        Table::from_parts(builds_csv, None)
    }

    /// Every published build (the main table, not the secondary-source
    /// extras), in table order.
    pub fn rows(&self) -> &[BuildRow] {
        &self.public
    }

    /// The date the data was current on.
    pub fn as_of(&self) -> NaiveDate {
        self.as_of
    }

    fn from_parts(
        builds_csv: &str,
        as_of: Option<NaiveDate>,
    ) -> Result<Table, TableError> {
        let products = load_products()?;
        let rows = load_rows("builds.csv", builds_csv, &products)?;
        Table::from_rows(products, rows, as_of)
    }

    /// Build the table from already validated rows.
    pub(crate) fn from_rows(
        products: Vec<Product>,
        mut rows: Vec<Row>,
        as_of: Option<NaiveDate>,
    ) -> Result<Table, TableError> {
        mark_esu(&mut rows, &products);
        let extra_rows = load_rows("builds-extra.csv", EXTRA, &products)?;
        let (lines, line_of) = group_lines(&rows)?;
        let mut cves = load_cves(&rows)?;
        attach_config(&mut cves)?;
        let newest = rows.iter().map(|r| r.date).max();
        let as_of = as_of.or(newest).ok_or_else(|| {
            TableError::new("builds.csv", 0, "the table has no rows")
        })?;
        let public = rows.iter().map(|r| public_row(r, &products)).collect();
        Ok(Table {
            public,
            lines,
            line_of,
            cves,
            extra: extra_rows.into_iter().map(|r| (r.v, r)).collect(),
            notes: load_notes()?,
            products,
            rows,
            as_of,
        })
    }

    /// The product a build belongs to: 15.2 is SE from build 2562 on.
    pub(crate) fn product_of(
        &self,
        major: u32,
        minor: u32,
        build: Option<u32>,
    ) -> Option<usize> {
        let b = build.unwrap_or(0);
        self.products
            .iter()
            .enumerate()
            .filter(|(_, p)| p.major == major && p.minor == minor)
            .filter(|(_, p)| p.min_build <= b)
            .max_by_key(|(_, p)| p.min_build)
            .map(|(i, _)| i)
    }

    /// The row index of an exact build, if published.
    pub(crate) fn row_index(&self, v: Ver) -> Option<usize> {
        let line = self.line_of.get(&[v[0], v[1], v[2]])?;
        self.lines[*line].rows.iter().copied().find(|&i| self.rows[i].v == v)
    }
}

fn public_row(r: &Row, products: &[Product]) -> BuildRow {
    let kind = match r.kind {
        Kind::Rtm => "RTM",
        Kind::Sp => "SP",
        Kind::Ru => "RU",
        Kind::Cu => "CU",
        Kind::Su => "SU",
    };
    BuildRow {
        product: products[r.product].name.clone(),
        name: r.name.clone(),
        build: ver_string(r.v),
        release_date: r.date,
        kind: kind.to_string(),
        esu_only: r.esu_only,
    }
}

/// `15.1.2176.9`.
pub(crate) fn ver_string(v: Ver) -> String {
    format!("{}.{}.{}.{}", v[0], v[1], v[2], v[3])
}

pub(crate) fn load_products() -> Result<Vec<Product>, TableError> {
    let file = "products.csv";
    read_csv::<RawProduct>(file, PRODUCTS)?
        .into_iter()
        .map(|n| {
            let p = n.value;
            let eos = match p.end_of_support.as_str() {
                "" => None,
                d => Some(table_date(file, n.line, d)?),
            };
            Ok(Product {
                name: p.product,
                major: p.major,
                minor: p.minor,
                min_build: p.min_build,
                end_of_support: eos,
            })
        })
        .collect()
}

fn load_rows(
    file: &str,
    text: &str,
    products: &[Product],
) -> Result<Vec<Row>, TableError> {
    let mut rows = Vec::new();
    for n in read_csv::<RawBuild>(file, text)? {
        rows.push(make_row(file, n.line, n.value, products)?);
    }
    Ok(rows)
}

pub(crate) fn make_row(
    file: &str,
    line: u64,
    raw: RawBuild,
    products: &[Product],
) -> Result<Row, TableError> {
    let err = |m: String| TableError::new(file, line, m);
    let v = table_build(file, line, &raw.build)?;
    let short = format!("{}.{}.{}", v[0], v[1], v[2]);
    if raw.build_short != short {
        return Err(err(format!(
            "build_short {} != {short}",
            raw.build_short
        )));
    }
    let product = products
        .iter()
        .position(|p| p.name == raw.product)
        .ok_or_else(|| err(format!("unknown product {:?}", raw.product)))?;
    let p = &products[product];
    if p.major != v[0] || p.minor != v[1] {
        return Err(err(format!("{} is not {}", raw.build, p.name)));
    }
    let kind = Kind::parse(&raw.kind)
        .ok_or_else(|| err(format!("unknown kind {:?}", raw.kind)))?;
    let (cu, su) = split_name(&raw.version_name, kind);
    Ok(Row {
        v,
        product,
        cu,
        su,
        name: raw.version_name,
        date: table_date(file, line, &raw.release_date)?,
        kind,
        esu_only: false,
    })
}

/// Updates released after their product's end of support are ESU-only.
fn mark_esu(rows: &mut [Row], products: &[Product]) {
    for r in rows {
        let eos = products[r.product].end_of_support;
        r.esu_only = r.kind == Kind::Su && eos.is_some_and(|d| r.date > d);
    }
}

/// `CU19 Mar21SU` -> (`CU19`, `Mar21SU`); `SP3 RU32` -> (`SP3 RU32`, -).
fn split_name(name: &str, kind: Kind) -> (String, Option<String>) {
    match (kind, name.rsplit_once(' ')) {
        (Kind::Su, Some((cu, su))) => (cu.to_string(), Some(su.to_string())),
        _ => (name.to_string(), None),
    }
}

type Lines = (Vec<Line>, HashMap<[u32; 3], usize>);

fn group_lines(rows: &[Row]) -> Result<Lines, TableError> {
    let mut lines: Vec<Line> = Vec::new();
    let mut line_of = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let key = [r.v[0], r.v[1], r.v[2]];
        let idx = *line_of.entry(key).or_insert_with(|| {
            lines.push(Line { product: r.product, rows: Vec::new() });
            lines.len() - 1
        });
        lines[idx].rows.push(i);
    }
    for line in &mut lines {
        line.rows.sort_by_key(|&i| rows[i].v);
        for pair in line.rows.windows(2) {
            if rows[pair[0]].v == rows[pair[1]].v {
                let b = ver_string(rows[pair[0]].v);
                return Err(TableError::new(
                    "builds.csv",
                    0,
                    format!("build {b} listed twice"),
                ));
            }
        }
    }
    Ok((lines, line_of))
}

fn load_cves(rows: &[Row]) -> Result<Vec<CveInfo>, TableError> {
    let file = "cves.csv";
    let mut cves = Vec::new();
    for n in read_csv::<RawCve>(file, CVES)? {
        let c = n.value;
        let cvss = match c.cvss.as_str() {
            "" => None,
            s => Some(s.parse::<f32>().map_err(|_| {
                TableError::new(file, n.line, format!("bad cvss {s:?}"))
            })?),
        };
        cves.push(CveInfo {
            published: table_date(file, n.line, &c.published)?,
            cve: c.cve,
            family: c.family,
            impact: c.impact,
            name: c.name,
            cvss,
            known_exploited: c.known_exploited == "true",
            fixes: Vec::new(),
            config: None,
        });
    }
    attach_fixes(&mut cves, rows)?;
    Ok(cves)
}

fn attach_fixes(cves: &mut [CveInfo], rows: &[Row]) -> Result<(), TableError> {
    let file = "cve-fixes.csv";
    let by_ver: HashMap<Ver, usize> =
        rows.iter().enumerate().map(|(i, r)| (r.v, i)).collect();
    for n in read_csv::<RawFix>(file, FIXES)? {
        let f = n.value;
        let err = |m: String| TableError::new(file, n.line, m);
        let v = table_build(file, n.line, &f.fixed_in)?;
        let row = *by_ver.get(&v).ok_or_else(|| {
            err(format!(
                "{} fixes {} but is not in the build table (a --builds file \
                 must keep every row of the embedded builds.csv)",
                f.fixed_in, f.cve
            ))
        })?;
        let cve = cves
            .iter_mut()
            .find(|c| c.cve == f.cve)
            .ok_or_else(|| err(format!("{} is not in cves.csv", f.cve)))?;
        cve.fixes.push(Fix { row });
    }
    Ok(())
}

fn attach_config(cves: &mut [CveInfo]) -> Result<(), TableError> {
    let file = "cve-config.csv";
    for n in read_csv::<RawConfig>(file, CONFIG)? {
        let c = n.value;
        let cve =
            cves.iter_mut().find(|x| x.cve == c.cve).ok_or_else(|| {
                TableError::new(
                    file,
                    n.line,
                    format!("{} is not in cves.csv", c.cve),
                )
            })?;
        cve.config = Some(ConfigNeed {
            requirement: c.requirement,
            what: c.what,
            confirm: c.confirm,
        });
    }
    Ok(())
}

fn load_notes() -> Result<HashMap<Ver, String>, TableError> {
    let file = "build-notes.csv";
    read_csv::<RawNote>(file, NOTES)?
        .into_iter()
        .map(|n| {
            Ok((table_build(file, n.line, &n.value.build)?, n.value.note))
        })
        .collect()
}
