//! What the hunted paths are, where the interesting folders sit in them,
//! and which server they came from.
//!
//! A responder hands over a mounted image, a triage copy (KAPE-style
//! `C/...` folders, any case), the Exchange install folder alone, or loose
//! log files. Each input becomes a [`Root`]: what to walk, and the base
//! against which paths are mapped onto the server's `C:\` drive. While the
//! engine walks, [`Landmarks`] notes where the Exchange install, the IIS
//! logs and the event logs were met, so the report can say what was
//! missing. On a live Windows server [`live_roots`] walks the places
//! `vigie-live` found through the registry, IIS's configuration and the
//! environment.

use std::path::{Path, PathBuf};

use vigie_logs::{LineEvent, LineReader, csv_header, split_csv};
use vigie_model::hunt::LogSource;
use vigie_model::{ItemError, ItemErrorKind};

use crate::place::WinPath;

/// How one input is walked and mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    /// A folder: image, triage copy, or part of a live disk.
    Tree,
    /// The Exchange install folder itself (`...\V15`): its files map
    /// below Exchange's default install path.
    ExchangeRoot,
    /// One loose file (a log or export copied on its own).
    File,
}

/// One input, ready to walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// What to walk (absolute).
    pub walk: PathBuf,
    /// Paths below `base` are mapped onto `C:\` (see
    /// [`crate::place::windows_path`]).
    pub base: PathBuf,
    /// How to map.
    pub kind: RootKind,
}

impl Root {
    /// Whether paths map below the Exchange install folder.
    pub fn exchange_root(&self) -> bool {
        self.kind == RootKind::ExchangeRoot
    }
}

/// Turn the user's paths into walk roots. Missing inputs are errors;
/// `exchange_root` (`--exchange-root`) is walked as the install folder,
/// and left out of any other input that contains it.
pub fn roots(
    inputs: &[PathBuf],
    exchange_root: Option<&Path>,
) -> (Vec<Root>, Vec<ItemError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        match root_of(input) {
            Ok(r) => out.push(r),
            Err(e) => errors.push(e),
        }
    }
    if let Some(ex) = exchange_root {
        match std::fs::metadata(ex) {
            Ok(m) if m.is_dir() => {
                let walk = absolute(ex);
                out.push(Root {
                    base: walk.clone(),
                    walk,
                    kind: RootKind::ExchangeRoot,
                })
            }
            Ok(_) => errors.push(ItemError::new(
                ex.display().to_string(),
                ItemErrorKind::Config,
                "--exchange-root is not a folder",
            )),
            Err(e) => errors.push(ItemError::new(
                ex.display().to_string(),
                ItemErrorKind::Io,
                format!("--exchange-root cannot be read: {e}"),
            )),
        }
    }
    (out, errors)
}

fn root_of(input: &Path) -> Result<Root, ItemError> {
    // The input itself is followed even if it is a link: the user named it.
    let meta = std::fs::metadata(input).map_err(|e| {
        ItemError::new(
            input.display().to_string(),
            ItemErrorKind::Io,
            format!("cannot read input: {e}"),
        )
    })?;
    let walk = absolute(input);
    if meta.is_file() {
        let base = walk.parent().map(Path::to_path_buf).unwrap_or_default();
        return Ok(Root { walk, base, kind: RootKind::File });
    }
    let kind = if looks_like_exchange_root(&walk) {
        RootKind::ExchangeRoot
    } else {
        RootKind::Tree
    };
    Ok(Root { base: walk.clone(), walk, kind })
}

/// An absolute path without resolving links (no `\\?\` on Windows).
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// A folder holding `Logging` and one of `FrontEnd`, `ClientAccess`,
/// `Bin` directly is an Exchange install folder copied on its own.
pub fn looks_like_exchange_root(dir: &Path) -> bool {
    let Ok(rd) = std::fs::read_dir(dir) else { return false };
    let mut logging = false;
    let mut other = false;
    for e in rd.flatten().take(4096) {
        let name = e.file_name().to_string_lossy().to_lowercase();
        logging |= name == "logging";
        other |= matches!(name.as_str(), "frontend" | "clientaccess" | "bin");
    }
    logging && other
}

