//! Where a file sits on the server: its Windows path, the kind of place
//! (web shell drop folder, web root, staging folder, ...) and the URL it
//! is served under.
//!
//! Evidence arrives as a mounted image, a triage copy (KAPE-style
//! `C/...` folders) or a live disk, with any case. Every file's path
//! below the hunted input is mapped onto `C:\...` by finding the first
//! well-known top-level folder (`Program Files`, `inetpub`, `Windows`,
//! `ProgramData`, `Users`), so one set of rules works on all of them.

use std::path::{Component, Path};

/// Top-level folders of a Windows system volume, lower case.
const VOLUME_MARKERS: &[&str] = &[
    "program files",
    "program files (x86)",
    "inetpub",
    "windows",
    "programdata",
    "users",
    "perflogs",
    "$recycle.bin",
];

/// Exchange's default install folder, for `--exchange-root` inputs.
pub const EXCHANGE_DEFAULT: &str =
    r"c:\program files\microsoft\exchange server\v15";

/// A file's location, seen as on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WinPath {
    /// `C:\...` form, original case (for display and filename IOCs).
    pub display: String,
    /// Lower-case form, for matching.
    pub lower: String,
    /// Components before the volume root that were stripped (so the
    /// engine can map `C:\` paths from logs back onto the evidence).
    pub volume_prefix_len: usize,
}

/// Map a path below `base` (the hunted input) to its Windows form.
///
/// `exchange_root`, when the input is the Exchange install folder itself
/// (`--exchange-root`), maps it to the default install path.
pub fn windows_path(path: &Path, base: &Path, exchange_root: bool) -> WinPath {
    let rel = path.strip_prefix(base).unwrap_or(path);
    let mut parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        // A loose file given directly: keep its name.
        if let Some(name) = path.file_name() {
            parts.push(name.to_string_lossy().into_owned());
        }
    }
    if exchange_root {
        let display = format!(
            r"C:\Program Files\Microsoft\Exchange Server\V15\{}",
            parts.join("\\")
        );
        return WinPath {
            lower: display.to_lowercase(),
            display,
            volume_prefix_len: 0,
        };
    }
    let start = parts
        .iter()
        .position(|p| VOLUME_MARKERS.contains(&p.to_lowercase().as_str()))
        .or_else(|| exchange_start(&parts))
        .or_else(|| drive_start(&parts))
        .unwrap_or(0);
    let display = if is_exchange_only(&parts[start..]) {
        format!(r"C:\Program Files\Microsoft\{}", parts[start..].join("\\"))
    } else {
        format!(r"C:\{}", parts[start..].join("\\"))
    };
    WinPath {
        lower: display.to_lowercase(),
        display,
        volume_prefix_len: start,
    }
}

/// A copy of just the Exchange folder: `.../Exchange Server/V15/...`.
fn exchange_start(parts: &[String]) -> Option<usize> {
    parts.iter().position(|p| p.eq_ignore_ascii_case("exchange server"))
}

/// A triage copy whose drive folder holds none of the well-known
/// top-level folders (`EX/C/root/a.7z`: only the attacker's `C:\root`
/// was collected): the path starts after the first folder named like a
/// drive (`C`, `c$`, `C:`, `C%3A` as KAPE and Velociraptor write it).
/// Only the first two folders count (`C/...` or `HOST/C/...`), never
/// the file name itself: a one-letter folder deeper down is just a folder.
fn drive_start(parts: &[String]) -> Option<usize> {
    let dirs = parts.len().saturating_sub(1).min(2);
    parts[..dirs].iter().position(|p| is_drive_folder(p)).map(|i| i + 1)
}

/// `C`, `c$`, `C:`, `C%3A`: a folder standing for a drive.
pub fn is_drive_folder(name: &str) -> bool {
    let b = name.as_bytes();
    let rest = match b.split_first() {
        Some((l, rest)) if l.is_ascii_alphabetic() => rest,
        _ => return false,
    };
    matches!(rest, b"" | b"$" | b":") || rest.eq_ignore_ascii_case(b"%3a")
}

fn is_exchange_only(parts: &[String]) -> bool {
    parts.first().is_some_and(|p| p.eq_ignore_ascii_case("exchange server"))
}

