//! `vigie demo`: each capability shows itself on built-in examples.
//!
//! The demo needs no input and no network beyond loopback. Each subcommand
//! module contributes one `demo` section; this file only orders them and
//! decides where files go.

use std::io::Write;
use std::path::PathBuf;

use crate::exit::Outcome;

/// Arguments of `vigie demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the demo writes its reports.
    #[arg(long, default_value = "vigie-demo")]
    pub out: PathBuf,
}

/// What the demo sections share: where to print, where to write files,
/// and the result files written so far (the report section combines them).
pub struct DemoContext {
    /// Human-readable demo output.
    pub out: Box<dyn Write>,
    /// Directory for files the demo writes.
    pub dir: PathBuf,
    /// JSONL result files written by earlier sections (scan, hunt).
    pub results: Vec<PathBuf>,
}

/// Run every section of the demo in order.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(&args.out)?;
    let mut ctx = DemoContext {
        out: Box::new(std::io::stdout()),
        dir: args.out,
        results: Vec::new(),
    };
    crate::cmd::check::demo(&mut ctx)?;
    crate::cmd::check::host::demo(&mut ctx)?;
    crate::cmd::scan::demo(&mut ctx)?;
    crate::cmd::hunt::demo(&mut ctx)?;
    crate::cmd::report::demo(&mut ctx)?;
    ctx.out.flush()?;
    Ok(Outcome::Clean)
}
