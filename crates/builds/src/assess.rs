//! The judgement: CVE states, support, days behind, the upgrade path.
//!
//! CVE rule (builds-and-scanning.md §2.1): a fix released as an SU covers
//! only its own CU line; a fix shipped in a CU, RU or RTM covers every
//! later build of the product; a product with no fix row is not affected.
//! Everything is judged as of a date: builds and CVEs released later do
//! not exist yet.

use chrono::NaiveDate;
use vigie_model::build::{
    CveState, CveStatus, PatchAssessment, Precision, SupportState, UpgradeStep,
};

use crate::error::BuildError;
use crate::locate::Located;
use crate::parse::{ParsedBuild, parse_build};
use crate::table::{CveInfo, Fix, Kind, Row, Table, ver_string};

/// A CVE judgement and, when a fix is missing, when it came out.
struct Judged {
    status: CveStatus,
    missing_since: Option<NaiveDate>,
}

impl Table {
    /// Judge a build string as of a date.
    pub fn assess(
        &self,
        input: &str,
        as_of: NaiveDate,
    ) -> Result<PatchAssessment, BuildError> {
        let parsed = parse_build(input)?;
        Ok(self.assess_parsed(input, &parsed, as_of))
    }

    /// Judge an already parsed build (e.g. from a PE version resource).
    pub fn assess_parsed(
        &self,
        input: &str,
        parsed: &ParsedBuild,
        as_of: NaiveDate,
    ) -> PatchAssessment {
        let m = self.locate(parsed);
        let judged: Vec<Judged> = self
            .cves
            .iter()
            .filter(|c| c.published <= as_of)
            .map(|c| self.judge(c, &m, as_of))
            .collect();
        let support = self.support(&m, as_of);
        let days_behind = self.days_behind(&m, &judged, as_of);
        let mut notes = m.notes.clone();
        if let Some(row) = m.row.map(|i| &self.rows[i])
            && row.date > as_of
        {
            notes
                .push(format!("released {} (after the as-of date)", row.date));
        }
        PatchAssessment {
            input: input.to_string(),
            build: parsed.to_string(),
            precision: m.precision,
            product: m.product.map(|p| self.products[p].name.clone()),
            cu: m.cu.clone(),
            su: m.su.clone(),
            release_date: m.row.map(|i| self.rows[i].date),
            match_note: notes.join("; "),
            support,
            latest_su_installed: self.latest_su(&m, as_of),
            days_behind,
            upgrade_path: self.upgrade_path(&m, support, as_of),
            cves: judged.into_iter().map(|j| j.status).collect(),
            as_of,
        }
    }

    fn judge(&self, cve: &CveInfo, m: &Located, as_of: NaiveDate) -> Judged {
        let mut status = CveStatus {
            cve: cve.cve.clone(),
            family: cve.family.clone(),
            name: cve.name.clone(),
            cvss: cve.cvss,
            known_exploited: cve.known_exploited,
            state: CveState::Unknown,
            fixed_in: None,
            config_note: None,
        };
        let Some(product) = m.product else {
            return Judged { status, missing_since: None };
        };
        let fixes: Vec<&Fix> = cve
            .fixes
            .iter()
            .filter(|f| self.rows[f.row].product == product)
            .collect();
        if fixes.is_empty() {
            status.state = CveState::NotAffected;
            return Judged { status, missing_since: None };
        }
        let released: Vec<&Fix> = fixes
            .iter()
            .copied()
            .filter(|f| self.rows[f.row].date <= as_of)
            .collect();
        let (state, fix) = self.state_of(&fixes, &released, m);
        status.state = state;
        status.fixed_in = fix.map(|f| ver_string(self.rows[f.row].v));
        if state == CveState::PatchedConfigNeeded {
            status.config_note = fix.and_then(|f| f.config_note.clone());
        }
        let missing_since = (state == CveState::Vulnerable)
            .then(|| released.iter().map(|f| self.rows[f.row].date).min())
            .flatten();
        Judged { status, missing_since }
    }

