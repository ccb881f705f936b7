//! Bench: forge one server tree (hives, applicationHost.config with the 25
//! Exchange virtual directories, web.configs, ExSetup.exe, an override
//! export) and time judging it end to end (discovery, reading, judging),
//! best of N. Usage: `cargo run --release -p vigie-health --example
//! bench_judge -- [N] [DIR]` (DIR: also forge a clean and a weak server
//! there, to look at).

use std::time::{Duration, Instant};

use vigie_builds::Table;
use vigie_health::sample::{Weaknesses, write_server};

fn main() -> std::io::Result<()> {
    let n: usize =
        std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    if let Some(keep) = std::env::args().nth(2) {
        let keep = std::path::Path::new(&keep);
        write_server(keep, "EXCH01", Weaknesses::all())?;
        write_server(keep, "EXCH02", Weaknesses::default())?;
    }
    let dir = tempfile::tempdir()?;
    let (server, exports) =
        write_server(dir.path(), "EXCH01", Weaknesses::all())?;
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).expect("date");
    let table = Table::embedded();
    let time = |label: &str| {
        let mut best = Duration::MAX;
        let mut judgements = 0;
        for _ in 0..n {
            let t = Instant::now();
            let all = vigie_health::judge_path(
                &server,
                Some(&exports),
                table,
                as_of,
            );
            best = best.min(t.elapsed());
            judgements = all.iter().map(|s| s.judgements.len()).sum();
        }
        println!(
            "{label}: {judgements} judgements, best of {n}: {:.2} ms",
            best.as_secs_f64() * 1e3
        );
    };
    time("one server tree");
    // The same tree with HealthChecker's real Exchange 2019
    // applicationHost.config (~175 KB, 2,435 lines) in place of the forged
    // one: the size a real server's file has.
    let real = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/css-exchange/e19/applicationHost.config"
    );
    std::fs::copy(
        real,
        server
            .join("C/Windows/System32/inetsrv/config/applicationHost.config"),
    )?;
    time("with a real applicationHost.config");
    Ok(())
}
