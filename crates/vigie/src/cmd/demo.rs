//! `vigie demo`: each capability shows itself on built-in examples.
//!
//! The demo needs no input and no network beyond loopback. Each subcommand
//! module contributes one `demo` section; this file only orders them and
//! decides where files go.

use std::path::PathBuf;

use crate::exit::Outcome;

/// Arguments of `vigie demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the demo writes its reports.
    #[arg(long, default_value = "vigie-demo")]
    pub out: PathBuf,
}

/// Run every section of the demo in order.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(&args.out)?;
    let mut out = std::io::stdout().lock();
    crate::cmd::check::demo(&mut out)?;
    Ok(Outcome::Clean)
}