    /// The state of one CVE given the product's fixes. Whether a build
    /// contains a fix does not depend on the date (`all`); whether a fix
    /// was there to install does (`released`).
    fn state_of<'a>(
        &self,
        all: &[&'a Fix],
        released: &[&'a Fix],
        m: &Located,
    ) -> (CveState, Option<&'a Fix>) {
        let fixes = all;
        if m.precision == Precision::ProductOnly || m.interim {
            return (CveState::Unknown, None);
        }
        let Some(line) = m.line else {
            // Past the table: a later CU carries every earlier fix.
            return match fixes.iter().find(|f| f.config_note.is_none()) {
                Some(f) => (CveState::Patched, Some(f)),
                None => match fixes.first() {
                    Some(f) => (CveState::PatchedConfigNeeded, Some(f)),
                    None => (CveState::Vulnerable, None),
                },
            };
        };
        let base = self.rows[self.lines[line].rows[0]].v;
        let point = m.point.unwrap_or(base);
        let on_line = |f: &&&Fix| self.lines[line].rows.contains(&f.row);
        for config in [false, true] {
            let wanted = |f: &&&Fix| f.config_note.is_some() == config;
            let state = if config {
                CveState::PatchedConfigNeeded
            } else {
                CveState::Patched
            };
            let cumulative = fixes.iter().filter(wanted).find(|f| {
                let r = &self.rows[f.row];
                r.kind != Kind::Su && !on_line(f) && r.v <= point
            });
            if let Some(f) = cumulative {
                return (state, Some(f));
            }
            if let Some(f) = fixes.iter().filter(wanted).find(on_line) {
                if self.rows[f.row].v <= base {
                    return (state, Some(f));
                }
                if m.point.is_none() && released.iter().any(|r| r.row == f.row)
                {
                    return (CveState::Unknown, Some(f));
                }
                if self.rows[f.row].v <= point {
                    return (state, Some(f));
                }
            }
        }
        (CveState::Vulnerable, self.next_fix(released, line, point))
    }

    /// The fix to install: on the same line if any, else the first later
    /// CU that carries it.
    fn next_fix<'a>(
        &self,
        fixes: &[&'a Fix],
        line: usize,
        point: [u32; 4],
    ) -> Option<&'a Fix> {
        let rows = &self.lines[line].rows;
        if let Some(f) = fixes.iter().find(|f| rows.contains(&f.row)) {
            return Some(f);
        }
        fixes
            .iter()
            .filter(|f| {
                let r = &self.rows[f.row];
                r.kind != Kind::Su && r.v > point
            })
            .min_by_key(|f| self.rows[f.row].v)
            .copied()
    }

    fn support(&self, m: &Located, as_of: NaiveDate) -> SupportState {
        let Some(product) = m.product else {
            return SupportState::Unknown;
        };
        let eos = self.products[product].end_of_support;
        if eos.is_some_and(|d| d <= as_of) {
            return SupportState::ProductEndOfLife;
        }
        let Some(line) = m.line else {
            return SupportState::Unknown;
        };
        let mut lines: Vec<usize> = (0..self.lines.len())
            .filter(|&l| self.lines[l].product == product)
            .filter(|&l| l == line || self.line_base(l).date <= as_of)
            .collect();
        lines.sort_by_key(|&l| self.line_base(l).v);
        let newest_two = &lines[lines.len().saturating_sub(2)..];
        if newest_two.contains(&line) {
            SupportState::Supported
        } else {
            SupportState::CuUnsupported
        }
    }

    fn line_base(&self, line: usize) -> &Row {
        &self.rows[self.lines[line].rows[0]]
    }

    /// The newest build of a line released by the date.
    fn line_latest(&self, line: usize, as_of: NaiveDate) -> &Row {
        let rows = &self.lines[line].rows;
        rows.iter()
            .rev()
            .map(|&i| &self.rows[i])
            .find(|r| r.date <= as_of)
            .unwrap_or(&self.rows[rows[0]])
    }

