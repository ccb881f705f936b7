//! Days (UTC) for which a log holds records, and which record times are
//! plausible at all.
//!
//! A [`DaySet`] is a bitmap of days from [`FLOOR`]: a file's days cost a
//! few hundred bytes, merging is a bitwise or, and the days of a whole
//! exposure window are checked at once. [`Bounds`] says which days a
//! record of one file may carry: not before Exchange Server existed, not
//! after the run, not far from the date in the file's name
//! (`u_ex210314.log`, `HttpProxy_2021031401-1.LOG`) or its `#Date`
//! header. A line dated 1970 (or any other forged or corrupt time) then
//! cannot make thirty days of logs look like five years.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use vigie_model::hunt::DayRange;

/// The first day a record may carry: the release of Exchange Server
/// 2010, the oldest version vigie judges (Exchange 2013's HttpProxy
/// logs are younger still).
pub const FLOOR: NaiveDate = match NaiveDate::from_ymd_opt(2009, 11, 9) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// Days before the period a file's name or `#Date` gives that its
/// records may still carry (time zones, a file opened just before
/// midnight, weekly IIS files named after their week).
pub const BEFORE_NAME: i64 = 7;

/// Days after the end of the period a file's name gives that its
/// records may still carry (a quiet server's file stays open longer).
pub const AFTER_NAME: i64 = 31;

/// A set of days, as bits from [`FLOOR`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaySet {
    bits: Vec<u64>,
}

fn index(d: NaiveDate) -> Option<usize> {
    usize::try_from((d - FLOOR).num_days()).ok()
}

fn day_at(i: usize) -> NaiveDate {
    FLOOR + Duration::days(i as i64)
}

impl DaySet {
    /// Add a day (days before [`FLOOR`] are ignored: never plausible).
    pub fn insert(&mut self, d: NaiveDate) {
        let Some(i) = index(d) else { return };
        if self.bits.len() <= i / 64 {
            self.bits.resize(i / 64 + 1, 0);
        }
        self.bits[i / 64] |= 1 << (i % 64);
    }

    /// Whether a day is in the set.
    pub fn contains(&self, d: NaiveDate) -> bool {
        index(d).is_some_and(|i| {
            self.bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
        })
    }

    /// Add every day of `other`.
    pub fn union(&mut self, other: &DaySet) {
        if self.bits.len() < other.bits.len() {
            self.bits.resize(other.bits.len(), 0);
        }
        for (a, b) in self.bits.iter_mut().zip(&other.bits) {
            *a |= b;
        }
    }

    /// Days in the set.
    pub fn len(&self) -> u64 {
        self.bits.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|&w| w == 0)
    }

    /// First and last day in the set.
    pub fn span(&self) -> Option<(NaiveDate, NaiveDate)> {
        let first = self.bits.iter().position(|&w| w != 0)?;
        let last = self.bits.iter().rposition(|&w| w != 0)?;
        let lo = first * 64 + self.bits[first].trailing_zeros() as usize;
        let hi = last * 64 + 63 - self.bits[last].leading_zeros() as usize;
        Some((day_at(lo), day_at(hi)))
    }

    /// The runs of days of `from..=to` that are not in the set.
    pub fn missing(&self, from: NaiveDate, to: NaiveDate) -> Vec<DayRange> {
        let mut out = Vec::new();
        let mut run: Option<NaiveDate> = None;
        let mut d = from;
        while d <= to {
            match (self.contains(d), run) {
                (false, None) => run = Some(d),
                (true, Some(start)) => {
                    out.push(range(start, d - Duration::days(1)));
                    run = None;
                }
                _ => {}
            }
            d += Duration::days(1);
        }
        if let Some(start) = run {
            out.push(range(start, to));
        }
        out
    }
}

/// A [`DayRange`] from its ends.
pub fn range(from: NaiveDate, to: NaiveDate) -> DayRange {
    DayRange { from, to, days: (to - from).num_days() as u64 + 1 }
}

