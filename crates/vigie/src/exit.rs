//! Exit codes, and the one place that turns a run's outcome into one.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | ran, nothing to report (patched, clean) |
//! | 1 | findings: vulnerable build or host, evidence of compromise |
//! | 2 | fatal or usage error: the run could not do its job |
//! | 3 | nothing found, but incomplete: input errors, or an inconclusive hunt |
//!
//! A closed stdout (`vigie ... | head`) is not an error: exit 0 quietly, as
//! ripgrep does.

use std::process::ExitCode;

/// The outcome of a subcommand that ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report.
    Clean,
    /// Something to act on was found.
    Findings,
    /// Finished, but some items failed (and nothing was found).
    ItemErrors,
}

impl Outcome {
    /// Combine "found something" and "some items failed" into one outcome.
    /// Findings win: they are what the user must act on first.
    pub fn from_flags(findings: bool, item_errors: bool) -> Outcome {
        match (findings, item_errors) {
            (true, _) => Outcome::Findings,
            (false, true) => Outcome::ItemErrors,
            (false, false) => Outcome::Clean,
        }
    }
}

/// Map a subcommand's result to the process exit code.
pub fn finish(result: anyhow::Result<Outcome>) -> ExitCode {
    match result {
        Ok(Outcome::Clean) => ExitCode::from(0),
        Ok(Outcome::Findings) => ExitCode::from(1),
        Ok(Outcome::ItemErrors) => ExitCode::from(3),
        Err(err) if is_broken_pipe(&err) => ExitCode::from(0),
        Err(err) => {
            let text = vigie_model::terminal_safe(&format!("{err:#}"));
            eprintln!("vigie: error: {text}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
