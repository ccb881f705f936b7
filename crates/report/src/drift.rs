//! Configuration drift between two server-health runs (`vigie check
//! --host --db`): per server, each judgement whose status changed (for
//! example Extended Protection on a virtual directory going from `ok` to
//! `fail`), appeared or went away, and each CVE whose state changed.
//!
//! Judgements are matched by server name, id and subject; a judgement
//! that repeats with the same id and subject is matched by its rank among
//! them. Terminal text goes through [`vigie_model::terminal_safe`]: names
//! and summaries come from the judged disk.

use std::collections::BTreeMap;
use std::fmt::Write;

use vigie_model::health::HealthRecord;
use vigie_model::terminal_safe;

/// One change of one server between two runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The server.
    pub server: String,
    /// Judgement id (`ep.vdir`), or `cve` for a CVE state, or `server`
    /// for a server seen in one run only.
    pub id: String,
    /// The judgement's subject (a virtual directory, a module, a CVE).
    pub subject: Option<String>,
    /// Status before (`None`: not judged then).
    pub before: Option<String>,
    /// Status after (`None`: not judged any more).
    pub after: Option<String>,
    /// What the later run found (or the earlier, when it went away).
    pub summary: String,
}

/// Key of one judgement within a server: id, subject, rank.
type Key = (String, Option<String>, usize);

/// `(status word, summary)` of each judgement and CVE of one server.
fn states(s: &HealthRecord) -> BTreeMap<Key, (String, String)> {
    let mut out = BTreeMap::new();
    let mut seen: BTreeMap<(String, Option<String>), usize> = BTreeMap::new();
    for j in &s.judgements {
        let rank = seen.entry((j.id.clone(), j.subject.clone())).or_default();
        let key = (j.id.clone(), j.subject.clone(), *rank);
        *rank += 1;
        out.insert(key, (j.status.word().to_string(), j.summary.clone()));
    }
    for c in &s.cves {
        let key = ("cve".to_string(), Some(c.cve.clone()), 0);
        let why = c.because.clone().unwrap_or_default();
        out.insert(key, (c.state.word().to_string(), why));
    }
    out
}

/// Every change between an earlier and a later run's servers, by
/// server, then id and subject.
pub fn changes(
    before: &[HealthRecord],
    after: &[HealthRecord],
) -> Vec<Change> {
    let by_name = |list: &[HealthRecord]| -> BTreeMap<String, HealthRecord> {
        list.iter().map(|s| (s.server.clone(), s.clone())).collect()
    };
    let (b, a) = (by_name(before), by_name(after));
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&String> =
        b.keys().chain(a.keys()).collect();
    for name in names {
        match (b.get(name), a.get(name)) {
            (Some(old), Some(new)) => server_changes(name, old, new, &mut out),
            (old, new) => out.push(Change {
                server: name.clone(),
                id: "server".into(),
                subject: None,
                before: old.map(|_| "judged".to_string()),
                after: new.map(|_| "judged".to_string()),
                summary: if new.is_some() {
                    "first judged in this run".into()
                } else {
                    "not judged in this run".into()
                },
            }),
        }
    }
    out
}

fn server_changes(
    name: &str,
    old: &HealthRecord,
    new: &HealthRecord,
    out: &mut Vec<Change>,
) {
    let (b, a) = (states(old), states(new));
    let keys: std::collections::BTreeSet<&Key> =
        b.keys().chain(a.keys()).collect();
    for key in keys {
        let (x, y) = (b.get(key), a.get(key));
        if x.map(|v| &v.0) == y.map(|v| &v.0) {
            continue;
        }
        let summary = y.or(x).map(|v| v.1.clone()).unwrap_or_default();
        out.push(Change {
            server: name.to_string(),
            id: key.0.clone(),
            subject: key.1.clone(),
            before: x.map(|v| v.0.clone()),
            after: y.map(|v| v.0.clone()),
            summary,
        });
    }
}

/// One compared pair of runs, for [`table`].
#[derive(Debug, Clone)]
pub struct RunPair {
    /// The earlier run.
    pub from: i64,
    /// The later run.
    pub to: i64,
    /// What changed.
    pub changes: Vec<Change>,
}

/// Drift between consecutive health runs as terminal text.
pub fn table(pairs: &[RunPair]) -> String {
    let mut out =
        String::from("\nConfiguration drift (vigie check --host runs):\n");
    if pairs.is_empty() {
        out.push_str("  fewer than two finished server-health runs: nothing to compare\n");
        return out;
    }
    for p in pairs {
        let _ = writeln!(
            out,
            "  run {} -> run {}: {} change(s)",
            p.from,
            p.to,
            p.changes.len()
        );
        for c in &p.changes {
            let subject = c
                .subject
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    {}  {}{}  {} -> {}  {}",
                terminal_safe(&c.server),
                c.id,
                terminal_safe(&subject),
                c.before.as_deref().unwrap_or("(none)"),
                c.after.as_deref().unwrap_or("(none)"),
                terminal_safe(&c.summary)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use vigie_model::health::{Group, JudgementRecord, Status};

    use super::*;

    fn judgement(id: &str, subject: &str, status: Status) -> JudgementRecord {
        JudgementRecord {
            id: id.into(),
            subject: Some(subject.into()),
            group: Group::SecurityConfiguration,
            status,
            summary: format!("{id} {}", status.word()),
            evidence: vec![],
            why: String::new(),
            reference: String::new(),
            settle: None,
        }
    }

    fn server(name: &str, js: Vec<JudgementRecord>) -> HealthRecord {
        HealthRecord {
            server: name.into(),
            root: "/x".into(),
            build: None,
            judgements: js,
            cves: vec![],
            errors: vec![],
        }
    }

    /// Issue 10: Extended Protection going from ok to fail between two
    /// runs is drift; an unchanged judgement is not.
    #[test]
    fn status_change_is_drift_and_unchanged_is_not() {
        let before = [server(
            "EXCH01",
            vec![
                judgement("ep.vdir", "Default Web Site/ECP", Status::Ok),
                judgement("ep.vdir", "Default Web Site/OWA", Status::Ok),
            ],
        )];
        let after = [server(
            "EXCH01",
            vec![
                judgement("ep.vdir", "Default Web Site/ECP", Status::Fail),
                judgement("ep.vdir", "Default Web Site/OWA", Status::Ok),
                judgement("iis.module", "Evil<\u{1b}>", Status::Warn),
            ],
        )];
        let c = changes(&before, &after);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].id, "ep.vdir");
        assert_eq!(c[0].subject.as_deref(), Some("Default Web Site/ECP"));
        assert_eq!(
            (c[0].before.as_deref(), c[0].after.as_deref()),
            (Some("ok"), Some("fail"))
        );
        assert_eq!(
            (c[1].before.as_deref(), c[1].after.as_deref()),
            (None, Some("warn"))
        );
        let text = table(&[RunPair { from: 1, to: 2, changes: c }]);
        assert!(
            text.contains("EXCH01  ep.vdir Default Web Site/ECP  ok -> fail"),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "terminal-safe");
    }

    #[test]
    fn servers_seen_once_are_listed() {
        let c = changes(&[server("A", vec![])], &[server("B", vec![])]);
        let ids: Vec<(&str, &str)> =
            c.iter().map(|c| (c.server.as_str(), c.id.as_str())).collect();
        assert_eq!(ids, [("A", "server"), ("B", "server")]);
        assert_eq!(c[0].after, None);
    }
}
