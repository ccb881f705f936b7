//! What changed between two scan runs: servers newly seen, gone, newly
//! patched, newly vulnerable, and changed builds.

use std::collections::BTreeMap;

use vigie_model::scan::{HostResult, HostStatus};

use crate::{host_key, host_state};

/// One server that changed between two runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostChange {
    /// The server (`target|ip:port`).
    pub key: String,
    /// Build before (`None` for a new server).
    pub before_build: Option<String>,
    /// Build after (`None` for a gone server).
    pub after_build: Option<String>,
    /// State before (`vulnerable`, `patched`, `unknown`).
    pub before_state: Option<String>,
    /// State after.
    pub after_state: Option<String>,
}

/// Every change between two runs, each list sorted by server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Exchange servers seen only in the later run.
    pub new: Vec<HostChange>,
    /// Exchange servers seen only in the earlier run.
    pub gone: Vec<HostChange>,
    /// Vulnerable before, not vulnerable after.
    pub newly_patched: Vec<HostChange>,
    /// Not vulnerable before, vulnerable after.
    pub newly_vulnerable: Vec<HostChange>,
    /// The build changed.
    pub changed_build: Vec<HostChange>,
}

fn exchange(hosts: &[HostResult]) -> BTreeMap<String, &HostResult> {
    hosts
        .iter()
        .filter(|h| h.status == HostStatus::Exchange)
        .map(|h| (host_key(h), h))
        .collect()
}

fn change(
    key: &str,
    before: Option<&HostResult>,
    after: Option<&HostResult>,
) -> HostChange {
    HostChange {
        key: key.to_string(),
        before_build: before.and_then(|h| h.build.clone()),
        after_build: after.and_then(|h| h.build.clone()),
        before_state: before.map(|h| host_state(h).to_string()),
        after_state: after.map(|h| host_state(h).to_string()),
    }
}

/// Compare the Exchange servers of two runs.
pub fn diff_runs(before: &[HostResult], after: &[HostResult]) -> Diff {
    let old = exchange(before);
    let new = exchange(after);
    let mut diff = Diff::default();
    for (key, b) in &old {
        if !new.contains_key(key) {
            diff.gone.push(change(key, Some(b), None));
        }
    }
    for (key, a) in &new {
        let Some(b) = old.get(key) else {
            diff.new.push(change(key, None, Some(a)));
            continue;
        };
        let c = change(key, Some(b), Some(a));
        let (was, is) = (host_state(b), host_state(a));
        if was == "vulnerable" && is != "vulnerable" {
            diff.newly_patched.push(c.clone());
        }
        if was != "vulnerable" && is == "vulnerable" {
            diff.newly_vulnerable.push(c.clone());
        }
        if b.build != a.build {
            diff.changed_build.push(c);
        }
    }
    diff
}
