use chrono::TimeZone;

use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d(s).and_hms_opt(12, 0, 0).unwrap())
}

/// One file of `source` with a record on every day of `from..=to`
/// except `holes`.
pub(crate) fn file(
    source: LogSource,
    from: &str,
    to: &str,
    holes: &[&str],
) -> FileCoverage {
    let mut days = DaySet::default();
    let mut day = d(from);
    while day <= d(to) {
        if !holes.contains(&day.to_string().as_str()) {
            days.insert(day);
        }
        day += Duration::days(1);
    }
    FileCoverage {
        coverage: SourceCoverage {
            files: 1,
            records: days.len(),
            first: Some(t(from)),
            last: Some(t(to)),
            ..empty(source)
        },
        days,
    }
}

#[test]
fn files_merge_per_source_with_their_days_and_gaps() {
    let cov = merge(
        [
            file(LogSource::Iis, "2020-12-01", "2021-02-01", &[]),
            file(
                LogSource::Iis,
                "2021-02-02",
                "2022-12-31",
                &["2021-03-04", "2021-03-05"],
            ),
            file(LogSource::HttpProxy, "2022-01-01", "2022-12-31", &[]),
        ],
        WindowOptions::default(),
    );
    assert_eq!(cov.sources.len(), 8);
    assert_eq!(cov.last_day, Some(d("2022-12-31")));
    let iis = &cov.sources[3];
    assert_eq!(iis.files, 2);
    assert_eq!(iis.first, Some(t("2020-12-01")));
    assert_eq!(iis.gaps, [days::range(d("2021-03-04"), d("2021-03-05"))]);
    assert!(!iis.covers_window, "a gap is not coverage");
    let proxy = &cov.sources[0];
    assert!(proxy.gaps.is_empty(), "late start is no gap");
    assert!(!proxy.covers_window);
    // ProxyLogon: IIS or HttpProxy, the IIS gap falls before HttpProxy.
    let pl = cov.window(Family::ProxyLogon).unwrap();
    assert_eq!((pl.from, pl.to), (d("2021-01-01"), Some(d("2022-12-31"))));
    assert_eq!(pl.missing.len(), 1);
    // ProxyNotShell starts after the gap: covered.
    assert!(cov.window(Family::ProxyNotShell).unwrap().missing.is_empty());
    assert!(cov.window(Family::PostExploitation).is_none());
    let gaps = cov.gap_findings();
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].rule_id, GAP_RULE);
    assert_eq!(gaps[0].grade, Grade::Info);
    assert_eq!(gaps[0].details["days"], "2");
    let warn = warnings(&cov);
    assert!(warn.iter().any(|w| w.contains("2 day(s) without")), "{warn:?}");
    assert!(warn.iter().any(|w| w.contains("OABGenerator: no log files")));
    assert!(!warn.iter().any(|w| w.contains("JSON")), "{warn:?}");
}

#[test]
fn windows_follow_since_and_the_fix_date() {
    let iis = || file(LogSource::Iis, "2021-06-01", "2023-01-31", &[]);
    let opts = WindowOptions {
        since: Some(d("2021-06-01")),
        fixed_on: BTreeMap::from([(Family::ProxyShell, d("2021-07-20"))]),
    };
    let cov = merge([iis()], opts);
    let ps = cov.window(Family::ProxyShell).unwrap();
    assert_eq!(ps.ends, WindowEnd::FixInstalled);
    assert_eq!((ps.from, ps.to), (d("2021-06-01"), Some(d("2021-07-20"))));
    assert!(ps.missing.is_empty());
    let pl = cov.window(Family::ProxyLogon).unwrap();
    assert_eq!(pl.ends, WindowEnd::LastRecord);
    assert_eq!(pl.days, 610);
    // Without --since, ProxyLogon needs January 2021.
    let cov = merge([iis()], WindowOptions::default());
    let pl = cov.window(Family::ProxyLogon).unwrap();
    assert_eq!(pl.missing, [days::range(d("2021-01-01"), d("2021-05-31"))]);
    // No logs: no end, nothing covered.
    let cov = merge([], WindowOptions::default());
    assert_eq!(cov.window(Family::ProxyLogon).unwrap().to, None);
    assert!(!cov.sources.iter().any(|c| c.covers_window));
}
