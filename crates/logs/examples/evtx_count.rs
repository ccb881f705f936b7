//! Bench helper: read EVTX files with vigie's reader (one thread per
//! file, records flattened to the JSON export shape, as `vigie hunt`
//! reads them) and print the records and errors per file.
//!
//! usage: evtx_count FILE.evtx [FILE.evtx ...]

use std::io::Write;
use std::path::Path;
use std::time::Instant;

fn main() {
    let out = std::io::stdout();
    let mut out = out.lock();
    for arg in std::env::args_os().skip(1) {
        let started = Instant::now();
        let (mut records, mut errors, mut fields) = (0u64, 0u64, 0usize);
        let r = vigie_logs::evtx::read_evtx(
            Path::new(&arg),
            |rec| {
                records += 1;
                fields += rec.value.as_object().map_or(0, |m| m.len());
            },
            |_| errors += 1,
        );
        let secs = started.elapsed().as_secs_f64();
        let _ = writeln!(
            out,
            "{}\trecords={records}\tfields={fields}\terrors={errors}\t\
             {secs:.3}s\t{:.0} records/s{}",
            Path::new(&arg).display(),
            records as f64 / secs.max(1e-9),
            r.err().map(|e| format!("\t{e}")).unwrap_or_default(),
        );
    }
}
