//! From findings to one verdict per CVE family and one per server.
//!
//! A family's verdict is its strongest finding's grade (probe -> probed,
//! attempt -> attempted, exploited, compromised). A family with no
//! findings is `clean` only when the logs its rules read reach back to
//! the exposure window; otherwise it is `inconclusive`: "nothing found in
//! thirty days of logs" must never read as "never attacked". The server's
//! verdict is the strongest family verdict, so it is `clean` only when
//! every family is.

use chrono::{DateTime, Utc};
use vigie_model::hunt::{FamilyVerdict, LogSource, SourceCoverage};
use vigie_model::{Family, Finding, Grade, Verdict};

use crate::coverage::{any_covers, label};

/// The families always judged, in report order (`Other` is listed only
/// when it has findings).
pub const JUDGED: [Family; 5] = [
    Family::ProxyLogon,
    Family::ProxyShell,
    Family::ProxyNotShell,
    Family::ProxyToken,
    Family::PostExploitation,
];

/// What the verdict is drawn from besides findings.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Merged per-source coverage.
    pub coverage: &'a [SourceCoverage],
    /// Start of the window the logs must cover.
    pub window: DateTime<Utc>,
    /// Whether Exchange's or IIS's web folders were on the evidence, so
    /// the on-disk web shell checks had something to look at.
    pub web_folders_seen: bool,
}

/// The logs whose rules can see a family's exploitation. ProxyLogon's
/// SSRF shows in HttpProxy (and its IIS requests); the later chains only
/// in IIS logs.
pub fn sources_for(family: Family) -> &'static [LogSource] {
    match family {
        Family::ProxyLogon => &[LogSource::HttpProxy, LogSource::Iis],
        Family::ProxyShell | Family::ProxyNotShell | Family::ProxyToken => {
            &[LogSource::Iis]
        }
        Family::PostExploitation | Family::Other => &[],
    }
}

/// The server's verdict and the per-family ones.
pub fn judge(
    findings: &[Finding],
    ctx: &Context<'_>,
) -> (Verdict, Vec<FamilyVerdict>) {
    let mut families: Vec<FamilyVerdict> =
        JUDGED.iter().map(|&f| family(f, findings, ctx)).collect();
    if findings.iter().any(|f| f.family == Family::Other) {
        families.push(family(Family::Other, findings, ctx));
    }
    let overall = families
        .iter()
        .map(|f| f.verdict)
        .max()
        .unwrap_or(Verdict::Inconclusive);
    (overall, families)
}

fn family(
    fam: Family,
    findings: &[Finding],
    ctx: &Context<'_>,
) -> FamilyVerdict {
    let idx: Vec<usize> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.family == fam)
        .map(|(i, _)| i)
        .collect();
    let strongest = idx
        .iter()
        .map(|&i| &findings[i])
        .filter(|f| f.grade > Grade::Info)
        .max_by_key(|f| f.grade);
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
        None => quiet(fam, ctx),
    };
    FamilyVerdict { family: fam, verdict, reason, findings: idx }
}

/// The verdict of a family with no findings.
fn quiet(fam: Family, ctx: &Context<'_>) -> (Verdict, String) {
    let day = ctx.window.format("%Y-%m-%d");
    if fam == Family::PostExploitation || fam == Family::Other {
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
    }
    let sources = sources_for(fam);
    let names: Vec<&str> = sources.iter().map(|&s| label(s)).collect();
    let names = names.join(" or ");
    if any_covers(ctx.coverage, sources) {
        (
            Verdict::Clean,
            format!("no findings; {names} logs reach back to {day}"),
        )
    } else {
        (
            Verdict::Inconclusive,
            format!(
                "no findings, but no {names} log reaches back to {day}: \
                 exploitation before the logs start cannot be ruled out"
            ),
        )
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
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeZone;
    use vigie_model::{Severity, SourceRef};

    use super::*;
    use crate::coverage::merge;

    fn f(rule: &str, family: Family, grade: Grade) -> Finding {
        Finding {
            rule_id: rule.into(),
            title: "t".into(),
            family,
            grade,
            severity: Severity::Info,
            cves: vec![],
            attack: vec![],
            timestamp: None,
            source: SourceRef::default(),
            summary: String::new(),
            details: BTreeMap::new(),
        }
    }

    fn window() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2021, 1, 1, 0, 0, 0).unwrap()
    }

    fn covered(sources: &[LogSource]) -> Vec<SourceCoverage> {
        let early = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
        merge(
            sources.iter().map(|&source| SourceCoverage {
                source,
                files: 1,
                records: 1,
                first: Some(early),
                last: Some(early),
                covers_window: true,
            }),
            window(),
        )
    }

    fn ctx(cov: &[SourceCoverage], web: bool) -> Context<'_> {
        Context { coverage: cov, window: window(), web_folders_seen: web }
    }

    #[test]
    fn no_findings_without_coverage_is_inconclusive_never_clean() {
        let cov = merge([], window());
        let (v, fams) = judge(&[], &ctx(&cov, true));
        assert_eq!(v, Verdict::Inconclusive);
        assert_eq!(fams.len(), 5);
        assert!(fams[0].reason.contains("cannot be ruled out"));
        assert_eq!(fams[4].verdict, Verdict::Clean);
    }

    #[test]
    fn covering_logs_and_checked_web_folders_make_clean() {
        let cov = covered(&[LogSource::HttpProxy, LogSource::Iis]);
        let (v, fams) = judge(&[], &ctx(&cov, true));
        assert_eq!(v, Verdict::Clean);
        assert!(fams.iter().all(|f| f.verdict == Verdict::Clean));
        let (v, _) = judge(&[], &ctx(&cov, false));
        assert_eq!(v, Verdict::Inconclusive);
        // HttpProxy alone leaves the IIS-only families open.
        let cov = covered(&[LogSource::HttpProxy]);
        let (v, fams) = judge(&[], &ctx(&cov, true));
        assert_eq!(v, Verdict::Inconclusive);
        assert_eq!(fams[0].verdict, Verdict::Clean);
        assert_eq!(fams[1].verdict, Verdict::Inconclusive);
    }

    #[test]
    fn strongest_grade_per_family_and_overall() {
        let cov = merge([], window());
        let findings = [
            f("VG-PL-001", Family::ProxyLogon, Grade::Probe),
            f("VG-PL-004", Family::ProxyLogon, Grade::Exploited),
            f("VG-IIS-002", Family::ProxyShell, Grade::Attempt),
            f("X", Family::Other, Grade::Info),
        ];
        let (v, fams) = judge(&findings, &ctx(&cov, true));
        assert_eq!(v, Verdict::Exploited);
        assert_eq!(fams[0].verdict, Verdict::Exploited);
        assert_eq!(fams[0].findings, [0, 1]);
        assert!(fams[0].reason.contains("VG-PL-004"));
        assert_eq!(fams[1].verdict, Verdict::Attempted);
        // Info-only families are judged on coverage, not the finding.
        assert_eq!(fams[5].family, Family::Other);
        assert_eq!(fams[5].findings, [3]);
        let probe = [f("VG-PL-001", Family::ProxyLogon, Grade::Probe)];
        assert_eq!(judge(&probe, &ctx(&cov, true)).0, Verdict::Probed);
        let shell =
            [f("VG-EV-002", Family::PostExploitation, Grade::Compromised)];
        assert_eq!(judge(&shell, &ctx(&cov, true)).0, Verdict::Compromised);
    }
}
