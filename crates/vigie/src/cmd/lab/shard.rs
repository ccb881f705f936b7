//! A fleet bigger than one process's open-files limit, served by several
//! worker processes of this same binary, each holding a slice of the
//! addresses; their manifests are merged into one.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use vigie_lab::ManifestEntry;

use super::{ServeArgs, banner, write_manifest};

/// How long workers may take to bind their sockets.
const START_TIMEOUT: Duration = Duration::from_secs(120);

pub(super) async fn serve_sharded(
    args: &ServeArgs,
    per_process: usize,
) -> anyhow::Result<()> {
    let dir =
        std::env::temp_dir().join(format!("vigie-lab-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let result = run_workers(args, per_process, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_workers(
    args: &ServeArgs,
    per_process: usize,
    dir: &Path,
) -> anyhow::Result<()> {
    let mut children = Vec::new();
    let mut manifests = Vec::new();
    let mut offset = 0usize;
    while offset < args.hosts {
        let count = per_process.min(args.hosts - offset);
        let path = dir.join(format!("shard-{}.json", manifests.len()));
        match spawn(args, offset, count, &path) {
            Ok(child) => children.push(child),
            Err(e) => {
                stop(&mut children);
                return Err(e);
            }
        }
        manifests.push(path);
        offset += count;
    }
    let merged = match collect(&mut children, &manifests).await {
        Ok(m) => m,
        Err(e) => {
            stop(&mut children);
            return Err(e);
        }
    };
    write_manifest(&merged, args.manifest.as_ref())?;
    banner(args);
    eprintln!("lab: {} worker processes", children.len());
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = tokio::signal::ctrl_c() => { stop(&mut children); break; }
        }
        if children.iter_mut().all(|c| matches!(c.try_wait(), Ok(Some(_)))) {
            break;
        }
    }
    for c in &mut children {
        let _ = c.wait();
    }
    eprintln!("lab: stopped");
    Ok(())
}

fn spawn(
    args: &ServeArgs,
    offset: usize,
    count: usize,
    manifest: &Path,
) -> anyhow::Result<Child> {
    let base = u32::from(args.base)
        .checked_add(offset as u32)
        .map(Ipv4Addr::from)
        .context("fleet runs past the end of the address space")?;
    let exe = std::env::current_exe().context("finding this program")?;
    let mut cmd = Command::new(exe);
    cmd.args(["lab", "serve", "--worker"])
        .arg("--hosts")
        .arg(count.to_string())
        .arg("--seed")
        .arg(args.seed.to_string())
        .arg("--base")
        .arg(base.to_string())
        .arg("--first-index")
        .arg((args.first_index + offset as u64).to_string())
        .arg("--https-port")
        .arg(args.https_port.to_string())
        .arg("--http-port")
        .arg(args.http_port.to_string())
        .arg("--delay-ms")
        .arg(args.delay_ms.to_string())
        .arg("--manifest")
        .arg(manifest)
        .stdout(Stdio::null());
    if let Some(log) = &args.request_log {
        cmd.arg("--request-log").arg(log);
    }
    for o in &args.overrides {
        cmd.arg("--persona").arg(o.to_string());
    }
    if args.log_stderr {
        cmd.arg("--log-stderr");
    }
    if let Some(d) = args.duration {
        cmd.arg("--duration").arg(d.to_string());
    }
    cmd.spawn().context("starting a lab worker process")
}

/// Waits for every worker's manifest; a worker that dies first is fatal.
async fn collect(
    children: &mut [Child],
    manifests: &[PathBuf],
) -> anyhow::Result<Vec<ManifestEntry>> {
    let start = Instant::now();
    while !manifests.iter().all(|p| p.exists()) {
        for c in children.iter_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                bail!("a lab worker process stopped early ({status})");
            }
        }
        if start.elapsed() > START_TIMEOUT {
            bail!("lab workers did not start within {START_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut all = Vec::new();
    for p in manifests {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("reading {}", p.display()))?;
        let part: Vec<ManifestEntry> = serde_json::from_str(&text)
            .with_context(|| format!("parsing {}", p.display()))?;
        all.extend(part);
    }
    Ok(all)
}

/// Asks workers to stop as Ctrl-C would (they flush their request logs),
/// then waits for them.
fn stop(children: &mut [Child]) {
    for c in children.iter_mut() {
        let _ =
            Command::new("kill").args(["-INT", &c.id().to_string()]).status();
    }
}
