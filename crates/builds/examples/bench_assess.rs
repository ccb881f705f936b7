//! Time `vigie check`'s core on a 1,000-row inventory: parse the
//! inventory and judge every build. Run with
//! `cargo run --release -p vigie-builds --example bench_assess [FILE]`;
//! without FILE it generates the inventory from the embedded table.

use std::time::Instant;

use chrono::NaiveDate;
use vigie_builds::Table;
use vigie_builds::inventory::parse_inventory;

fn main() {
    let text = match std::env::args().nth(1) {
        Some(path) => std::fs::read_to_string(&path).expect("read inventory"),
        None => generate(1000),
    };
    let table = Table::embedded();
    let as_of = NaiveDate::from_ymd_opt(2026, 8, 20).expect("date");
    let runs = 20;
    let mut best = f64::MAX;
    let mut judged = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let rows = parse_inventory(&text).expect("inventory");
        judged = rows
            .iter()
            .flatten()
            .filter_map(|r| table.assess(&r.build, as_of).ok())
            .filter(|a| !a.cves.is_empty())
            .count();
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{judged} builds judged; best of {runs} runs: {:.2} ms",
        best * 1000.0
    );
}

/// Every published build in turn, plus CU-only and garbage rows.
fn generate(n: usize) -> String {
    let rows = Table::embedded().rows();
    let mut out = String::from("server,build\n");
    for i in 0..n {
        let build = match i % 10 {
            8 => "15.1.2176".to_string(),
            9 => "garbage".to_string(),
            _ => rows[i % rows.len()].build.clone(),
        };
        out.push_str(&format!("ex{i:04},{build}\n"));
    }
    out
}
