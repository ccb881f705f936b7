//! The Windows server vigie runs on, found the way Windows itself says:
//! where Exchange is installed (the registry's `MsiInstallPath`, then
//! `%ExchangeInstallPath%`, then the default path), where IIS writes its
//! logs (each site's `logFile` directory in applicationHost.config,
//! environment variables expanded), where the event logs are, and, on
//! Windows, the registry keys `vigie check` judges, read through the
//! registry API because the hive files of a running system are locked.
//!
//! The discovery logic is plain code over a [`System`] (environment,
//! registry, files), so it is tested on every platform with a fake one;
//! [`windows::Live`] is the real one. Nothing here writes anything.

use vigie_health::iis::AppHost;
use vigie_health::xml::ConfigText;
use vigie_model::{ItemError, ItemErrorKind};

// The one place in vigie that calls Windows directly (registry and token
// FFI); every block says why it is sound.
#[cfg(windows)]
#[allow(unsafe_code)]
pub mod windows;

/// `HKLM\SOFTWARE` key holding Exchange's setup values.
pub const SETUP_KEY: &str = r"SOFTWARE\Microsoft\ExchangeServer\v15\Setup";
/// Exchange's default install folder below the system drive.
const DEFAULT_INSTALL: &str = r"\Program Files\Microsoft\Exchange Server\V15";
/// IIS's default log folder (when applicationHost.config names none).
const DEFAULT_IIS_LOGS: &str = r"%SystemDrive%\inetpub\logs\LogFiles";

/// What discovery asks of the machine.
pub trait System {
    /// An environment variable.
    fn var(&self, name: &str) -> Option<String>;
    /// A string value below `HKLM`: `Ok(None)` when the key or value does
    /// not exist, `Err` with the reason when it could not be read.
    fn hklm_string(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Option<String>, String>;
    /// A file's bytes (applicationHost.config).
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>>;
}

/// Where a path came from, for the notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The registry.
    Registry,
    /// An environment variable.
    Environment,
    /// A configuration file.
    Config,
    /// Windows', IIS's or Exchange's default.
    Default,
}

impl Origin {
    fn says(self, what: &str) -> String {
        match self {
            Origin::Registry => format!("from the registry ({what})"),
            Origin::Environment => format!("from the environment ({what})"),
            Origin::Config => format!("from {what}"),
            Origin::Default => "the default path".to_string(),
        }
    }
}

/// The live server's layout: every path in Windows form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `%COMPUTERNAME%`.
    pub computer: String,
    /// `C:`.
    pub system_drive: String,
    /// `C:\Windows`.
    pub system_root: String,
    /// `C:\ProgramData`.
    pub program_data: String,
    /// The Exchange install folder, without a trailing `\`.
    pub install: String,
    /// Where [`Layout::install`] came from.
    pub install_origin: Origin,
    /// IIS log folders, expanded.
    pub iis_logs: Vec<String>,
    /// Where the IIS log folders came from.
    pub iis_logs_origin: Origin,
    /// `C:\Windows\System32\winevt\Logs`.
    pub event_logs: String,
    /// applicationHost.config.
    pub apphost: String,
    /// What discovery could not read, each naming the place and why.
    pub errors: Vec<ItemError>,
}

impl Layout {
    /// Discover the layout of the machine `sys` describes.
    pub fn discover(sys: &dyn System) -> Layout {
        let system_drive = sys
            .var("SystemDrive")
            .map(|d| d.trim_end_matches('\\').to_string())
            .unwrap_or_else(|| "C:".into());
        let system_root = sys
            .var("SystemRoot")
            .map(|d| d.trim_end_matches('\\').to_string())
            .unwrap_or_else(|| format!(r"{system_drive}\Windows"));
        let program_data = sys
            .var("ProgramData")
            .unwrap_or_else(|| format!(r"{system_drive}\ProgramData"));
        let mut layout = Layout {
            computer: sys
                .var("COMPUTERNAME")
                .unwrap_or_else(|| "localhost".into()),
            apphost: format!(
                r"{system_root}\System32\inetsrv\config\applicationHost.config"
            ),
            event_logs: format!(r"{system_root}\System32\winevt\Logs"),
            system_drive,
            system_root,
            program_data,
            install: String::new(),
            install_origin: Origin::Default,
            iis_logs: Vec::new(),
            iis_logs_origin: Origin::Default,
            errors: Vec::new(),
        };
        layout.find_install(sys);
        layout.find_iis_logs(sys);
        layout
    }

