//! Bench helper: load Sigma rules, then evaluate them over every log file
//! under the given folders with rayon, the way `vigie hunt --sigma` does
//! after its own detectors (bench/sigma/run.sh):
//! `sigma_scan RULES_DIR LOG_DIR...`. Files are classified by name as the
//! hunt's discovery would (`.evtx`, `.json`/`.jsonl`, `HttpProxy` folders,
//! `u_ex*`/`ex*` IIS logs).

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use vigie_model::hunt::LogSource;

fn files(dir: PathBuf, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(&dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(p, out);
        } else {
            out.push(p);
        }
    }
}

fn classify(p: &Path) -> Option<LogSource> {
    let full = p.to_string_lossy().to_lowercase().replace('\\', "/");
    let name = full.rsplit('/').next().unwrap_or("");
    if name.ends_with(".evtx") {
        Some(LogSource::Evtx)
    } else if name.ends_with(".json") || name.ends_with(".jsonl") {
        Some(LogSource::EventJson)
    } else if !name.ends_with(".log") {
        None
    } else if full.contains("/httpproxy/") {
        Some(LogSource::HttpProxy)
    } else if name.starts_with("u_ex") || name.starts_with("ex") {
        Some(LogSource::Iis)
    } else {
        None
    }
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(rules) = args.next() else {
        eprintln!("usage: sigma_scan RULES_DIR LOG_DIR...");
        std::process::exit(2);
    };
    let started = std::time::Instant::now();
    let set = match vigie_sigma::RuleSet::load(&[PathBuf::from(rules)]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let loaded = started.elapsed();
    let mut all = Vec::new();
    for a in args {
        files(PathBuf::from(a), &mut all);
    }
    all.sort();
    let window = vigie_sigma::Window::default();
    let outs: Vec<_> = all
        .par_iter()
        .filter_map(|p| {
            classify(p).map(|s| vigie_sigma::scan_file(p, s, &set, &window))
        })
        .collect();
    let mut sum = set.summary();
    let mut evaluated = 0;
    for o in &outs {
        vigie_sigma::add_counts(&mut sum, o);
        evaluated += o.records_evaluated;
    }
    println!(
        "rules loaded={} applicable={} skipped={} load_time={:.2?}",
        sum.rules_loaded, sum.rules_applicable, sum.rules_skipped, loaded
    );
    println!(
        "files={} records_evaluated={evaluated} matches={} rules_matched={} total_time={:.2?}",
        outs.len(),
        sum.matches,
        sum.matches_by_rule.len(),
        started.elapsed()
    );
    for (id, n) in &sum.matches_by_rule {
        println!("  {n:>9}  {id}");
    }
}
