//! `vigie completions SHELL` and `vigie man`: shell completion scripts and a
//! roff man page, generated from the same clap definition that parses the
//! command line, so they can never describe options vigie does not have.
//!
//! Both write to stdout (data), e.g. `vigie completions bash >
//! /etc/bash_completion.d/vigie`, `vigie man > vigie.1`, or
//! `vigie man --dir /usr/local/share/man/man1` for one page per subcommand.

use std::io::Write;

use anyhow::Context;
use clap_complete::Shell;

use crate::exit::Outcome;

/// Arguments of `vigie completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to write a completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Arguments of `vigie man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `vigie.1` and one `vigie-<subcommand>.1` per subcommand into
    /// this directory (created if missing) instead of `vigie.1` to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
}

/// Write the completion script for `args.shell` to stdout.
pub fn run(args: Args, mut cli: clap::Command) -> anyhow::Result<Outcome> {
    let name = cli.get_name().to_string();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cli, name, &mut out);
    write_stdout(&out)
}

/// Write the man page (roff) to stdout, or every page into `--dir`.
pub fn man(args: ManArgs, cli: clap::Command) -> anyhow::Result<Outcome> {
    let cli = cli.version(env!("CARGO_PKG_VERSION"));
    let Some(dir) = args.dir else {
        return write_stdout(&render(cli)?);
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let mut pages = vec![("vigie.1".to_string(), render(cli.clone())?)];
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        // git-style pages (`man vigie-scan`): each subcommand's options
        // in full, which one page for all would bury.
        // clap names are `'static`; a handful of short strings leaked in a
        // command that exits right after is simpler than clap's `string`
        // feature, which would rebuild clap for every other command.
        let name: &'static str =
            Box::leak(format!("vigie-{}", sub.get_name()).into_boxed_str());
        let page = render(sub.clone().name(name))?;
        pages.push((format!("{name}.1"), page));
    }
    for (file, page) in pages {
        let path = dir.join(&file);
        std::fs::write(&path, page)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(Outcome::Clean)
}

fn render(cmd: clap::Command) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .context("rendering the man page")?;
    Ok(out)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<Outcome> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(Outcome::Clean)
}
