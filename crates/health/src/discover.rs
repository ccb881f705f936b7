//! Finding a server's files in what was handed over: a mounted image or a
//! triage copy (`C/Windows/...`, any case), or a folder holding several
//! servers' collections. Windows paths found in the server's own
//! configuration (`%ExchangeInstallPath%FrontEnd\HttpProxy\owa`) are
//! mapped onto the copy case-insensitively.
//!
//! `vigie hunt` walks a whole tree and notes landmarks on the way; here a
//! few known paths are resolved directly, so hunt's walker is not reused.

use std::path::{Path, PathBuf};

/// One server's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTree {
    /// Server name (the collection folder's name).
    pub name: String,
    /// The folder that stands for the server's `C:\`.
    pub volume: PathBuf,
    /// The collection folder (holds `.reg` exports and the volume).
    pub collection: PathBuf,
    /// The server vigie runs on: other drive letters are its real drives.
    pub live: bool,
}

/// Top-level folders that mark a system volume.
const VOLUME_MARKS: &[&str] = &["windows", "program files", "inetpub"];

/// The child of `dir` named `name`, case-insensitively.
pub fn child_ci(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if exact.exists() {
        return Some(exact);
    }
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().eq_ignore_ascii_case(name))
        .map(|e| e.path())
}

/// A `\`- or `/`-separated relative path below `base`, case-insensitively.
pub fn resolve_ci(base: &Path, rel: &str) -> Option<PathBuf> {
    rel.split(['\\', '/'])
        .filter(|p| !p.is_empty() && *p != ".")
        .try_fold(base.to_path_buf(), |cur, part| child_ci(&cur, part))
}

fn is_volume(dir: &Path) -> bool {
    VOLUME_MARKS.iter().any(|m| child_ci(dir, m).is_some_and(|p| p.is_dir()))
}

fn name_of(dir: &Path) -> String {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    abs.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "server".into())
}

/// The servers in one input: the input itself (a volume or a collection
/// holding `C`), else each child folder that is one. Empty when none.
pub fn find_servers(input: &Path) -> Vec<ServerTree> {
    if let Some(t) = as_server(input) {
        return vec![t];
    }
    let Ok(rd) = std::fs::read_dir(input) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> =
        rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs.iter().filter_map(|d| as_server(d)).collect()
}

fn as_server(dir: &Path) -> Option<ServerTree> {
    if let Some(c) = child_ci(dir, "C").filter(|c| is_volume(c)) {
        return Some(ServerTree {
            name: name_of(dir),
            volume: c,
            collection: dir.to_path_buf(),
            live: false,
        });
    }
    if is_volume(dir) {
        let single_letter = name_of(dir).len() == 1;
        let (name, collection) = match dir.parent() {
            Some(p) if single_letter => (name_of(p), p.to_path_buf()),
            _ => (name_of(dir), dir.to_path_buf()),
        };
        return Some(ServerTree {
            name,
            volume: dir.to_path_buf(),
            collection,
            live: false,
        });
    }
    None
}

impl ServerTree {
    /// The Windows server vigie runs on, named `name`, its system drive
    /// `drive` (`C:`).
    pub fn live(name: &str, drive: &str) -> ServerTree {
        let volume =
            PathBuf::from(format!("{}\\", drive.trim_end_matches('\\')));
        ServerTree {
            name: name.to_string(),
            collection: volume.clone(),
            volume,
            live: true,
        }
    }

    /// Map a Windows path (`C:\Program Files\...`, `%windir%\...`) onto
    /// the copy. Other drive letters map to a sibling folder of that
    /// letter (`D/`) when the volume folder is itself a drive letter.
    pub fn map(&self, win: &str, install: Option<&str>) -> Option<PathBuf> {
        let expanded = expand(win, install);
        let (drive, rest) = match expanded.split_once(':') {
            Some((d, r)) if d.len() == 1 => (d.to_ascii_uppercase(), r),
            _ => return resolve_ci(&self.volume, &expanded),
        };
        if drive == "C" {
            return resolve_ci(&self.volume, rest);
        }
        if self.live {
            return resolve_ci(&PathBuf::from(format!("{drive}:\\")), rest);
        }
        let base = child_ci(&self.collection, &drive)
            .or_else(|| child_ci(self.volume.parent()?, &drive))?;
        resolve_ci(&base, rest)
    }
}

/// Expand the environment variables IIS and Exchange write in paths.
pub fn expand(path: &str, install: Option<&str>) -> String {
    let mut out = path.to_string();
    let install =
        install.unwrap_or(r"C:\Program Files\Microsoft\Exchange Server\V15\");
    for (var, value) in [
        ("%exchangeinstallpath%", install),
        ("%exchangeinstalldir%", install),
        ("%systemdrive%", "C:"),
        ("%windir%", r"C:\Windows"),
        ("%systemroot%", r"C:\Windows"),
        ("%programfiles%", r"C:\Program Files"),
    ] {
        while let Some(i) = out.to_ascii_lowercase().find(var) {
            out.replace_range(i..i + var.len(), value);
        }
    }
    out.replace(r"\\", r"\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_found_in_each_layout_and_paths_mapped_any_case() {
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("EXCH01");
        std::fs::create_dir_all(one.join("C/WINDOWS/System32/inetsrv/CONFIG"))
            .unwrap();
        std::fs::create_dir_all(one.join("D/Exchange/V15/Bin")).unwrap();
        let two = dir.path().join("EXCH02");
        std::fs::create_dir_all(two.join("inetpub/wwwroot")).unwrap();
        std::fs::create_dir_all(dir.path().join("notes")).unwrap();
        let found = find_servers(dir.path());
        let names: Vec<_> = found.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["EXCH01", "EXCH02"]);
        assert_eq!(find_servers(&one.join("C"))[0].name, "EXCH01");
        let t = &found[0];
        let cfg = t.map(r"%windir%\system32\inetsrv\config", None).unwrap();
        assert!(cfg.ends_with("C/WINDOWS/System32/inetsrv/CONFIG"), "{cfg:?}");
        let bin = t
            .map(r"%ExchangeInstallPath%Bin", Some(r"D:\Exchange\V15\"))
            .unwrap();
        assert!(bin.ends_with("D/Exchange/V15/Bin"), "{bin:?}");
        assert!(t.map(r"C:\missing", None).is_none());
    }
}
