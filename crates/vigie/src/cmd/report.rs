//! `vigie report`: not built yet.

use crate::exit::Outcome;

/// Arguments of `vigie report`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `vigie report`.
pub fn run(_args: Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("vigie report is not available in this build yet")
}
