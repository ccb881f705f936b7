//! `vigie history`: not built yet.

use crate::exit::Outcome;

/// Arguments of `vigie history`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `vigie history`.
pub fn run(_args: Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("vigie history is not available in this build yet")
}