/// Why a record's day was not plausible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implausible {
    /// Before [`FLOOR`].
    BeforeProduct,
    /// After the day after the run.
    Future(NaiveDate),
    /// Far from the period in the file's name.
    Name(NaiveDate, NaiveDate),
    /// Far before the file's first `#Date` header.
    DateHeader(NaiveDate),
}

impl std::fmt::Display for Implausible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Implausible::BeforeProduct => {
                write!(f, "before Exchange Server existed ({FLOOR})")
            }
            Implausible::Future(run) => {
                write!(f, "after this run ({run})")
            }
            Implausible::Name(a, b) if a == b => {
                write!(f, "far from the date in the file's name ({a})")
            }
            Implausible::Name(a, b) => {
                write!(f, "far from the period in the file's name ({a}..{b})")
            }
            Implausible::DateHeader(d) => {
                write!(f, "long before the file's #Date header ({d})")
            }
        }
    }
}

/// Which days the records of one file may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The day of the run.
    today: NaiveDate,
    /// The period the file's name gives, if any.
    name: Option<(NaiveDate, NaiveDate)>,
    /// The file's first `#Date` header, if any.
    header: Option<NaiveDate>,
}

impl Bounds {
    /// Bounds for a file named `name` (no directory), read today.
    pub fn for_file(name: &str) -> Self {
        Bounds {
            today: Utc::now().date_naive(),
            name: name_period(name),
            header: None,
        }
    }

    /// The same bounds as of another day (tests).
    pub fn as_of(self, today: NaiveDate) -> Self {
        Bounds { today, ..self }
    }

    /// Note a `#Date:` header; only the first one counts (later headers
    /// follow restarts, later in time). `true` if it changed the bounds.
    pub fn date_header(&mut self, d: NaiveDate) -> bool {
        if self.header.is_some() {
            return false;
        }
        self.header = Some(d);
        true
    }

    /// Whether a record may carry day `d`.
    pub fn check(&self, d: NaiveDate) -> Result<(), Implausible> {
        if d < FLOOR {
            return Err(Implausible::BeforeProduct);
        }
        if d > self.today + Duration::days(1) {
            return Err(Implausible::Future(self.today));
        }
        if let Some((a, b)) = self.name
            && (d < a - Duration::days(BEFORE_NAME)
                || d > b + Duration::days(AFTER_NAME))
        {
            return Err(Implausible::Name(a, b));
        }
        if let Some(h) = self.header
            && d < h - Duration::days(BEFORE_NAME)
        {
            return Err(Implausible::DateHeader(h));
        }
        Ok(())
    }
}

/// The period a log's file name gives, first and last day:
/// IIS `u_exYYMM.log` (month), `u_exYYMMDD` (day), `u_exYYMMDDHH`
/// (hour); Exchange `<Name>_YYYYMMDDHH-N.LOG` (hour) or `_YYYYMMDD`.
pub fn name_period(name: &str) -> Option<(NaiveDate, NaiveDate)> {
    let lower = name.to_ascii_lowercase();
    let stem = lower.split('.').next().unwrap_or("");
    let iis = stem.strip_prefix("u_ex").or_else(|| stem.strip_prefix("ex"));
    let digits = |s: &str| -> String {
        s.chars().take_while(char::is_ascii_digit).collect()
    };
    if let Some(rest) = iis {
        let d = digits(rest);
        let yy: i32 = d.get(0..2)?.parse().ok()?;
        let mm: u32 = d.get(2..4)?.parse().ok()?;
        return match d.len() {
            4 => month(2000 + yy, mm),
            6 | 8 => day(2000 + yy, mm, d[4..6].parse().ok()?),
            _ => None,
        };
    }
    let (_, tail) = stem.rsplit_once('_')?;
    let d = digits(tail);
    if d.len() != 8 && d.len() != 10 {
        return None;
    }
    day(d[0..4].parse().ok()?, d[4..6].parse().ok()?, d[6..8].parse().ok()?)
}

fn day(y: i32, m: u32, d: u32) -> Option<(NaiveDate, NaiveDate)> {
    let d = NaiveDate::from_ymd_opt(y, m, d)?;
    Some((d, d))
}

