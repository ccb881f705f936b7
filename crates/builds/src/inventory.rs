//! Organisation-wide inventories: `server,build` as CSV or JSON.
//!
//! A CSV needs a header with `server` and `build` columns (any case, any
//! order, other columns ignored). JSON is an array of objects with
//! `server` and `build`, or one such object per line (JSON Lines). A bad
//! row is an error for that row only; a file without the needed columns
//! is an error for the whole file.

use crate::error::BuildError;

/// One inventory row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryItem {
    /// Server name as given.
    pub server: String,
    /// Build string as given.
    pub build: String,
    /// 1-based line (CSV, JSON Lines) or element number (JSON array).
    pub line: u64,
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line or element number.
    pub line: u64,
    /// What was wrong.
    pub message: String,
}

/// Each row, or why it could not be read.
pub type InventoryRow = Result<InventoryItem, RowError>;

/// Whether text looks like an inventory rather than a list of builds.
pub fn looks_like_inventory(text: &str) -> bool {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty());
    match first {
        Some(l) if l.starts_with('[') || l.starts_with('{') => true,
        Some(l) => {
            let lower = l.to_ascii_lowercase();
            lower.contains(',')
                && lower.split(',').any(|c| c.trim() == "build")
        }
        None => false,
    }
}

/// Read an inventory (CSV or JSON, told apart by the first character).
pub fn parse_inventory(text: &str) -> Result<Vec<InventoryRow>, BuildError> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('[') {
        parse_json_array(t)
    } else if t.starts_with('{') {
        Ok(parse_json_lines(t))
    } else {
        parse_csv(t)
    }
}

fn parse_csv(text: &str) -> Result<Vec<InventoryRow>, BuildError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| BuildError::Inventory(format!("bad CSV header: {e}")))?
        .clone();
    let col =
        |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(server), Some(build)) = (col("server"), col("build")) else {
        return Err(BuildError::Inventory(
            "CSV inventory needs a header with `server` and `build` columns"
                .to_string(),
        ));
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        rows.push(match record {
            Ok(r) => {
                let line = r.position().map_or(0, |p| p.line());
                match (r.get(server), r.get(build)) {
                    (Some(s), Some(b)) if !b.is_empty() => Ok(InventoryItem {
                        server: s.to_string(),
                        build: b.to_string(),
                        line,
                    }),
                    _ => Err(RowError {
                        line,
                        message: "missing build column value".to_string(),
                    }),
                }
            }
            Err(e) => Err(RowError {
                line: e.position().map_or(0, |p| p.line()),
                message: e.to_string(),
            }),
        });
    }
    Ok(rows)
}

fn parse_json_array(text: &str) -> Result<Vec<InventoryRow>, BuildError> {
    let values: Vec<serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| BuildError::Inventory(format!("bad JSON: {e}")))?;
    Ok(values
        .iter()
        .enumerate()
        .map(|(i, v)| json_item(v, i as u64 + 1))
        .collect())
}

fn parse_json_lines(text: &str) -> Vec<InventoryRow> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let line = i as u64 + 1;
            match serde_json::from_str::<serde_json::Value>(l) {
                Ok(v) => json_item(&v, line),
                Err(e) => {
                    Err(RowError { line, message: format!("bad JSON: {e}") })
                }
            }
        })
        .collect()
}

fn json_item(v: &serde_json::Value, line: u64) -> InventoryRow {
    let field = |k: &str| v.get(k).and_then(|x| x.as_str());
    match (field("server"), field("build")) {
        (Some(server), Some(build)) => Ok(InventoryItem {
            server: server.to_string(),
            build: build.to_string(),
            line,
        }),
        _ => Err(RowError {
            line,
            message: "expected an object with string `server` and `build`"
                .to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_extra_columns_in_any_order() {
        let rows =
            parse_inventory("site,Build,Server\nparis,15.1.2176.9,ex01\n")
                .unwrap();
        assert_eq!(rows[0].as_ref().unwrap().server, "ex01");
        assert_eq!(rows[0].as_ref().unwrap().build, "15.1.2176.9");
    }

    #[test]
    fn csv_missing_columns_is_a_file_error() {
        assert!(parse_inventory("host,version\na,15.1.1.1\n").is_err());
    }

    #[test]
    fn bad_rows_are_row_errors() {
        let rows = parse_inventory("server,build\na,\nb,15.1.1.1\n").unwrap();
        assert!(rows[0].is_err());
        assert!(rows[1].is_ok());
    }

    #[test]
    fn json_array_and_lines() {
        let rows = parse_inventory(
            r#"[{"server":"a","build":"15.1.2176.9"},{"server":1}]"#,
        )
        .unwrap();
        assert!(rows[0].is_ok() && rows[1].is_err());
        let rows = parse_inventory(
            "{\"server\":\"a\",\"build\":\"15.2\"}\nnot json\n",
        )
        .unwrap();
        assert!(rows[0].is_ok() && rows[1].is_err());
        assert!(looks_like_inventory("server,build\n"));
        assert!(!looks_like_inventory("15.1.2176.9\n"));
    }
}
