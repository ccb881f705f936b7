//! `vigie report`: not built yet.

use std::io::Write;

use crate::exit::Outcome;

/// Arguments of `vigie report`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `vigie report`.
pub fn run(_args: Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("vigie report is not available in this build yet")
}

/// The demo section of `report`.
pub fn demo(ctx: &mut crate::cmd::demo::DemoContext) -> anyhow::Result<()> {
    writeln!(ctx.out, "== vigie report: not built yet")?;
    Ok(())
}
