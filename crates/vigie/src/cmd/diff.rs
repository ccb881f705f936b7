//! `vigie diff`: what changed between two scan runs.

use std::io::Write;
use std::path::PathBuf;

use vigie_store::{HostChange, Store, StoreError};

use crate::cmd::report::db_path;
use crate::exit::Outcome;

/// Arguments of `vigie diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// History database (default: `$XDG_DATA_HOME/vigie/vigie.db`).
    #[arg(long)]
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
            vigie_model::terminal_safe(&c.key),
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

/// Run `vigie diff`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let mut store = Store::open(&db_path(args.db.as_deref())?)?;
    let (a, b) = match args.runs[..] {
        [a, b] => (a, b),
        [] => {
            let scans: Vec<i64> = store
                .runs()?
                .into_iter()
                .filter(|r| r.kind == "scan")
                .map(|r| r.id)
                .collect();
            match scans[..] {
                [.., a, b] => (a, b),
                _ => return Err(StoreError::TooFewRuns(scans.len()).into()),
            }
        }
        _ => anyhow::bail!("give two run ids, or none for the last two"),
    };
    let diff = vigie_store::diff_runs(&store.hosts(a)?, &store.hosts(b)?);
    let mut out = std::io::stdout().lock();
    writeln!(out, "runs {a} -> {b}")?;
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
    Ok(Outcome::from_flags(worse, false))
}