/// The kind of place a file sits in, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    /// `owa\auth`, `ecp\auth`, `aspnet_client`: web shell drop folders
    /// where only a few known files belong.
    ShellDrop,
    /// Other folders IIS serves (`FrontEnd\HttpProxy`, `ClientAccess`,
    /// `inetpub\wwwroot`).
    WebRoot,
    /// `Temporary ASP.NET Files`: compiled pages.
    TempAspNet,
    /// Where attackers stage dumps and archives (`ProgramData`,
    /// `Windows\Temp`, `C:\root`, `Users\Public`, `PerfLogs`).
    Staging,
    /// Anywhere else.
    Other,
}

/// Classify a lower-case Windows path.
pub fn place_of(lower: &str) -> Place {
    if shell_drop_dir(lower).is_some() {
        Place::ShellDrop
    } else if lower.contains(r"\temporary asp.net files\") {
        Place::TempAspNet
    } else if lower.contains(r"\frontend\httpproxy\")
        || lower.contains(r"\clientaccess\")
        || lower.starts_with(r"c:\inetpub\wwwroot\")
    {
        Place::WebRoot
    } else if [
        r"c:\programdata\",
        r"c:\windows\temp\",
        r"c:\root\",
        r"c:\users\public\",
        r"c:\perflogs\",
        r"c:\users\all users\",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
    {
        Place::Staging
    } else {
        Place::Other
    }
}

/// The web shell drop folders and what legitimately sits directly in
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellDir {
    /// `FrontEnd\HttpProxy\owa\auth` (or `ClientAccess\Owa\auth`).
    OwaAuth,
    /// `FrontEnd\HttpProxy\ecp\auth`.
    EcpAuth,
    /// `inetpub\wwwroot\aspnet_client`.
    AspnetClient,
}

/// Which drop folder the path is in, and the path below that folder.
pub fn shell_drop_dir(lower: &str) -> Option<(ShellDir, &str)> {
    const DIRS: &[(&str, ShellDir)] = &[
        (r"\frontend\httpproxy\owa\auth\", ShellDir::OwaAuth),
        (r"\clientaccess\owa\auth\", ShellDir::OwaAuth),
        (r"\frontend\httpproxy\ecp\auth\", ShellDir::EcpAuth),
        (r"\inetpub\wwwroot\aspnet_client\", ShellDir::AspnetClient),
    ];
    DIRS.iter().find_map(|(needle, dir)| {
        let i = lower.find(needle)?;
        Some((*dir, &lower[i + needle.len()..]))
    })
}

/// Files Exchange itself puts directly in `owa\auth` (2013-2019); the
/// version and `Current` subfolders hold only static resources.
const OWA_AUTH_LEGIT: &[&str] = &[
    "errorfe.aspx",
    "expiredpassword.aspx",
    "frowny.aspx",
    "getidtoken.htm",
    "logoff.aspx",
    "logon.aspx",
    "outlookcn.aspx",
    "redirsuiteserviceproxy.aspx",
    "signout.aspx",
    "web.config",
];

/// Extensions IIS runs as code.
pub const SCRIPT_EXTS: &[&str] = &[
    "aspx", "ashx", "asmx", "asp", "asax", "ascx", "axd", "cshtml", "svc",
    "soap", "rem", "php", "jsp", "cer", "asa",
];

/// Whether `ext` (lower case, no dot) is run by IIS.
pub fn is_script_ext(ext: &str) -> bool {
    SCRIPT_EXTS.contains(&ext)
}

/// Whether a file (path below its drop folder, lower case) is one
/// Exchange or IIS put there.
pub fn is_legit_in(dir: ShellDir, below: &str) -> bool {
    let nested = below.contains('\\');
    let name = below.rsplit('\\').next().unwrap_or(below);
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match dir {
        ShellDir::OwaAuth if nested => !is_script_ext(ext),
        ShellDir::OwaAuth => OWA_AUTH_LEGIT.contains(&name),
        ShellDir::EcpAuth => {
            !nested && (name == "timeoutlogout.aspx" || name == "web.config")
        }
        // Normally holds only empty `system_web\<version>` folders.
        ShellDir::AspnetClient => false,
    }
}

/// The URL path a file in a web folder is served under (lower case), if
/// any: `\FrontEnd\HttpProxy\owa\auth\x.aspx` -> `/owa/auth/x.aspx`.
pub fn url_path(lower: &str) -> Option<String> {
    const ROOTS: &[&str] =
        &[r"\frontend\httpproxy\", r"\clientaccess\", r"c:\inetpub\wwwroot\"];
    let rest = ROOTS.iter().find_map(|r| {
        let i = lower.find(r)?;
        Some(&lower[i + r.len()..])
    })?;
    Some(format!("/{}", rest.replace('\\', "/")))
}

/// Normalise a path written in a log (`C:\...`, `\\host\C$\...`,
/// `\\?\C:\...`) to the lower-case `c:\...` form.
pub fn normalise_logged_path(logged: &str) -> Option<String> {
    let p = logged.trim().trim_matches('"').replace('/', "\\");
    let p = p.strip_prefix(r"\\?\").unwrap_or(&p).to_string();
    let lower = p.to_lowercase();
    if lower.len() > 2 && lower.as_bytes()[1] == b':' {
        return Some(lower);
    }
    // \\host\c$\rest -> c:\rest
    let unc = lower.strip_prefix(r"\\")?;
    let mut it = unc.splitn(3, '\\');
    let _host = it.next()?;
    let share = it.next()?;
    let rest = it.next().unwrap_or("");
    let drive = share.strip_suffix('$')?;
    (drive.len() == 1).then(|| format!("{drive}:\\{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wp(p: &str, base: &str) -> String {
        windows_path(Path::new(p), Path::new(base), false).display
    }

    #[test]
    fn image_and_triage_layouts_map_to_c_drive() {
        assert_eq!(
            wp("/mnt/img/Windows/Temp/a.dmp", "/mnt/img"),
            r"C:\Windows\Temp\a.dmp"
        );
        assert_eq!(
            wp("/cases/h1/C/inetpub/wwwroot/x.aspx", "/cases/h1"),
            r"C:\inetpub\wwwroot\x.aspx"
        );
        assert_eq!(
            wp("/x/Exchange Server/V15/Logging/a.log", "/x"),
            r"C:\Program Files\Microsoft\Exchange Server\V15\Logging\a.log"
        );
        assert_eq!(wp("/img/root/lsass.dmp", "/img"), r"C:\root\lsass.dmp");
        // A drive folder is never part of the Windows path, even when
        // none of the well-known top-level folders was collected.
        assert_eq!(wp("/cases/C/root/a.7z", "/cases"), r"C:\root\a.7z");
        assert_eq!(wp("/cases/C%3A/root/a.7z", "/cases"), r"C:\root\a.7z");
        assert_eq!(wp("/cases/h1/c$/root/x.zip", "/cases"), r"C:\root\x.zip");
        // A file named like a drive stays a file, a deep folder a folder.
        assert_eq!(wp("/cases/C", "/cases"), r"C:\C");
        assert_eq!(wp("/x/tools/old/c/a.zip", "/x"), r"C:\tools\old\c\a.zip");
        let ex = windows_path(
            Path::new("/e/FrontEnd/HttpProxy/owa/auth/a.aspx"),
            Path::new("/e"),
            true,
        );
        assert_eq!(
            ex.lower,
            r"c:\program files\microsoft\exchange server\v15\frontend\httpproxy\owa\auth\a.aspx"
        );
    }

    #[test]
    fn places_and_urls() {
        let owa = r"c:\program files\microsoft\exchange server\v15\frontend\httpproxy\owa\auth\x.aspx";
        assert_eq!(place_of(owa), Place::ShellDrop);
        assert_eq!(url_path(owa).unwrap(), "/owa/auth/x.aspx");
        assert_eq!(
            url_path(r"c:\inetpub\wwwroot\aspnet_client\a.aspx").unwrap(),
            "/aspnet_client/a.aspx"
        );
        assert_eq!(place_of(r"c:\programdata\it.zip"), Place::Staging);
        assert_eq!(place_of(r"c:\windows\system32\x.dll"), Place::Other);
    }

    #[test]
    fn allowlists() {
        assert!(is_legit_in(ShellDir::OwaAuth, "logon.aspx"));
        assert!(!is_legit_in(ShellDir::OwaAuth, "ohyeah.aspx"));
        assert!(is_legit_in(ShellDir::OwaAuth, r"current\themes\a.css"));
        assert!(!is_legit_in(ShellDir::OwaAuth, r"15.1.2\x.aspx"));
        assert!(is_legit_in(ShellDir::EcpAuth, "timeoutlogout.aspx"));
        assert!(!is_legit_in(ShellDir::AspnetClient, "a.aspx"));
    }

    #[test]
    fn logged_paths_normalise() {
        assert_eq!(
            normalise_logged_path(r"\\127.0.0.1\C$\inetpub\a.aspx").unwrap(),
            r"c:\inetpub\a.aspx"
        );
        assert_eq!(
            normalise_logged_path(r"C:\Program Files\x").unwrap(),
            r"c:\program files\x"
        );
        assert!(normalise_logged_path("relative").is_none());
    }
}