    fn find_install(&mut self, sys: &dyn System) {
        let from_registry = match sys.hklm_string(SETUP_KEY, "MsiInstallPath")
        {
            Ok(v) => v.filter(|s| !s.trim().is_empty()),
            Err(why) => {
                self.errors.push(ItemError::new(
                    format!(r"HKLM\{SETUP_KEY} MsiInstallPath"),
                    ItemErrorKind::Io,
                    format!("cannot read the registry value: {why}"),
                ));
                None
            }
        };
        let (path, origin) = if let Some(p) = from_registry {
            (p, Origin::Registry)
        } else if let Some(p) =
            sys.var("ExchangeInstallPath").filter(|s| !s.trim().is_empty())
        {
            (p, Origin::Environment)
        } else {
            (
                format!("{}{DEFAULT_INSTALL}", self.system_drive),
                Origin::Default,
            )
        };
        self.install =
            self.expand(sys, path.trim()).trim_end_matches('\\').to_string();
        self.install_origin = origin;
    }

    fn find_iis_logs(&mut self, sys: &dyn System) {
        let dirs = match sys.read(&self.apphost) {
            Ok(bytes) => {
                let text =
                    ConfigText::from_bytes(self.apphost.as_ref(), &bytes);
                match AppHost::parse(&text) {
                    Ok(host) => host.log_dirs,
                    Err(e) => {
                        self.errors.push(e.to_item());
                        Vec::new()
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                self.errors.push(ItemError::new(
                    self.apphost.clone(),
                    ItemErrorKind::Io,
                    format!("cannot read IIS's configuration: {e}"),
                ));
                Vec::new()
            }
        };
        self.iis_logs_origin =
            if dirs.is_empty() { Origin::Default } else { Origin::Config };
        let dirs = if dirs.is_empty() {
            vec![DEFAULT_IIS_LOGS.to_string()]
        } else {
            dirs
        };
        self.iis_logs = dirs
            .iter()
            .map(|d| self.expand(sys, d).trim_end_matches('\\').to_string())
            .collect();
    }

    /// Expand `%VAR%` references as Windows does: unknown ones stay.
    pub fn expand(&self, sys: &dyn System, text: &str) -> String {
        expand_vars(text, &|name| match name.to_ascii_lowercase().as_str() {
            "systemdrive" => Some(self.system_drive.clone()),
            "systemroot" | "windir" => Some(self.system_root.clone()),
            _ => sys.var(name),
        })
    }

    /// `ExSetup.exe` in the install folder.
    pub fn exsetup(&self) -> String {
        format!(r"{}\Bin\ExSetup.exe", self.install)
    }

    /// One sentence per discovered place, for stderr.
    pub fn notes(&self) -> Vec<String> {
        vec![
            format!(
                "Exchange install folder {}, {}",
                self.install,
                self.install_origin.says(r"HKLM\...\Setup MsiInstallPath")
            ),
            format!(
                "IIS logs in {}, {}",
                self.iis_logs.join(", "),
                self.iis_logs_origin.says("applicationHost.config")
            ),
            format!("event logs in {}", self.event_logs),
        ]
    }
}

/// Replace each `%NAME%` that `lookup` knows; others are kept as written.
pub fn expand_vars(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('%') {
            Some(end) if end > 0 => {
                let name = &after[..end];
                match lookup(name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('%');
                        out.push_str(name);
                        out.push('%');
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push('%');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
