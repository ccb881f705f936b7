//! Bench helper: read EVTX files with vigie's reader (one thread per
//! file, records flattened to the JSON export shape, as `vigie hunt`
//! reads them) and print the records and errors per file.
//!
//! usage: evtx_count [--fields A,B,...] [--needles X,Y,...] FILE.evtx ...
//!
//! `--fields` builds only those flat fields (the hunt passes the dozen
//! its event rules read); without it, every field. `--needles` renders
//! only the records that may hold one of these texts (the hunt's
//! `events::NEEDLES`), as `vigie hunt` reads a log.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use vigie_logs::evtx::{Fields, read_evtx_fields};

fn main() {
    let mut args: Vec<_> = std::env::args_os().skip(1).collect();
    let (mut names, mut texts) = (String::new(), String::new());
    while args.len() > 1 {
        let value = args[1].to_string_lossy().into_owned();
        match args[0].to_str() {
            Some("--fields") => names = value,
            Some("--needles") => texts = value,
            _ => break,
        }
        args.drain(..2);
    }
    let list = |s: &str| -> Vec<String> {
        s.split(',').filter(|s| !s.is_empty()).map(String::from).collect()
    };
    let (names, texts) = (list(&names), list(&texts));
    let keep: Vec<&str> = names.iter().map(String::as_str).collect();
    let needles: Vec<&str> = texts.iter().map(String::as_str).collect();
    let fields = match (keep.is_empty(), needles.is_empty()) {
        (true, _) => Fields::All,
        (false, true) => Fields::Only(&keep),
        (false, false) => Fields::Holding { fields: &keep, needles: &needles },
    };
    let out = std::io::stdout();
    let mut out = out.lock();
    for arg in args {
        let started = Instant::now();
        let (mut records, mut errors, mut values) = (0u64, 0u64, 0usize);
        let r = read_evtx_fields(
            Path::new(&arg),
            fields,
            |rec| {
                records += 1;
                values += rec.value.as_object().map_or(0, |m| m.len());
            },
            |_| errors += 1,
        );
        let secs = started.elapsed().as_secs_f64();
        let _ = writeln!(
            out,
            "{}\trecords={records}\tfields={values}\terrors={errors}\t\
             {secs:.3}s\t{:.0} records/s{}",
            Path::new(&arg).display(),
            records as f64 / secs.max(1e-9),
            r.err().map(|e| format!("\t{e}")).unwrap_or_default(),
        );
    }
}