fn month(y: i32, m: u32) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(y, m, 1)?;
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)?
    };
    let last = next.pred_opt()?;
    debug_assert_eq!(last.month(), m);
    Some((first, last))
}

/// A `YYYY-MM-DD` date from the first ten bytes of a record.
pub fn parse_day(raw: &[u8]) -> Option<NaiveDate> {
    if raw.len() < 10 || raw[4] != b'-' || raw[7] != b'-' {
        return None;
    }
    let num = |a: usize, b: usize| -> Option<u32> {
        raw[a..b].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)
}

/// The date of a `#Date: 2021-03-14 00:00:05` (IIS) or
/// `#Date: 2021-03-14T00:00:05.123Z` (Exchange) header line.
pub fn date_header(line: &[u8]) -> Option<NaiveDate> {
    let head = line.get(..6)?;
    if !head.eq_ignore_ascii_case(b"#date:") {
        return None;
    }
    parse_day(line[6..].trim_ascii_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn day_sets_merge_and_list_their_holes() {
        let mut a = DaySet::default();
        for s in ["2021-01-01", "2021-01-02", "2021-01-05", "2024-05-01"] {
            a.insert(d(s));
        }
        a.insert(d("1970-01-01")); // below the floor: ignored
        assert_eq!(a.len(), 4);
        assert_eq!(a.span(), Some((d("2021-01-01"), d("2024-05-01"))));
        let holes = a.missing(d("2020-12-31"), d("2021-01-06"));
        assert_eq!(
            holes,
            [
                range(d("2020-12-31"), d("2020-12-31")),
                range(d("2021-01-03"), d("2021-01-04")),
                range(d("2021-01-06"), d("2021-01-06")),
            ]
        );
        let mut b = DaySet::default();
        b.insert(d("2021-01-03"));
        b.insert(d("2021-01-04"));
        b.union(&a);
        assert!(b.missing(d("2021-01-01"), d("2021-01-05")).is_empty());
        assert!(DaySet::default().span().is_none());
    }

    #[test]
    fn names_give_periods() {
        let p = |n: &str| name_period(n);
        assert_eq!(
            p("u_ex210314.log"),
            Some((d("2021-03-14"), d("2021-03-14")))
        );
        assert_eq!(
            p("U_EX2103.LOG"),
            Some((d("2021-03-01"), d("2021-03-31")))
        );
        assert_eq!(
            p("ex21031408.log"),
            Some((d("2021-03-14"), d("2021-03-14")))
        );
        assert_eq!(
            p("HttpProxy_2021031401-1.LOG"),
            Some((d("2021-03-14"), d("2021-03-14")))
        );
        assert_eq!(p("u_ex211399.log"), None);
        assert_eq!(p("u_extend1.log"), None);
        assert_eq!(p("Security.evtx"), None);
        assert_eq!(p("events.json"), None);
    }

    #[test]
    fn implausible_days_are_told_apart() {
        let today = d("2026-01-01");
        let b = Bounds::for_file("u_ex240501.log").as_of(today);
        assert_eq!(b.check(d("1970-01-01")), Err(Implausible::BeforeProduct));
        assert_eq!(b.check(d("2099-01-01")), Err(Implausible::Future(today)));
        assert!(matches!(
            b.check(d("2020-12-01")),
            Err(Implausible::Name(..))
        ));
        assert_eq!(b.check(d("2024-05-01")), Ok(()));
        assert_eq!(b.check(d("2024-04-25")), Ok(()));
        let mut b = Bounds::for_file("events.log").as_of(today);
        assert_eq!(b.check(d("2020-12-01")), Ok(()));
        assert!(
            b.date_header(date_header(b"#Date: 2024-05-01 00:00:01").unwrap())
        );
        assert!(!b.date_header(d("2025-01-01")));
        assert_eq!(
            b.check(d("2020-12-01")),
            Err(Implausible::DateHeader(d("2024-05-01")))
        );
        assert_eq!(
            date_header(b"#Date: 2021-03-03T01:00:00.064Z"),
            Some(d("2021-03-03"))
        );
        assert_eq!(date_header(b"#Fields: date"), None);
    }
}