/// Where the folders that matter were met during the walk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Landmarks {
    /// Exchange install folders (`...\Exchange Server\V15`), local paths.
    pub exchange: Vec<PathBuf>,
    /// IIS log folders (`inetpub\logs\LogFiles`).
    pub iis_logs: Vec<PathBuf>,
    /// Event log folders (`System32\winevt\Logs`).
    pub event_logs: Vec<PathBuf>,
    /// Local folders that stand for the server's `C:\` (parents of
    /// `Windows`, `inetpub`, `Program Files`, ...).
    pub volume_roots: Vec<PathBuf>,
}

/// Top-level folders whose parent is a volume root.
const TOP_LEVEL: &[&str] =
    &["program files", "inetpub", "windows", "programdata", "users"];

impl Landmarks {
    /// Note one walked folder (`win` is its mapped Windows path).
    pub fn note_dir(&mut self, local: &Path, win: &WinPath, exchange: bool) {
        let l = win.lower.as_str();
        let push = |v: &mut Vec<PathBuf>| {
            if !v.iter().any(|p| p == local) && v.len() < 64 {
                v.push(local.to_path_buf());
            }
        };
        if l.ends_with(r"\exchange server\v15") {
            push(&mut self.exchange);
        } else if l.ends_with(r"\inetpub\logs\logfiles") {
            push(&mut self.iis_logs);
        } else if l.ends_with(r"\system32\winevt\logs") {
            push(&mut self.event_logs);
        }
        let top = l.strip_prefix(r"c:\").is_some_and(|rest| {
            !rest.contains('\\') && TOP_LEVEL.contains(&rest)
        });
        if top
            && !exchange
            && let Some(parent) = local.parent()
            && !self.volume_roots.iter().any(|p| p == parent)
            && self.volume_roots.len() < 64
        {
            self.volume_roots.push(parent.to_path_buf());
        }
    }

    /// Merge another walker's notes.
    pub fn merge(&mut self, other: Landmarks) {
        for (mine, theirs) in [
            (&mut self.exchange, other.exchange),
            (&mut self.iis_logs, other.iis_logs),
            (&mut self.event_logs, other.event_logs),
            (&mut self.volume_roots, other.volume_roots),
        ] {
            for p in theirs {
                if !mine.contains(&p) {
                    mine.push(p);
                }
            }
        }
    }
}

/// Roots for hunting the machine vigie runs on (Windows): the Exchange
/// install folder, the IIS log folders and the event logs where
/// [`vigie_live::Layout`] found them, and the places attackers use, all
/// mapped from the system drive. A folder on another drive is mapped as
/// if it were on the system drive (the install folder as Exchange's).
pub fn live_roots(layout: &vigie_live::Layout) -> Vec<Root> {
    let drive = layout.system_drive.as_str();
    let drive_root = PathBuf::from(format!("{drive}\\"));
    let on_drive = |p: &str| {
        p.get(..drive.len()).is_some_and(|d| d.eq_ignore_ascii_case(drive))
    };
    // Below its own drive's root: `D:\IISLogs\W3SVC1\...` keeps its path
    // (shown on `C:`), not just the part below the folder.
    let tree = |p: &str| Root {
        walk: PathBuf::from(p),
        base: match p.get(..2) {
            _ if on_drive(p) => drive_root.clone(),
            Some(d) if d.ends_with(':') => PathBuf::from(format!("{d}\\")),
            _ => PathBuf::from(p),
        },
        kind: RootKind::Tree,
    };
    let mut out = Vec::new();
    let ex = layout.install.as_str();
    out.push(if on_drive(ex) {
        tree(ex)
    } else {
        Root {
            walk: PathBuf::from(ex),
            base: PathBuf::from(ex),
            kind: RootKind::ExchangeRoot,
        }
    });
    let sysroot = layout.system_root.as_str();
    let mut places: Vec<String> = vec![format!(r"{drive}\inetpub")];
    places.extend(layout.iis_logs.iter().cloned());
    places.extend([
        layout.event_logs.clone(),
        // applicationHost.config: the IIS modules it registers
        format!(r"{sysroot}\System32\inetsrv\config"),
        format!(r"{sysroot}\Temp"),
        format!(
            r"{sysroot}\Microsoft.NET\Framework64\v4.0.30319\Temporary ASP.NET Files"
        ),
        format!(r"{sysroot}\debug"),
        layout.program_data.clone(),
        format!(r"{drive}\root"),
        format!(r"{drive}\Users\Public"),
        format!(r"{drive}\PerfLogs"),
    ]);
    for p in places {
        // A folder inside one already walked (IIS logs below inetpub).
        let inside = out.iter().any(|r| {
            let w = r.walk.to_string_lossy().to_lowercase();
            p.to_lowercase().starts_with(&format!("{w}\\"))
                || p.eq_ignore_ascii_case(&w)
        });
        if !inside {
            out.push(tree(&p));
        }
    }
    out
}

