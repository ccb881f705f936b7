//! `vigie diff`: what changed between two scan runs.
//!
//! Only finished runs are compared by default: a scan that was killed
//! never reached some servers, and comparing against it would list them
//! as gone. Unfinished runs are skipped (and said so), or, when named on
//! the command line, compared with a warning in the output and on stderr.
//! The database is opened read-only.

use std::io::Write;
use std::path::PathBuf;

use vigie_store::{HostChange, RunInfo, Store, StoreError};

use crate::cmd::report::db_path;
use crate::exit::Outcome;

/// Arguments of `vigie diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// History database: an SQLite file (default:
    /// `$XDG_DATA_HOME/vigie/vigie.db`) or `postgres://user@host/db`.
    #[arg(long, value_name = "FILE|URL")]
    pub db: Option<PathBuf>,
    /// Two run ids, earlier first (default: the last two scan runs).
    #[arg(num_args = 0..=2)]
    pub runs: Vec<i64>,
}

fn section(
    out: &mut impl Write,
    name: &str,
    changes: &[HostChange],
) -> std::io::Result<()> {
    writeln!(out, "{name}: {}", changes.len())?;
    for c in changes {
        let none = || "-".to_string();
        writeln!(
            out,
            "  {}  {} ({}) -> {} ({})",
            vigie_model::terminal_safe(&shown_key(&c.key)),
            vigie_model::terminal_safe(
                &c.before_build.clone().unwrap_or_else(none)
            ),
            c.before_state.clone().unwrap_or_else(none),
            vigie_model::terminal_safe(
                &c.after_build.clone().unwrap_or_else(none)
            ),
            c.after_state.clone().unwrap_or_else(none),
        )?;
    }
    Ok(())
}

/// A host as people write it: `host:port`, `[v6]:port`, and the name
/// scanned when it was not the address (`mail.example.org
/// (192.0.2.7:443)`), not the history's internal `target|ip:port` key.
fn shown_key(key: &str) -> String {
    let Some((target, addr)) = key.split_once('|') else {
        return key.to_string();
    };
    let (ip, shown) = match addr.rsplit_once(':') {
        Some((ip, port)) if ip.contains(':') => (ip, format!("[{ip}]:{port}")),
        Some((ip, _)) => (ip, addr.to_string()),
        None => (addr, addr.to_string()),
    };
    if target.is_empty() || target == ip {
        shown
    } else {
        format!("{target} ({shown})")
    }
}

/// The two runs to compare and what the output must say about others.
struct Choice {
    before: i64,
    after: i64,
    /// Unfinished scan runs passed over for the default pair.
    skipped: Vec<i64>,
    /// Runs compared although they never finished.
    unfinished: Vec<i64>,
}

fn choose(runs: &[RunInfo], given: &[i64]) -> anyhow::Result<Choice> {
    let finished =
        |id: i64| runs.iter().any(|r| r.id == id && r.finished_at.is_some());
    match *given {
        [before, after] => Ok(Choice {
            before,
            after,
            skipped: Vec::new(),
            unfinished: [before, after]
                .into_iter()
                .filter(|&id| runs.iter().any(|r| r.id == id) && !finished(id))
                .collect(),
        }),
        [] => {
            let scans: Vec<&RunInfo> =
                runs.iter().filter(|r| r.kind == "scan").collect();
            let done: Vec<i64> = scans
                .iter()
                .filter(|r| r.finished_at.is_some())
                .map(|r| r.id)
                .collect();
            let [.., before, after] = done[..] else {
                let skipped: Vec<i64> = scans
                    .iter()
                    .filter(|r| r.finished_at.is_none())
                    .map(|r| r.id)
                    .collect();
                if !skipped.is_empty() {
                    eprintln!("vigie: {}", skipped_text(&skipped));
                }
                return Err(StoreError::TooFewRuns(done.len()).into());
            };
            let first = scans.iter().position(|r| r.id == before);
            let skipped = scans
                .iter()
                .skip(first.unwrap_or(0))
                .filter(|r| r.finished_at.is_none())
                .map(|r| r.id)
                .collect();
            Ok(Choice { before, after, skipped, unfinished: Vec::new() })
        }
        _ => anyhow::bail!("give two run ids, or none for the last two"),
    }
}

fn ids(runs: &[i64]) -> String {
    runs.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

fn skipped_text(runs: &[i64]) -> String {
    format!(
        "skipped unfinished run(s) {} (interrupted or still running; name \
         them to compare anyway)",
        ids(runs)
    )
}

fn unfinished_text(runs: &[i64]) -> String {
    format!(
        "warning: run(s) {} did not finish (interrupted or still running): \
         servers not reached show as gone or new",
        ids(runs)
    )
}

/// Run `vigie diff`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let mut store = Store::open_read_only(&db_path(args.db.as_deref())?)?;
    let choice = choose(&store.runs()?, &args.runs)?;
    let (a, b) = (choice.before, choice.after);
    let diff = vigie_store::diff_runs(&store.hosts(a)?, &store.hosts(b)?);
    let mut out = std::io::stdout().lock();
    writeln!(out, "runs {a} -> {b}")?;
    // records from others (vigie import) say where they came from
    for r in store.runs()?.iter().filter(|r| r.id == a || r.id == b) {
        if let Some(source) = crate::cmd::history::imported_source(&r.meta) {
            let source = vigie_model::terminal_safe(&source);
            writeln!(out, "run {} source: {source}", r.id)?;
        }
    }
    if !choice.skipped.is_empty() {
        let text = skipped_text(&choice.skipped);
        eprintln!("vigie: {text}");
        writeln!(out, "{text}")?;
    }
    if !choice.unfinished.is_empty() {
        let text = unfinished_text(&choice.unfinished);
        eprintln!("vigie: {text}");
        writeln!(out, "{text}")?;
    }
    section(&mut out, "new", &diff.new)?;
    section(&mut out, "gone", &diff.gone)?;
    section(&mut out, "newly patched", &diff.newly_patched)?;
    section(&mut out, "newly vulnerable", &diff.newly_vulnerable)?;
    section(&mut out, "changed build", &diff.changed_build)?;
    out.flush()?;
    let worse = !diff.newly_vulnerable.is_empty()
        || diff
            .new
            .iter()
            .any(|c| c.after_state.as_deref() == Some("vulnerable"));
    // A comparison with an unfinished run is incomplete input: exit 3
    // when nothing else needs action.
    Ok(Outcome::from_flags(worse, !choice.unfinished.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::shown_key;

    #[test]
    fn diff_shows_host_port_not_the_internal_key() {
        assert_eq!(
            shown_key("127.201.0.1|127.201.0.1:8443"),
            "127.201.0.1:8443"
        );
        assert_eq!(shown_key("::1|::1:443"), "[::1]:443");
        assert_eq!(
            shown_key("mail.example.org|192.0.2.7:443"),
            "mail.example.org (192.0.2.7:443)"
        );
        assert_eq!(shown_key("odd"), "odd");
    }
}
