//! `vigie check`: not built yet.

use std::io::Write;

use crate::exit::Outcome;

/// Arguments of `vigie check`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `vigie check`.
pub fn run(_args: Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("vigie check is not available in this build yet")
}


/// The demo section of `check`.
pub fn demo(ctx: &mut crate::cmd::demo::DemoContext) -> anyhow::Result<()> {
    writeln!(ctx.out, "== vigie check: not built yet")?;
    Ok(())
}