/// The server's short name: the first DNS label of `name`, trimmed.
pub fn short_host(name: &str) -> Option<String> {
    let first = name.trim().split('.').next()?.trim();
    let ok = !first.is_empty()
        && first != "-"
        && first.len() <= 63
        && first
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then(|| first.to_string())
}

/// A host name guessed from the inputs' folder names (a triage copy is
/// usually named after its host; a `C` drive folder is skipped).
pub fn host_from_inputs(inputs: &[PathBuf]) -> Option<String> {
    for input in inputs {
        let abs = absolute(input);
        let dir = if abs.is_file() {
            abs.parent().map(Path::to_path_buf)
        } else {
            Some(abs)
        };
        let mut cur = dir;
        while let Some(d) = cur {
            let name = d.file_name().map(|n| n.to_string_lossy().into_owned());
            match name {
                Some(n) if n.len() > 1 => return short_host(&n),
                Some(_) => cur = d.parent().map(Path::to_path_buf),
                None => break,
            }
        }
    }
    None
}

/// The server name written in a log's first records: `ServerHostName` in
/// HttpProxy logs, `Hostname`/`Computer` in JSON event exports. Reads at
/// most 64 lines.
pub fn sniff_host(path: &Path, source: LogSource) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let (_, text) = vigie_logs::encoding::utf8_reader(file).ok()?;
    let reader = LineReader::new(std::io::BufReader::new(text));
    let mut header = None;
    for ev in reader.take(64) {
        let LineEvent::Line(line) = ev else { continue };
        let text = line.text.trim();
        let found = match source {
            LogSource::HttpProxy => {
                if let Some(h) = csv_header(text) {
                    header = Some(h);
                    continue;
                }
                if text.starts_with('#') {
                    continue;
                }
                let row = split_csv(text);
                header
                    .as_ref()
                    .and_then(|h| h.get(&row, "ServerHostName"))
                    .map(str::to_string)
            }
            LogSource::EventJson => {
                let v: serde_json::Value =
                    serde_json::from_str(text.trim_end_matches(',')).ok()?;
                ["Hostname", "Computer", "MachineName", "host"]
                    .iter()
                    .find_map(|k| v.get(*k)?.as_str().map(str::to_string))
            }
            _ => return None,
        };
        if let Some(h) = found.as_deref().and_then(short_host) {
            return Some(h);
        }
    }
    None
}

