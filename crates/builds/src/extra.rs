//! Loading newer data at run time: `vigie check --builds FILE` and
//! `--cves FILE`.
//!
//! The embedded table is only as current as its as-of date. An
//! administrator can load a newer build list or newer CVE fixes without a
//! new binary. Each bad row is an error naming the file and line (a
//! missing column, a bad build string, an unknown CVE id, a duplicate
//! row) and is skipped; the rest loads. Only a file whose header lacks a
//! required column, or that has no usable row, is refused as a whole.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::error::TableError;
use crate::load::{RawBuild, table_build, table_date};
use crate::table::{CveInfo, Fix, Table, load_products, make_row};

/// A table loaded from a file, and the rows it had to skip.
#[derive(Debug)]
pub struct Loaded {
    /// The usable table.
    pub table: Table,
    /// One error per skipped row, with file and line.
    pub errors: Vec<TableError>,
}

/// Columns a `--cves` file must have; the others are optional.
pub const CVE_FILE_REQUIRED: [&str; 2] = ["cve", "fixed_in"];

/// Optional columns of a `--cves` file (metadata of a new CVE).
pub const CVE_FILE_OPTIONAL: [&str; 7] = [
    "name",
    "family",
    "impact",
    "cvss",
    "known_exploited",
    "published",
    "products",
];

struct Header {
    index: HashMap<String, usize>,
}

impl Header {
    fn read(
        file: &str,
        reader: &mut csv::Reader<&[u8]>,
        required: &[&str],
    ) -> Result<Header, TableError> {
        let headers = reader
            .headers()
            .map_err(|e| TableError::new(file, 1, e.to_string()))?;
        let index: HashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().to_ascii_lowercase(), i))
            .collect();
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| !index.contains_key(*c))
            .collect();
        if !missing.is_empty() {
            return Err(TableError::new(
                file,
                1,
                format!("missing column(s): {}", missing.join(", ")),
            ));
        }
        Ok(Header { index })
    }

    fn get<'a>(&self, rec: &'a csv::StringRecord, col: &str) -> &'a str {
        self.index.get(col).and_then(|&i| rec.get(i)).unwrap_or("").trim()
    }
}

fn reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes())
}

fn line_of(rec: &csv::StringRecord) -> u64 {
    rec.position().map_or(0, |p| p.line())
}

impl Table {
    /// A table whose builds come from a user's `builds.csv` (same columns
    /// as the embedded one). Bad rows are skipped and reported.
    pub fn load_builds(file: &str, text: &str) -> Result<Loaded, TableError> {
        let products = load_products()?;
        let mut rd = reader(text);
        let cols = [
            "product",
            "version_name",
            "build",
            "build_short",
            "release_date",
            "kind",
        ];
        let h = Header::read(file, &mut rd, &cols)?;
        let mut rows = Vec::new();
        let mut errors = Vec::new();
        let mut seen: HashMap<[u32; 4], u64> = HashMap::new();
        for rec in rd.records() {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    errors.push(TableError::new(file, line, e.to_string()));
                    continue;
                }
            };
            let line = line_of(&rec);
            let raw = RawBuild {
                product: h.get(&rec, "product").to_string(),
                version_name: h.get(&rec, "version_name").to_string(),
                build: h.get(&rec, "build").to_string(),
                build_short: h.get(&rec, "build_short").to_string(),
                release_date: h.get(&rec, "release_date").to_string(),
                kind: h.get(&rec, "kind").to_string(),
            };
            match make_row(file, line, raw, &products) {
                Ok(row) => {
                    if let Some(first) = seen.insert(row.v, line) {
                        errors.push(TableError::new(
                            file,
                            line,
                            format!(
                                "duplicate row: build already on line {first}"
                            ),
                        ));
                        continue;
                    }
                    rows.push(row);
                }
                Err(e) => errors.push(e),
            }
        }
        if rows.is_empty() {
            return Err(TableError::new(file, 0, "no usable build row"));
        }
        let table = Table::from_rows(products, rows, None)
            .map_err(|e| TableError { file: file.to_string(), ..e })?;
        Ok(Loaded { table, errors })
    }

    /// This table plus the CVE fixes of a `--cves` file: rows
    /// `cve,fixed_in[,name,family,impact,cvss,known_exploited,published,
    /// products]`, one per fixing build. A CVE the table does not know
    /// needs `published` (and should have `name`) on its first row.
    pub fn with_cves(
        &self,
        file: &str,
        text: &str,
    ) -> Result<Loaded, TableError> {
        let mut rd = reader(text);
        let h = Header::read(file, &mut rd, &CVE_FILE_REQUIRED)?;
        let mut table = self.clone();
        let mut errors = Vec::new();
        let mut seen: HashMap<(String, [u32; 4]), u64> = HashMap::new();
        for rec in rd.records() {
            match rec {
                Ok(rec) => {
                    if let Err(e) =
                        table.add_cve_row(file, &h, &rec, &mut seen)
                    {
                        errors.push(e);
                    }
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    errors.push(TableError::new(file, line, e.to_string()));
                }
            }
        }
        Ok(Loaded { table, errors })
    }

    fn add_cve_row(
        &mut self,
        file: &str,
        h: &Header,
        rec: &csv::StringRecord,
        seen: &mut HashMap<(String, [u32; 4]), u64>,
    ) -> Result<(), TableError> {
        let line = line_of(rec);
        let err = |m: String| TableError::new(file, line, m);
        let id = h.get(rec, "cve");
        if !valid_cve_id(id) {
            return Err(err(format!(
                "unknown CVE id {id:?} (expected CVE-YYYY-NNNN or ADVnnnnnn)"
            )));
        }
        let v = table_build(file, line, h.get(rec, "fixed_in"))?;
        let row = self.row_index(v).ok_or_else(|| {
            err(format!(
                "fixed_in {} is not a build of the table (load it with --builds)",
                h.get(rec, "fixed_in")
            ))
        })?;
        if let Some(first) = seen.insert((id.to_string(), v), line) {
            return Err(err(format!(
                "duplicate row: same cve and fixed_in on line {first}"
            )));
        }
        let meta = Meta::read(file, line, h, rec)?;
        let idx = match self.cves.iter().position(|c| c.cve == id) {
            Some(i) => i,
            None => {
                let published = meta.published.ok_or_else(|| {
                    err(format!("{id} is not in the table: its first row needs `published`"))
                })?;
                self.cves.push(CveInfo {
                    cve: id.to_string(),
                    family: String::new(),
                    impact: String::new(),
                    name: String::new(),
                    cvss: None,
                    known_exploited: false,
                    published,
                    fixes: Vec::new(),
                    config: None,
                });
                self.cves.len() - 1
            }
        };
        meta.apply(&mut self.cves[idx]);
        let cve = &mut self.cves[idx];
        if !cve.fixes.iter().any(|f| f.row == row) {
            cve.fixes.push(Fix { row });
        }
        let newest = self.rows[row].date.max(cve.published);
        self.as_of = self.as_of.max(newest);
        Ok(())
    }
}

