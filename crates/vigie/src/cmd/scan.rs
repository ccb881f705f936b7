//! `vigie scan`: not built yet.

use std::io::Write;

use crate::exit::Outcome;

/// Arguments of `vigie scan`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `vigie scan`.
pub fn run(_args: Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("vigie scan is not available in this build yet")
}

/// The demo section of `scan`.
pub fn demo(ctx: &mut crate::cmd::demo::DemoContext) -> anyhow::Result<()> {
    writeln!(ctx.out, "== vigie scan: not built yet")?;
    Ok(())
}
