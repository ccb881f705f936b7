//! `vigie hunt`: not built yet.

use std::io::Write;

use crate::exit::Outcome;

/// Arguments of `vigie hunt`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `vigie hunt`.
pub fn run(_args: Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("vigie hunt is not available in this build yet")
}

/// The demo section of `hunt`.
pub fn demo(ctx: &mut crate::cmd::demo::DemoContext) -> anyhow::Result<()> {
    writeln!(ctx.out, "== vigie hunt: not built yet")?;
    Ok(())
}
