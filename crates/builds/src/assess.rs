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

/// Judging a date this many days past the table's as-of date gets a
/// warning that newer updates may exist.
pub const STALE_DAYS: i64 = 60;

/// What to fix first: known exploited, then CVSS, then newest.
fn priority(a: &CveStatus, b: &CveStatus) -> std::cmp::Ordering {
    let score = |c: &CveStatus| c.cvss.unwrap_or(-1.0);
    b.known_exploited
        .cmp(&a.known_exploited)
        .then(score(b).total_cmp(&score(a)))
        .then(b.cve.cmp(&a.cve))
}

/// The state of one CVE, the fix that decides it, and since when a
/// missing fix was available.
struct Verdict<'a> {
    state: CveState,
    fix: Option<&'a Fix>,
    missing_since: Option<NaiveDate>,
}

/// A CVE judgement and, when a fix is missing, when it came out.
struct Judged {
    status: CveStatus,
    missing_since: Option<NaiveDate>,
    /// Index of the CVE in the table.
    index: usize,
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
            .enumerate()
            .filter(|(_, c)| c.published <= as_of)
            .map(|(index, c)| Judged { index, ..self.judge(c, &m, as_of) })
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
        let mut upgrade_path = self.upgrade_path(&m, support, as_of);
        self.count_closes(&mut upgrade_path, &judged, as_of);
        let mut cves: Vec<CveStatus> =
            judged.into_iter().map(|j| j.status).collect();
        cves.sort_by(priority);
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
            latest_update: self.latest_update(&m, as_of),
            days_behind,
            upgrade_path,
            cves,
            as_of,
            table_as_of: Some(self.as_of),
            freshness: self.freshness(as_of),
        }
    }

    /// When judging well past the table's as-of date, say that newer
    /// updates may exist and how to load them (HealthChecker warns the
    /// same way when its build table is out of date).
    pub fn freshness(&self, as_of: NaiveDate) -> Option<String> {
        let days = (as_of - self.as_of).num_days();
        (days > STALE_DAYS).then(|| {
            format!(
                "the build and CVE table is as of {} ({days} days before {as_of}): \
                 newer Exchange updates and CVEs may exist that vigie does not know; \
                 load them with --builds FILE and --cves FILE (docs/check.md) or use a newer vigie",
                self.as_of
            )
        })
    }

    /// The newest update of the build's CU line, `Aug26SU (ESU-only)`.
    fn latest_update(&self, m: &Located, as_of: NaiveDate) -> Option<String> {
        let line = m.line?;
        let r = self.line_latest(line, as_of);
        let name = r.su.clone().unwrap_or_else(|| r.name.clone());
        Some(match r.esu_only {
            true => format!("{name} (ESU-only)"),
            false => name,
        })
    }

    /// For each step, how many of the build's open CVEs it closes.
    fn count_closes(
        &self,
        steps: &mut [UpgradeStep],
        judged: &[Judged],
        as_of: NaiveDate,
    ) {
        let open: Vec<&CveInfo> = judged
            .iter()
            .filter(|j| j.status.state == CveState::Vulnerable)
            .map(|j| &self.cves[j.index])
            .collect();
        for s in steps {
            let Ok(parsed) = parse_build(&s.build) else { continue };
            let m = self.locate(&parsed);
            s.closes = open
                .iter()
                .filter(|c| {
                    self.verdict(c, &m, as_of).state != CveState::Vulnerable
                })
                .count();
        }
    }

    fn judge(&self, cve: &CveInfo, m: &Located, as_of: NaiveDate) -> Judged {
        let v = self.verdict(cve, m, as_of);
        let status = CveStatus {
            cve: cve.cve.clone(),
            family: cve.family.clone(),
            impact: cve.impact.clone(),
            name: cve.name.clone(),
            cvss: cve.cvss,
            known_exploited: cve.known_exploited,
            state: v.state,
            fixed_in: v.fix.map(|f| self.fix_text(f)),
            config_note: config_note(cve, v.state),
        };
        Judged { status, missing_since: v.missing_since, index: 0 }
    }

    /// The state of one CVE for a located build, without building the
    /// reported record (the upgrade path asks this for every open CVE at
    /// every step).
    fn verdict<'a>(
        &self,
        cve: &'a CveInfo,
        m: &Located,
        as_of: NaiveDate,
    ) -> Verdict<'a> {
        let mut v = Verdict {
            state: CveState::Unknown,
            fix: None,
            missing_since: None,
        };
        let Some(product) = m.product else { return v };
        let fixes: Vec<&Fix> = cve
            .fixes
            .iter()
            .filter(|f| self.rows[f.row].product == product)
            .collect();
        if fixes.is_empty() {
            v.state = CveState::NotAffected;
            return v;
        }
        let released: Vec<&Fix> = fixes
            .iter()
            .copied()
            .filter(|f| self.rows[f.row].date <= as_of)
            .collect();
        let (mut state, fix) = self.state_of(&fixes, &released, m);
        if state == CveState::Patched && cve.config.is_some() {
            state = CveState::PatchedConfigNeeded;
        }
        v.state = state;
        v.fix = fix;
        v.missing_since = (state == CveState::Vulnerable)
            .then(|| released.iter().map(|f| self.rows[f.row].date).min())
            .flatten();
        v
    }

    /// `15.1.2507.72`, or `15.1.2507.72 (ESU-only)`.
    fn fix_text(&self, f: &Fix) -> String {
        let r = &self.rows[f.row];
        match r.esu_only {
            true => format!("{} (ESU-only)", ver_string(r.v)),
            false => ver_string(r.v),
        }
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
            return match fixes.first() {
                Some(f) => (CveState::Patched, Some(f)),
                None => (CveState::Vulnerable, None),
            };
        };
        let base = self.rows[self.lines[line].rows[0]].v;
        let point = m.point.unwrap_or(base);
        let on_line = |f: &&&Fix| self.lines[line].rows.contains(&f.row);
        let cumulative = fixes.iter().find(|f| {
            let r = &self.rows[f.row];
            r.kind != Kind::Su && !on_line(f) && r.v <= point
        });
        if let Some(f) = cumulative {
            return (CveState::Patched, Some(f));
        }
        if let Some(f) = fixes.iter().find(on_line) {
            if self.rows[f.row].v <= base {
                return (CveState::Patched, Some(f));
            }
            if m.point.is_none() && released.iter().any(|r| r.row == f.row) {
                return (CveState::Unknown, Some(f));
            }
            if self.rows[f.row].v <= point {
                return (CveState::Patched, Some(f));
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
        // Past end of support, a CU line that still gets ESU-only updates
        // is kept: updating it is the ESU choice, SE the other one.
        let esu_line = m.line.filter(|&l| {
            support == SupportState::ProductEndOfLife
                && self.line_latest(l, as_of).esu_only
        });
        let target = match support {
            SupportState::Supported => m.line,
            _ => esu_line.or_else(|| self.newest_line(product, as_of)),
        };
        if let Some(target) = target {
            self.line_steps(m, target, as_of, &mut steps);
        }
        if support == SupportState::ProductEndOfLife
            && let Some(mut step) = self.migration(as_of)
        {
            if steps.iter().any(|s| s.esu_only) {
                step.action = format!("or, without ESU: {}", step.action);
            }
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
        let esu = |r: &Row, text: String| match r.esu_only {
            true => format!(
                "{text} (ESU-only: needs Extended Security Update enrolment)"
            ),
            false => text,
        };
        let latest = self.line_latest(target, as_of);
        if latest.v == base.v {
            return;
        }
        let su = latest.su.clone().unwrap_or_else(|| latest.name.clone());
        match (same, m.point) {
            (false, _) => {
                steps.push(step(esu(latest, format!("install {su}")), latest))
            }
            (true, Some(p)) if p < latest.v => {
                steps.push(step(esu(latest, format!("install {su}")), latest));
            }
            (true, None) => steps.push(step(
                esu(
                    latest,
                    format!(
                        "make sure {su} is installed (SU level not visible)"
                    ),
                ),
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
    UpgradeStep {
        action,
        build: ver_string(row.v),
        name: row.name.clone(),
        esu_only: row.esu_only,
        closes: 0,
    }
}

/// What the configuration must be for a fixed CVE, and how to confirm
/// it; for a CVE whose mitigation must stay, also while it is open.
fn config_note(cve: &CveInfo, state: CveState) -> Option<String> {
    let c = cve.config.as_ref()?;
    let wanted = state == CveState::PatchedConfigNeeded
        || (state == CveState::Vulnerable
            && c.requirement == "keep_mitigation");
    wanted.then(|| format!("{} (confirm: {})", c.what, c.confirm))
}
