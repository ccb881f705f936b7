//! `vigie notify`: not built yet.

use crate::exit::Outcome;

/// Arguments of `vigie notify`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `vigie notify`.
pub fn run(_args: Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("vigie notify is not available in this build yet")
}
