//! `vigie diff`: not built yet.

use crate::exit::Outcome;

/// Arguments of `vigie diff`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `vigie diff`.
pub fn run(_args: Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("vigie diff is not available in this build yet")
}
