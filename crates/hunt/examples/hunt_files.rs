//! Bench helper (bench/hunt-files): hunt one tree with the whole engine,
//! file checks included, and print the time, the file counters and the
//! findings per rule to stdout.
//!
//! usage: hunt_files TREE [--threads N] [--no-embedded-yara] [YARA_DIR...]

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use vigie_hunt::engine::{HuntOptions, hunt};
use vigie_hunt::files::{FileIntel, FileIntelOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(tree) = args.next() else {
        eprintln!("usage: hunt_files TREE [--threads N] [YARA_DIR...]");
        std::process::exit(2);
    };
    let mut intel = FileIntelOptions::default();
    let mut threads = 0;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--no-embedded-yara" => intel.no_embedded_yara = true,
            "--threads" => {
                threads = args.next().and_then(|n| n.parse().ok()).unwrap_or(0)
            }
            dir => intel.yara_dirs.push(dir.into()),
        }
    }
    let t = Instant::now();
    let (loaded, load_errors) = FileIntel::load(&intel);
    let load = t.elapsed();
    drop(loaded);
    let opts = HuntOptions {
        inputs: vec![tree.into()],
        intel,
        threads,
        ..HuntOptions::default()
    };
    let t = Instant::now();
    let out = match hunt(&opts, &|_| {}) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("hunt failed: {e}");
            std::process::exit(2);
        }
    };
    let total = t.elapsed();
    let mut per_rule: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &out.report.findings {
        *per_rule.entry(f.rule_id.as_str()).or_default() += 1;
    }
    let mut w = std::io::stdout().lock();
    let _ = writeln!(w, "rules load: {:.2} s", load.as_secs_f64());
    let _ = writeln!(
        w,
        "hunt (load + walk + checks): {:.2} s",
        total.as_secs_f64()
    );
    for (k, v) in &out.report.stats {
        let _ = writeln!(w, "stat {k}: {v}");
    }
    for (k, v) in per_rule {
        let _ = writeln!(w, "findings {k}: {v}");
    }
    let _ = writeln!(
        w,
        "errors: {} (rule loading: {})",
        out.report.errors.len(),
        load_errors.len()
    );
}
