//! Where a parsed build sits in the table: product, CU line, exact row.
//!
//! The rule (builds-and-scanning.md §1.4): match the CU line on the first
//! three parts, then floor on the revision within that line only. Anything
//! the table cannot vouch for is said in a note, never guessed.

use vigie_model::build::Precision;

use crate::parse::ParsedBuild;
use crate::table::{Table, Ver, ver_string};

/// The result of placing a build in the table.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub product: Option<usize>,
    pub line: Option<usize>,
    /// The build to compare against fixes (exact inputs only).
    pub point: Option<Ver>,
    /// What the judgement can rely on (may be lower than the input's).
    pub precision: Precision,
    /// The published row matched exactly, if any.
    pub row: Option<usize>,
    pub cu: Option<String>,
    pub su: Option<String>,
    /// Past every build of its CU line or product in the table.
    pub newer: bool,
    /// A CU line the table does not know, inside the known range.
    pub interim: bool,
    pub notes: Vec<String>,
}

impl Table {
    pub(crate) fn locate(&self, p: &ParsedBuild) -> Located {
        let mut m = Located {
            product: self.product_of(p.major, p.minor, p.build),
            line: None,
            point: None,
            precision: p.precision(),
            row: None,
            cu: None,
            su: None,
            newer: false,
            interim: false,
            notes: Vec::new(),
        };
        match p.build {
            None => self.product_only(&mut m, p),
            Some(b) => match self.line_of.get(&[p.major, p.minor, b]) {
                Some(&line) => self.in_line(&mut m, line, p),
                None => self.unknown_line(&mut m, p, b),
            },
        }
        // A specific note on a disputed build replaces the generic one.
        if let Some(note) = p.full().and_then(|v| self.notes.get(&v)) {
            if m.row.is_none() {
                m.notes.clear();
            }
            m.notes.push(note.clone());
        }
        m
    }

    fn product_only(&self, m: &mut Located, p: &ParsedBuild) {
        let mut note = "product-level build (2 parts): neither the CU nor \
                        the SU can be seen"
            .to_string();
        if (p.major, p.minor) == (15, 2) {
            note.push_str(
                "; 15.2 is Exchange 2019 or SE (SE from build 2562)",
            );
        }
        m.notes.push(note);
    }

    fn base_row(&self, line: usize) -> usize {
        self.lines[line].rows[0]
    }

    fn in_line(&self, m: &mut Located, line: usize, p: &ParsedBuild) {
        m.line = Some(line);
        m.cu = Some(self.rows[self.base_row(line)].cu.clone());
        match p.full() {
            Some(v) => self.in_line_exact(m, line, v),
            None => m.notes.push(
                "CU-level build (3 parts, as in the OWA path or \
                 AdminDisplayVersion): the SU cannot be seen"
                    .to_string(),
            ),
        }
    }

    fn in_line_exact(&self, m: &mut Located, line: usize, v: Ver) {
        let rows = &self.lines[line].rows;
        let base = &self.rows[rows[0]];
        let last = &self.rows[rows[rows.len() - 1]];
        if let Some(i) = self.row_index(v) {
            let row = &self.rows[i];
            m.row = Some(i);
            m.point = Some(v);
            m.su = row.su.clone();
            m.cu = Some(row.cu.clone());
            m.notes.push("published build".to_string());
        } else if v < base.v {
            m.precision = Precision::CuOnly;
            m.notes.push(format!(
                "revision {} is below the first published build of {} \
                 ({}): the CU is certain, the SU level is not",
                v[3],
                base.cu,
                ver_string(base.v)
            ));
        } else if v > last.v {
            m.point = Some(v);
            m.newer = true;
            m.notes.push(format!(
                "newer than every {} build in the table (latest {} {}, \
                 table as of {}): probably a later update; judged by number",
                base.cu,
                last.name,
                ver_string(last.v),
                self.as_of()
            ));
        } else {
            m.point = Some(v);
            self.between(m, line, v);
        }
    }

    fn between(&self, m: &mut Located, line: usize, v: Ver) {
        if let Some(extra) = self.extra.get(&v) {
            m.su = extra.su.clone();
            m.notes.push(format!(
                "listed only by secondary sources (eightwone.com) as {}; \
                 judged by number",
                extra.name
            ));
            return;
        }
        let rows = &self.lines[line].rows;
        let below = rows.iter().rev().find(|&&i| self.rows[i].v < v);
        let above = rows.iter().find(|&&i| self.rows[i].v > v);
        if let (Some(&lo), Some(&hi)) = (below, above) {
            let (lo, hi) = (&self.rows[lo], &self.rows[hi]);
            m.notes.push(format!(
                "unpublished revision between {} ({}) and {} ({}); \
                 judged by number",
                lo.name,
                ver_string(lo.v),
                hi.name,
                ver_string(hi.v)
            ));
        }
    }

    fn unknown_line(&self, m: &mut Located, p: &ParsedBuild, build: u32) {
        if let Some(alias) = p.full().and_then(|v| self.alias(v)) {
            let line =
                self.line_of[&[p.major, p.minor, self.rows[alias].v[2]]];
            m.line = Some(line);
            m.cu = Some(self.rows[alias].cu.clone());
            m.precision = Precision::CuOnly;
            return;
        }
        let Some(product) = m.product else { return };
        let newest = self
            .lines
            .iter()
            .filter(|l| l.product == product)
            .map(|l| self.rows[l.rows[0]].v[2])
            .max();
        let name = &self.products[product].name;
        let short = format!("{}.{}.{build}", p.major, p.minor);
        if newest.is_none_or(|n| build > n) {
            m.newer = true;
            m.point = p.full();
            m.notes.push(format!(
                "newer than every {name} build in the table (as of {}): a \
                 later CU; CVEs the table does not know are not judged; \
                 load a newer table with --builds",
                self.as_of()
            ));
        } else {
            m.interim = true;
            m.notes.push(format!(
                "{short} is not a published CU of {name} (preview or \
                 interim build?): patch level not judged"
            ));
        }
    }

    /// A secondary-source build that names a published base build
    /// (e.g. 2010 RU16 as 14.3.339.0 instead of 14.3.336.0).
    fn alias(&self, v: Ver) -> Option<usize> {
        let extra = self.extra.get(&v)?;
        self.rows
            .iter()
            .position(|r| r.product == extra.product && r.name == extra.name)
    }
}
