//! Reading the CSV tables into typed records, with line numbers in errors.
//!
//! The tables are data, not code: the embedded copies live in
//! `crates/builds/data/` (see the README there for sources), and a newer
//! `builds.csv` can be loaded at run time with `vigie check --builds`.

use chrono::NaiveDate;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::TableError;
use crate::parse::parse_build;

/// One row of `builds.csv` / `builds-extra.csv`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawBuild {
    pub product: String,
    pub version_name: String,
    pub build: String,
    pub build_short: String,
    pub release_date: String,
    pub kind: String,
}

/// One row of `cves.csv`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawCve {
    pub cve: String,
    pub family: String,
    #[serde(default)]
    pub impact: String,
    pub name: String,
    pub cvss: String,
    pub known_exploited: String,
    pub published: String,
}

/// One row of `cve-fixes.csv`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawFix {
    pub cve: String,
    pub fixed_in: String,
}

/// One row of `cve-config.csv`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawConfig {
    pub cve: String,
    pub requirement: String,
    pub what: String,
    pub confirm: String,
}

/// One row of `products.csv`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawProduct {
    pub product: String,
    pub major: u32,
    pub minor: u32,
    pub min_build: u32,
    pub end_of_support: String,
}

/// One row of `build-notes.csv`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawNote {
    pub build: String,
    pub note: String,
}

/// A record and the line it came from.
pub(crate) struct Numbered<T> {
    pub line: u64,
    pub value: T,
}

/// Read every record of a CSV table, failing on the first bad one.
pub(crate) fn read_csv<T: DeserializeOwned>(
    file: &str,
    text: &str,
) -> Result<Vec<Numbered<T>>, TableError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for record in reader.deserialize::<T>() {
        match record {
            Ok(value) => {
                let line = out.len() as u64 + 2;
                out.push(Numbered { line, value });
            }
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                return Err(TableError::new(file, line, err.to_string()));
            }
        }
    }
    Ok(out)
}

/// A full 4-part build from a table cell.
pub(crate) fn table_build(
    file: &str,
    line: u64,
    text: &str,
) -> Result<[u32; 4], TableError> {
    parse_build(text).ok().and_then(|p| p.full()).ok_or_else(|| {
        TableError::new(file, line, format!("bad build {text:?}"))
    })
}

/// A `YYYY-MM-DD` date from a table cell.
pub(crate) fn table_date(
    file: &str,
    line: u64,
    text: &str,
) -> Result<NaiveDate, TableError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| TableError::new(file, line, format!("bad date {text:?}")))
}