    fn latest_su(&self, m: &Located, as_of: NaiveDate) -> Option<bool> {
        let (mut line, point) = (m.line?, m.point?);
        // Exchange 2010 rollups are cumulative lines of their own: the
        // "latest update" is the newest rollup of the product.
        if self.line_base(line).kind == Kind::Ru {
            line = self.newest_line(self.lines[line].product, as_of)?;
        }
        Some(point >= self.line_latest(line, as_of).v)
    }

    fn days_behind(
        &self,
        m: &Located,
        judged: &[Judged],
        as_of: NaiveDate,
    ) -> Option<i64> {
        let mut since: Vec<NaiveDate> =
            judged.iter().filter_map(|j| j.missing_since).collect();
        if let (Some(line), Some(point)) = (m.line, m.point) {
            let missed = self.lines[line]
                .rows
                .iter()
                .map(|&i| &self.rows[i])
                .filter(|r| r.v > point && r.date <= as_of)
                .map(|r| r.date);
            since.extend(missed);
        } else if since.is_empty() {
            return None;
        }
        let first = since.into_iter().min();
        Some(first.map_or(0, |d| (as_of - d).num_days().max(0)))
    }

    fn newest_line(&self, product: usize, as_of: NaiveDate) -> Option<usize> {
        (0..self.lines.len())
            .filter(|&l| self.lines[l].product == product)
            .filter(|&l| self.line_base(l).date <= as_of)
            .max_by_key(|&l| self.line_base(l).v)
    }

    fn upgrade_path(
        &self,
        m: &Located,
        support: SupportState,
        as_of: NaiveDate,
    ) -> Vec<UpgradeStep> {
        let mut steps = Vec::new();
        let Some(product) = m.product else { return steps };
        if m.interim || (m.newer && m.line.is_none()) {
            return steps;
        }
        let target = match support {
            SupportState::Supported => m.line,
            _ => self.newest_line(product, as_of),
        };
        if let Some(target) = target {
            self.line_steps(m, target, as_of, &mut steps);
        }
        if support == SupportState::ProductEndOfLife
            && let Some(step) = self.migration(as_of)
        {
            steps.push(step);
        }
        steps
    }

    fn line_steps(
        &self,
        m: &Located,
        target: usize,
        as_of: NaiveDate,
        steps: &mut Vec<UpgradeStep>,
    ) {
        let base = self.line_base(target);
        let same = m.line == Some(target);
        if !same {
            steps.push(step(format!("install {}", base.cu), base));
        }
        let latest = self.line_latest(target, as_of);
        if latest.v == base.v {
            return;
        }
        let su = latest.su.clone().unwrap_or_else(|| latest.name.clone());
        match (same, m.point) {
            (false, _) => steps.push(step(format!("install {su}"), latest)),
            (true, Some(p)) if p < latest.v => {
                steps.push(step(format!("install {su}"), latest));
            }
            (true, None) => steps.push(step(
                format!("make sure {su} is installed (SU level not visible)"),
                latest,
            )),
            _ => {}
        }
    }

    /// Move to the newest product still supported on the date.
    fn migration(&self, as_of: NaiveDate) -> Option<UpgradeStep> {
        let product = (0..self.products.len())
            .filter(|&p| {
                self.products[p].end_of_support.is_none_or(|d| d > as_of)
            })
            .filter_map(|p| self.newest_line(p, as_of).map(|l| (p, l)))
            .max_by_key(|&(_, l)| self.line_base(l).v)?;
        let latest = self.line_latest(product.1, as_of);
        let name = &self.products[product.0].name;
        Some(step(format!("migrate to {name}"), latest))
    }
}

fn step(action: String, row: &Row) -> UpgradeStep {
    UpgradeStep { action, build: ver_string(row.v), name: row.name.clone() }
}
