//! `vigie lab`: not built yet.

use crate::exit::Outcome;

/// Arguments of `vigie lab`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `vigie lab`.
pub fn run(_args: Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("vigie lab is not available in this build yet")
}
