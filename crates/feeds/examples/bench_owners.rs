//! Bench of the RIR owner table (bench/owners): writes synthetic RPSL
//! (inetnum ranges, some not one CIDR, inet6num prefixes, roles) with N
//! prefixes to a file outside the repository, then times loading it as
//! `vigie notify --rpsl` does (stream the file, resolve abuse contacts,
//! fill the longest-prefix table) and one million lookups.
//!
//! `cargo run --release -p vigie-feeds --example bench_owners -- [N] [FILE]`

use std::io::{BufReader, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use vigie_feeds::{
    Contact, ContactSource, OwnerTable, RirNetworks, read_rpsl,
};

const ROLES: u32 = 10_000;

/// Write inetnum/inet6num objects until they make `n` prefixes.
fn generate(path: &str, n: usize) -> std::io::Result<usize> {
    let mut w = BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "% synthetic RPSL for vigie's owner bench\n")?;
    let mut prefixes = 0usize;
    let mut i: u32 = 0;
    while prefixes < n {
        let role = i.wrapping_mul(2_654_435_761) % ROLES;
        if i % 20 == 19 {
            writeln!(
                w,
                "inet6num:       2a00:{:x}:{:x}::/48\nnetname:        NET6-{i}\n\
                 abuse-c:        AR{role}-TEST\nsource:         TEST\n",
                i >> 16,
                i & 0xffff
            )?;
            prefixes += 1;
        } else {
            // one /24-sized slot per object, from 11.0.0.0 up
            let base = 0x0B00_0000u32 + i * 256;
            let (size, count) = match i % 10 {
                // 192 addresses: not one CIDR, a /25 and a /26
                0 => (192, 2),
                k => (1u32 << (8 - (k % 6)), 1),
            };
            let (a, b) =
                (Ipv4Addr::from(base), Ipv4Addr::from(base + size - 1));
            let contact = match i % 7 {
                0 => format!("abuse-mailbox:  abuse{i}@net.example"),
                _ => format!("abuse-c:        AR{role}-TEST"),
            };
            writeln!(
                w,
                "inetnum:        {a} - {b}\nnetname:        NET-{i}\n\
                 descr:          synthetic network {i}\ncountry:        XX\n\
                 {contact}\nstatus:         ASSIGNED PA\nsource:         TEST\n"
            )?;
            prefixes += count;
        }
        i += 1;
    }
    for r in 0..ROLES {
        writeln!(
            w,
            "role:           Abuse team {r}\nnic-hdl:        AR{r}-TEST\n\
             abuse-mailbox:  abuse@isp{r}.example\nsource:         TEST\n"
        )?;
    }
    w.flush()?;
    Ok(prefixes)
}

/// CPU time of this process so far (user + system), from /proc (Linux;
/// wall time is inflated on a shared machine, CPU time is not).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()?
        + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Peak resident memory of this process, from /proc (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize =
        args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let path =
        args.next().unwrap_or_else(|| "/tmp/vigie-bench-owners.rpsl".into());
    let t = Instant::now();
    let written = generate(&path, n)?;
    let size = std::fs::metadata(&path)?.len();
    eprintln!(
        "generated {written} prefixes in {path} ({:.0} MiB) in {:.1?}",
        size as f64 / 1048576.0,
        t.elapsed()
    );

    let (t, cpu) = (Instant::now(), cpu_seconds());
    let mut nets = RirNetworks::default();
    read_rpsl(BufReader::new(std::fs::File::open(&path)?), &path, &mut nets);
    let objects = nets.objects;
    let errors = nets.errors.len();
    let (networks, without) = nets.resolve();
    let parsed = t.elapsed();
    let mut table = OwnerTable::new();
    for net in &networks {
        let id = table.rir_contact(&net.mailbox).unwrap_or_else(|| {
            table.contact(Contact {
                name: net.contact_name.clone(),
                email: net.mailbox.clone(),
                source: ContactSource::Rir,
            })
        });
        for p in &net.prefixes {
            table.insert(*p, id);
        }
    }
    let loaded = t.elapsed();
    let load_cpu = cpu_seconds().zip(cpu).map(|(b, a)| b - a);
    println!(
        "load: {} prefixes, {} owners from {objects} objects ({errors} errors, \
         {without} networks without contact): {:.3} s (read + resolve {:.3} s, \
         table {:.3} s)",
        table.prefixes(),
        table.contacts().len(),
        loaded.as_secs_f64(),
        parsed.as_secs_f64(),
        (loaded - parsed).as_secs_f64()
    );
    if let Some(c) = load_cpu {
        println!("load CPU time (user + sys): {c:.2} s");
    }

    let t = Instant::now();
    let mut found = 0u64;
    let mut x: u32 = 12345;
    for _ in 0..1_000_000 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let ip = Ipv4Addr::from(0x0B00_0000 + x % (written as u32 * 256));
        found += u64::from(!table.by_address(IpAddr::V4(ip)).is_empty());
    }
    println!(
        "lookup: 1,000,000 addresses in {:.3} s ({found} with an owner)",
        t.elapsed().as_secs_f64()
    );
    if let Some(mib) = peak_rss_mib() {
        println!("peak RSS: {mib:.0} MiB");
    }
    Ok(())
}
