//! `vigie notify`: one report per network owner with only their servers
//! and what to do, plus a CSV index, as CERTs send to network owners.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use vigie_model::csv_safe;
use vigie_model::scan::HostResult;
use vigie_report::html::{escape, host_state, page_with};
use vigie_report::owners::Owner;
use vigie_report::text::{md_cell, next_step};

use crate::cmd::report::{print_errors, read_files};
use crate::exit::Outcome;

/// Arguments of `vigie notify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV of `owner,contact,cidr_or_domain` rows.
    #[arg(long)]
    pub owners: PathBuf,
    /// Scan JSONL files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Directory for the per-owner reports and `index.csv`.
    #[arg(short, long, default_value = "vigie-notify")]
    pub out: PathBuf,
}

const GUIDANCE: &str = "\
- Install the update named above (Microsoft's guidance: \
https://learn.microsoft.com/exchange/new-features/build-numbers-and-release-dates \
and https://aka.ms/ExchangeUpdateWizard).
- An unpatched server exposed to the Internet may already be compromised: \
hunt it with `vigie hunt` (logs, web shells) before or right after patching; \
patching does not remove a web shell.
- Microsoft's Health Checker: https://aka.ms/ExchangeHealthChecker";

/// File name safe on every system for an owner name.
fn file_stem(owner: &str, index: usize) -> String {
    let clean: String = owner
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .take(40)
        .collect();
    format!("{index:03}-{clean}")
}

fn markdown(owner: &Owner, hosts: &[&HostResult]) -> String {
    let mut md = format!(
        "# Exchange servers of {}\n\nContact: {}\n\n\
         | Server | Build | State | Open CVEs | What to install |\n\
         |---|---|---|---|---|\n",
        md_cell(&owner.owner),
        md_cell(&owner.contact)
    );
    for h in hosts {
        let cves: Vec<&str> = h
            .assessment
            .iter()
            .flat_map(|a| a.open_cves().map(|c| c.cve.as_str()))
            .collect();
        let _ = writeln!(
            md,
            "| {} ({}:{}) | {} | {} | {} | {} |",
            md_cell(&h.target),
            md_cell(&h.ip),
            h.port,
            md_cell(h.build.as_deref().unwrap_or("?")),
            host_state(h),
            cves.join(" "),
            md_cell(&next_step(h))
        );
    }
    md.push_str("\n## What to do\n\n");
    md.push_str(GUIDANCE);
    md.push('\n');
    md
}

fn html(owner: &Owner, hosts: &[&HostResult]) -> String {
    let mut body = format!(
        "<h1>Exchange servers of {}</h1><p>Contact: {}</p><table \
         id=\"hosts\" class=\"sortable\"><thead><tr><th>Server</th>\
         <th>Build</th><th>State</th><th>What to install</th></tr></thead>\
         <tbody>",
        escape(&owner.owner),
        escape(&owner.contact)
    );
    for h in hosts {
        let state = host_state(h);
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td><span class=\"v {state}\">\
             {state}</span></td><td>{}</td></tr>",
            escape(&format!("{} ({}:{})", h.target, h.ip, h.port)),
            escape(h.build.as_deref().unwrap_or("?")),
            escape(&next_step(h))
        );
    }
    body.push_str("</tbody></table><h2>What to do</h2><ul>");
    for line in GUIDANCE.lines() {
        let _ =
            write!(body, "<li>{}</li>", escape(line.trim_start_matches("- ")));
    }
    body.push_str("</ul>");
    page_with(&format!("vigie: {}", owner.owner), &body)
}

/// Run `vigie notify`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let name = args.owners.display().to_string();
    let text = std::fs::read_to_string(&args.owners)
        .with_context(|| format!("cannot read owner list {name}"))?;
    let (owners, mut errors) = vigie_report::owners::parse(&text, &name);
    let records = read_files(&args.files);
    errors.extend(records.errors.iter().cloned());
    print_errors(&errors);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut index =
        String::from("owner,contact,servers,vulnerable,report\r\n");
    let mut any = false;
    for (i, owner) in owners.iter().enumerate() {
        let hosts: Vec<&HostResult> = records
            .hosts
            .iter()
            .filter(|h| {
                matches!(host_state(h), "vulnerable" | "patched" | "unknown")
            })
            .filter(|h| owner.scope.covers(h))
            .collect();
        if hosts.is_empty() {
            continue;
        }
        let vulnerable =
            hosts.iter().filter(|h| host_state(h) == "vulnerable").count();
        any |= vulnerable > 0;
        let stem = file_stem(&owner.owner, i + 1);
        std::fs::write(
            args.out.join(format!("{stem}.md")),
            markdown(owner, &hosts),
        )?;
        std::fs::write(
            args.out.join(format!("{stem}.html")),
            html(owner, &hosts),
        )?;
        let _ = write!(
            index,
            "\"{}\",\"{}\",{},{vulnerable},{stem}.md\r\n",
            csv_safe(&owner.owner).replace('"', "\"\""),
            csv_safe(&owner.contact).replace('"', "\"\""),
            hosts.len()
        );
    }
    std::fs::write(args.out.join("index.csv"), &index)?;
    eprintln!("vigie: owner reports in {}", args.out.display());
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, index.as_bytes())?;
    Ok(Outcome::from_flags(any, !errors.is_empty()))
}
