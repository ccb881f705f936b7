//! A whole Exchange server's configuration health, judged offline from its
//! own files: what Microsoft's HealthChecker judges with PowerShell on a
//! live server, made from a disk image, a triage copy or a folder of
//! collected servers.
//!
//! [`discover::find_servers`] finds each server's copy; [`Inputs::gather`]
//! reads its registry hives (or `.reg` exports), ExSetup.exe,
//! applicationHost.config, every virtual directory's web.config, the
//! SharedWebConfig.config, EdgeTransport.exe.config and noderunner.exe.config
//! files, and optional CLIXML exports (`Get-SettingOverride`, ExSetup
//! version); [`judge`] turns them into [`Judgement`]s with stable ids,
//! evidence and references, and adjusts the build's CVE states by the
//! configuration ([`cves::adjust`]). Everything is read-only; a file that
//! cannot be read becomes an error record and the judgements needing it
//! say `unknown`, naming what would settle them.

#![deny(missing_docs)]

pub mod check;
pub mod clixml;
pub mod cves;
pub mod discover;
pub mod ep;
mod error;
pub mod iis;
pub mod inputs;
mod model;
pub mod modules;
pub mod overrides;
pub mod registry;
pub mod sample;
pub mod xml;

use std::path::Path;

use chrono::NaiveDate;
use vigie_builds::Table;

pub use error::HealthError;
pub use inputs::Inputs;
pub use model::{
    AdjustedCve, CveVerdict, Evidence, Group, Judgement, Rule, ServerHealth,
    Status,
};

/// Judge one server's inputs as of a date.
pub fn judge(inp: &Inputs, table: &Table, as_of: NaiveDate) -> ServerHealth {
    let build = inp.build.exsetup.or(inp.build.registry);
    let assessment = build.map(|b| {
        let text = b.map(|p| p.to_string()).join(".");
        let exact = inp.build.exsetup.is_some();
        let input = if exact {
            text.clone()
        } else {
            b[..3].iter().map(u32::to_string).collect::<Vec<_>>().join(".")
        };
        table.assess(&input, as_of).map_err(|e| e.to_string())
    });
    let assessment = match assessment {
        Some(Ok(a)) => Some(a),
        _ => None,
    };
    let mut cx = check::Context::new(inp, table, as_of);
    cx.assessment = assessment.clone();
    let judgements = check::all(&cx);
    let cves = assessment
        .as_ref()
        .map(|a| cves::adjust(&a.cves, &judgements))
        .unwrap_or_default();
    ServerHealth {
        server: inp.name.clone(),
        root: inp.root.clone(),
        build: assessment.map(|a| a.build),
        judgements,
        cves,
        errors: inp.errors.iter().map(HealthError::to_item).collect(),
    }
}

/// Find, read and judge every server under `input`.
pub fn judge_path(
    input: &Path,
    exports: Option<&Path>,
    table: &Table,
    as_of: NaiveDate,
) -> Vec<ServerHealth> {
    discover::find_servers(input)
        .iter()
        .map(|tree| judge(&Inputs::gather(tree, exports), table, as_of))
        .collect()
}
