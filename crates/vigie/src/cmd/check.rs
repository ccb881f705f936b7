//! `vigie check`: not built yet.

use crate::exit::Outcome;

/// Arguments of `vigie check`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `vigie check`.
pub fn run(_args: Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("vigie check is not available in this build yet")
}

/// The demo section of `check`.
pub fn demo(out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    writeln!(out, "== vigie check: (coming)")?;
    Ok(())
}