/// Optional metadata of a `--cves` row.
struct Meta {
    name: String,
    family: String,
    impact: String,
    cvss: Option<f32>,
    kev: Option<bool>,
    published: Option<NaiveDate>,
}

impl Meta {
    fn read(
        file: &str,
        line: u64,
        h: &Header,
        rec: &csv::StringRecord,
    ) -> Result<Meta, TableError> {
        let err = |m: String| TableError::new(file, line, m);
        let cvss = match h.get(rec, "cvss") {
            "" => None,
            s => Some(
                s.parse::<f32>()
                    .ok()
                    .filter(|x| (0.0..=10.0).contains(x))
                    .ok_or_else(|| err(format!("bad cvss {s:?}")))?,
            ),
        };
        let kev = match h.get(rec, "known_exploited") {
            "" => None,
            "true" => Some(true),
            "false" => Some(false),
            s => {
                return Err(err(format!(
                    "bad known_exploited {s:?} (true/false)"
                )));
            }
        };
        let published = match h.get(rec, "published") {
            "" => None,
            s => Some(table_date(file, line, s)?),
        };
        Ok(Meta {
            name: h.get(rec, "name").to_string(),
            family: h.get(rec, "family").to_string(),
            impact: h.get(rec, "impact").to_string(),
            cvss,
            kev,
            published,
        })
    }

    fn apply(self, c: &mut CveInfo) {
        let set = |dst: &mut String, src: String| {
            if !src.is_empty() {
                *dst = src;
            }
        };
        set(&mut c.name, self.name);
        set(&mut c.family, self.family);
        set(&mut c.impact, self.impact);
        if c.family.is_empty() {
            c.family = "Impact not recorded".to_string();
        }
        if self.cvss.is_some() {
            c.cvss = self.cvss;
        }
        if let Some(k) = self.kev {
            c.known_exploited = k;
        }
        if let Some(p) = self.published {
            c.published = p;
        }
    }
}

/// `CVE-2026-42897` or a Microsoft advisory id such as `ADV190018`.
pub(crate) fn valid_cve_id(id: &str) -> bool {
    if let Some(rest) = id.strip_prefix("CVE-") {
        let mut parts = rest.splitn(2, '-');
        let year = parts.next().unwrap_or("");
        let num = parts.next().unwrap_or("");
        return year.len() == 4
            && year.bytes().all(|b| b.is_ascii_digit())
            && num.len() >= 4
            && num.bytes().all(|b| b.is_ascii_digit());
    }
    id.strip_prefix("ADV")
        .is_some_and(|n| n.len() == 6 && n.bytes().all(|b| b.is_ascii_digit()))
}
