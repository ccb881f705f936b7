//! Bench helper: run the log detectors over every file under the given
//! directories with rayon, print findings and lines per grade to stdout.

use std::io::Write;
use std::path::PathBuf;

use rayon::prelude::*;
use vigie_hunt::detect::{LogScanOptions, classify_log, scan_log};

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

fn main() {
    let mut all = Vec::new();
    for a in std::env::args_os().skip(1) {
        files(PathBuf::from(a), &mut all);
    }
    let opts = LogScanOptions::default();
    let results: Vec<_> = all
        .par_iter()
        .filter_map(|p| classify_log(p).map(|s| scan_log(p, s, &opts)))
        .collect();
    let out = std::io::stdout();
    let mut out = out.lock();
    let (mut records, mut findings) = (0u64, 0usize);
    for r in &results {
        records += r.coverage.records;
        findings += r.findings.len();
        for f in &r.findings {
            let _ = writeln!(
                out,
                "{}\t{:?}\t{}:{}",
                f.rule_id,
                f.grade,
                f.source.path,
                f.source.line.unwrap_or(0)
            );
        }
    }
    let _ = writeln!(
        out,
        "files={} records={records} findings={findings}",
        results.len()
    );
}