/// A host name safe as a file name stem.
pub fn file_stem(host: &str) -> String {
    let s: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() { "host".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::place::windows_path;

    #[test]
    fn inputs_become_roots_and_missing_ones_errors() {
        let dir = tempfile::tempdir().unwrap();
        let v15 = dir.path().join("V15");
        std::fs::create_dir_all(v15.join("Logging")).unwrap();
        std::fs::create_dir_all(v15.join("FrontEnd")).unwrap();
        let log = dir.path().join("a.log");
        std::fs::write(&log, "x").unwrap();
        let (roots, errors) = roots(
            &[
                dir.path().to_path_buf(),
                v15.clone(),
                log,
                "/nonexistent/x".into(),
            ],
            None,
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].subject.contains("nonexistent"));
        let kinds: Vec<_> = roots.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [RootKind::Tree, RootKind::ExchangeRoot, RootKind::File]
        );
        assert_eq!(roots[2].base, roots[0].walk);
    }

    #[test]
    fn landmarks_found_case_insensitively_in_a_triage_layout() {
        let base = Path::new("/cases/EXCH01");
        let mut lm = Landmarks::default();
        for d in [
            "C/PROGRAM FILES/Microsoft/Exchange Server/v15",
            "C/inetpub/LOGS/LogFiles",
            "C/Windows/system32/WINEVT/Logs",
            "C/Windows",
        ] {
            let p = base.join(d);
            lm.note_dir(&p, &windows_path(&p, base, false), false);
        }
        assert_eq!(lm.exchange.len(), 1);
        assert_eq!(lm.iis_logs.len(), 1);
        assert_eq!(lm.event_logs.len(), 1);
        assert_eq!(lm.volume_roots, [base.join("C")]);
    }

    #[test]
    fn live_roots_follow_the_discovered_layout() {
        struct Machine;
        impl vigie_live::System for Machine {
            fn var(&self, k: &str) -> Option<String> {
                (k == "ExchangeInstallPath")
                    .then(|| r"D:\Exchange\V15\".to_string())
            }
            fn hklm_string(
                &self,
                _: &str,
                _: &str,
            ) -> Result<Option<String>, String> {
                Ok(None)
            }
            fn read(&self, _: &str) -> std::io::Result<Vec<u8>> {
                Err(std::io::ErrorKind::NotFound.into())
            }
        }
        let mut layout = vigie_live::Layout::discover(&Machine);
        layout.iis_logs.push(r"D:\IISLogs".into());
        let roots = live_roots(&layout);
        let d = roots.iter().find(|r| r.walk == Path::new(r"D:\IISLogs"));
        assert_eq!(d.map(|r| r.base.clone()), Some(PathBuf::from("D:\\")));
        assert_eq!(roots[0].walk, PathBuf::from(r"D:\Exchange\V15"));
        assert_eq!(roots[0].kind, RootKind::ExchangeRoot);
        let walks: Vec<_> = roots.iter().map(|r| r.walk.clone()).collect();
        assert!(
            walks.contains(&PathBuf::from(r"C:\Windows\System32\winevt\Logs"))
        );
        // The default IIS log folder is inside inetpub, walked once.
        assert!(walks.contains(&PathBuf::from(r"C:\inetpub")));
        assert!(!walks.contains(&PathBuf::from(r"C:\inetpub\logs\LogFiles")));
        assert!(
            roots[1..]
                .iter()
                .filter(|r| r.walk.to_string_lossy().starts_with("C:"))
                .all(|r| r.base == Path::new("C:\\"))
        );
    }

    #[test]
    fn host_names_from_folders_and_logs() {
        assert_eq!(short_host("MXS01.azsentinel.local").unwrap(), "MXS01");
        assert!(short_host("-").is_none());
        assert!(short_host("a b").is_none());
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("EXCH02").join("C");
        std::fs::create_dir_all(&c).unwrap();
        assert_eq!(host_from_inputs(&[c]).unwrap(), "EXCH02");
        let hp = dir.path().join("HttpProxy_1.LOG");
        std::fs::write(
            &hp,
            "#Software: Microsoft Exchange Server\n\
             #Fields: DateTime,RequestId,ServerHostName,HttpStatus\n\
             2021-03-03T01:00:00Z,1,EX01,200\n",
        )
        .unwrap();
        assert_eq!(sniff_host(&hp, LogSource::HttpProxy).unwrap(), "EX01");
        let js = dir.path().join("e.json");
        std::fs::write(&js, "{\"Hostname\":\"MXS01.x.local\"}\n").unwrap();
        assert_eq!(sniff_host(&js, LogSource::EventJson).unwrap(), "MXS01");
        assert_eq!(file_stem("a/b<c>"), "a_b_c_");
        assert_eq!(file_stem(".."), "host");
    }
}
