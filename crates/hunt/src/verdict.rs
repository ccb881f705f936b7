//! From findings to one verdict per CVE family and one per server.
//!
//! A family's verdict is its strongest finding's grade (probe -> probed,
//! attempt -> attempted, exploited, compromised). A family with no
//! findings is `clean` only when the logs its rules read hold a record on
//! every day of its exposure window (see [`crate::coverage`]); otherwise
//! it is `inconclusive`: "nothing found in thirty days of logs" must
//! never read as "never attacked". The server's verdict is the strongest
//! family verdict, so it is `clean` only when every family is.
//!
//! Findings of the responder's own Sigma rules (`hunt --sigma`) judge no
//! family: a `high` or `critical` one makes the server at least
//! `suspicious` (between `inconclusive` and `probed`), never more than
//! vigie's own rules decide.

use vigie_model::Severity;
use vigie_model::hunt::{
    ExposureWindow, FamilyVerdict, WindowEnd, is_sigma_finding,
};
use vigie_model::{Family, Finding, Grade, Verdict};

pub use crate::coverage::sources_for;
use crate::coverage::{Coverage, label, show_range};

/// The families always judged, in report order (`Persistence` is listed
/// when its evidence was seen or it has findings, `Other` only when it
/// has findings).
pub const JUDGED: [Family; 6] = [
    Family::ProxyLogon,
    Family::ProxyShell,
    Family::ProxyNotShell,
    Family::Owassrf,
    Family::ProxyToken,
    Family::PostExploitation,
];

/// What the verdict is drawn from besides findings.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Merged coverage, with the windows.
    pub coverage: &'a Coverage,
    /// Whether Exchange's or IIS's web folders were on the evidence, so
    /// the on-disk web shell checks had something to look at.
    pub web_folders_seen: bool,
    /// What the persistence rules read, one phrase each (`3 cmdlet log
    /// file(s)`, `transport agent configuration`); empty when none of it
    /// was in the evidence.
    pub persistence_seen: &'a [String],
}

/// The server's verdict and the per-family ones.
pub fn judge(
    findings: &[Finding],
    ctx: &Context<'_>,
) -> (Verdict, Vec<FamilyVerdict>) {
    let mut families: Vec<FamilyVerdict> =
        JUDGED.iter().map(|&f| family(f, findings, ctx)).collect();
    if !ctx.persistence_seen.is_empty()
        || findings.iter().any(|f| f.family == Family::Persistence)
    {
        families.push(family(Family::Persistence, findings, ctx));
    }
    if findings
        .iter()
        .any(|f| f.family == Family::Other && !is_sigma_finding(f))
    {
        families.push(family(Family::Other, findings, ctx));
    }
    let overall = families
        .iter()
        .map(|f| f.verdict)
        .max()
        .unwrap_or(Verdict::Inconclusive);
    (overall.max(sigma_floor(findings)), families)
}

/// The least verdict the responder's Sigma findings ask for:
/// `suspicious` for a `high` or `critical` match, else none.
fn sigma_floor(findings: &[Finding]) -> Verdict {
    let strong = findings
        .iter()
        .any(|f| is_sigma_finding(f) && f.severity >= Severity::High);
    if strong { Verdict::Suspicious } else { Verdict::Clean }
}

fn family(
    fam: Family,
    findings: &[Finding],
    ctx: &Context<'_>,
) -> FamilyVerdict {
    let idx: Vec<usize> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.family == fam && !is_sigma_finding(f))
        .map(|(i, _)| i)
        .collect();
    let strongest = idx
        .iter()
        .map(|&i| &findings[i])
        .filter(|f| f.grade > Grade::Info)
        .max_by_key(|f| f.grade);
    let window = ctx.coverage.window(fam);
    let (verdict, reason) = match strongest {
        Some(f) => {
            let n = idx.len();
            let reason = format!(
                "{n} finding(s); strongest: {} {} ({})",
                f.rule_id,
                f.title,
                grade_word(f.grade)
            );
            (Verdict::from_grade(f.grade), reason)
        }
        None => {
            let (v, why) = quiet(fam, window.as_ref(), ctx);
            let why = if idx.is_empty() {
                why
            } else {
                format!("{} informational finding(s); {why}", idx.len())
            };
            (v, why)
        }
    };
    FamilyVerdict { family: fam, verdict, reason, findings: idx, window }
}

/// The verdict of a family with no findings.
fn quiet(
    fam: Family,
    window: Option<&ExposureWindow>,
    ctx: &Context<'_>,
) -> (Verdict, String) {
    if fam == Family::Persistence {
        return (
            Verdict::Clean,
            format!(
                "no mailbox rule, export, grant, rogue transport agent or \
                 page change found in: {}",
                ctx.persistence_seen.join(", ")
            ),
        );
    }
    let Some(w) = window else {
        return if ctx.web_folders_seen {
            (
                Verdict::Clean,
                "no web shell, dump or shell process found; Exchange/IIS \
                 web folders were checked on disk"
                    .to_string(),
            )
        } else {
            (
                Verdict::Inconclusive,
                "no findings, but no Exchange or IIS web folder was in the \
                 evidence, so web shells on disk could not be checked"
                    .to_string(),
            )
        };
    };
    let names: Vec<&str> =
        sources_for(fam).iter().map(|&s| label(s)).collect();
    let names = names.join(" or ");
    let inconclusive = |why: String| (Verdict::Inconclusive, why);
    match (w.to, w.ends) {
        (None, _) => inconclusive(format!(
            "no findings, but no log holds a dated record: the window from \
             {} cannot be seen",
            w.from
        )),
        (Some(to), WindowEnd::FixInstalled) if to < w.from => (
            Verdict::Clean,
            format!(
                "no findings; the fix was installed on {to}, before the \
                 window starts ({})",
                w.from
            ),
        ),
        (Some(to), WindowEnd::LastRecord) if to < w.from => {
            inconclusive(format!(
                "no findings, but the logs end on {to}, before the window \
                 starts ({}): exploitation after that cannot be ruled out",
                w.from
            ))
        }
        (Some(to), ends) if w.missing.is_empty() => {
            let end = match ends {
                WindowEnd::FixInstalled => "the fix was installed",
                WindowEnd::LastRecord => "the last record",
            };
            (
                Verdict::Clean,
                format!(
                    "no findings; {names} logs cover every day from {} to \
                     {to} ({end}), {} day(s)",
                    w.from, w.days
                ),
            )
        }
        (Some(to), _) => {
            let missing: u64 = w.missing.iter().map(|g| g.days).sum();
            let shown: Vec<String> =
                w.missing.iter().take(3).map(show_range).collect();
            let more = if w.missing.len() > 3 { ", ..." } else { "" };
            inconclusive(format!(
                "no findings, but {missing} of {} day(s) from {} to {to} \
                 have no {names} log ({}{more}): exploitation on those days \
                 cannot be ruled out",
                w.days,
                w.from,
                shown.join(", ")
            ))
        }
    }
}

/// The grade as written in JSON.
pub fn grade_word(g: Grade) -> &'static str {
    match g {
        Grade::Info => "info",
        Grade::Probe => "probe",
        Grade::Attempt => "attempt",
        Grade::Exploited => "exploited",
        Grade::Compromised => "compromised",
    }
}

#[cfg(test)]
mod tests;
