//! `vigie`: find, judge and hunt on-premises Microsoft Exchange servers.
//!
//! This file only routes: it parses the command line, sets up logging to
//! stderr (`logging`), and hands over to one module per subcommand under
//! `cmd/`. The subcommand modules turn arguments into a validated configuration and wire
//! the library crates together; the libraries hold the logic.

mod cmd;
mod exit;
mod logging;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Find, judge and hunt on-premises Microsoft Exchange servers.
///
/// Exit codes: 0 nothing to report, 1 findings (vulnerable build or host,
/// evidence of compromise), 2 fatal or usage error, 3 finished, nothing
/// found, but incomplete: some inputs had errors (they are listed in the
/// output) or a hunt is inconclusive.
#[derive(Debug, Parser)]
#[command(name = "vigie", version, about, long_about = None)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Judge Exchange build numbers: CU, SU, support, open CVEs, next steps.
    Check(cmd::check::Args),
    /// Fingerprint Exchange servers over HTTP(S) and judge their patch level.
    Scan(cmd::scan::Args),
    /// Run an emulated Exchange fleet on loopback (tests, demos, benches).
    Lab(cmd::lab::Args),
    /// Look for evidence of compromise on a server's disk or a triage copy.
    Hunt(cmd::hunt::Args),
    /// Turn scan or hunt results into HTML, CSV or Markdown reports.
    Report(cmd::report::Args),
    /// Compare two recorded runs: new, gone, patched, newly vulnerable.
    Diff(cmd::diff::Args),
    /// Show the remediation curve over all recorded runs.
    History(cmd::history::Args),
    /// Record third-party scan results (Shadowserver, host,build lists).
    Import(cmd::import::Args),
    /// One notice per network owner: files, .eml, or mail over SMTP.
    Notify(cmd::notify::Args),
    /// Show what vigie does on built-in examples (no network but loopback).
    Demo(cmd::demo::Args),
    /// Write a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(cmd::completions::Args),
    /// Write the man page (roff), generated from this command line.
    Man(cmd::completions::ManArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(cmd::scan::nmap_style_args(std::env::args_os()));
    logging::init(cli.verbose);
    let result = match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Scan(args) => cmd::scan::run(args),
        Command::Lab(args) => cmd::lab::run(args),
        Command::Hunt(args) => cmd::hunt::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Diff(args) => cmd::diff::run(args),
        Command::History(args) => cmd::history::run(args),
        Command::Import(args) => cmd::import::run(args),
        Command::Notify(args) => cmd::notify::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Completions(args) => {
            cmd::completions::run(args, Cli::command())
        }
        Command::Man(args) => cmd::completions::man(args, Cli::command()),
    };
    exit::finish(result)
}
