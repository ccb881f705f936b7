//! Load a folder of Sigma rules and print what loaded and what was
//! skipped, per reason (the figures of docs/sigma.md):
//! `cargo run --release -p vigie-sigma --example sigma_load -- DIR...`

use std::path::PathBuf;

fn main() {
    let dirs: Vec<PathBuf> =
        std::env::args_os().skip(1).map(PathBuf::from).collect();
    if dirs.is_empty() {
        eprintln!("usage: sigma_load DIR...");
        std::process::exit(2);
    }
    let started = std::time::Instant::now();
    let set = match vigie_sigma::RuleSet::load(&dirs) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let sum = set.summary();
    println!("loaded in {:.2?}", started.elapsed());
    println!(
        "rule files: {}; loaded: {} ({} for sources vigie reads); skipped: {}",
        sum.rules_loaded + sum.rules_skipped,
        sum.rules_loaded,
        sum.rules_applicable,
        sum.rules_skipped
    );
    let mut reasons: Vec<_> = sum.skipped_by_reason.iter().collect();
    reasons.sort_by_key(|(r, n)| (std::cmp::Reverse(**n), (*r).clone()));
    for (reason, n) in reasons {
        println!("  {n:>5}  {reason}");
    }
    use vigie_model::hunt::LogSource;
    for source in [LogSource::Iis, LogSource::HttpProxy] {
        let always = set.unfiltered(source);
        println!("{source:?}: {} rule(s) on every record", always.len());
        for m in always {
            println!("  {} {}", m.id, m.path.display());
        }
    }
    if std::env::var_os("SIGMA_LOAD_LIST").is_some() {
        for s in set.skipped() {
            println!(
                "{}\t{}\t{}",
                s.reason,
                s.path,
                s.detail.replace('\n', " ")
            );
        }
    }
}
