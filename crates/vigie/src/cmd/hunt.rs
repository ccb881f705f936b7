//! `vigie hunt`: not built yet.

use crate::exit::Outcome;

/// Arguments of `vigie hunt`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `vigie hunt`.
pub fn run(_args: Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("vigie hunt is not available in this build yet")
}
