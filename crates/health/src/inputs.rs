//! Reading one server's inputs: hives and `.reg` exports, ExSetup.exe,
//! applicationHost.config, every virtual directory's web.config, the
//! SharedWebConfig.config files, EdgeTransport.exe.config,
//! noderunner.exe.config, cachtokn.dll and optional CLIXML exports. Each
//! read failure is kept as an error and the rest goes on.

use std::path::{Path, PathBuf};

use crate::clixml;
use crate::discover::{ServerTree, child_ci, resolve_ci};
use crate::error::{HealthError, read_limited};
use crate::iis::{AppHost, RuleSet, linked_configuration, web_config_rules};
use crate::overrides::{SettingOverride, from_clixml};
use crate::registry::{
    HiveKind, RegData, Registry, read_hive, read_reg_export,
};
use crate::xml::ConfigText;

/// Default install folder, relative to `C:\`.
pub const DEFAULT_INSTALL: &str =
    r"C:\Program Files\Microsoft\Exchange Server\V15\";
const SETUP_KEY: &str = r"Microsoft\ExchangeServer\v15\Setup";
/// ExSetup.exe is about 50 MB; anything far larger is not it.
const MAX_PE: u64 = 512 << 20;

/// A web.config read for its rewrite rules.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// `Default Web Site/owa` (`Default Web Site` for the site root).
    pub vdir: String,
    /// The file.
    pub path: PathBuf,
    /// Its rules.
    pub rules: Vec<RuleSet>,
    /// The SharedWebConfig.config it links to, mapped, and whether found.
    pub linked: Option<(String, bool)>,
    /// Module registrations (`modules`, `globalModules`).
    pub modules: Vec<crate::modules::Registration>,
}

/// Build numbers read from the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildSources {
    /// `MsiProductMajor.Minor.BuildMajor.BuildMinor` (CU level).
    pub registry: Option<[u32; 4]>,
    /// Where the registry build came from.
    pub registry_source: Option<String>,
    /// ExSetup.exe's file version.
    pub exsetup: Option<[u32; 4]>,
    /// The file (or export) it came from.
    pub exsetup_source: Option<String>,
}

/// Everything read for one server.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Server name.
    pub name: String,
    /// The copy's folder.
    pub root: String,
    /// Registry keys read.
    pub registry: Registry,
    /// The install folder as the server knows it (`C:\...\V15\`).
    pub install: String,
    /// Builds.
    pub build: BuildSources,
    /// applicationHost.config, if found and valid.
    pub apphost: Option<AppHost>,
    /// Where applicationHost.config was looked for.
    pub apphost_path: Option<PathBuf>,
    /// Site and virtual directory web.configs.
    pub web_configs: Vec<WebConfig>,
    /// Config files that exist but are not well-formed: (path, error).
    pub invalid_configs: Vec<(PathBuf, String)>,
    /// cachtokn.dll version.
    pub cachtokn: Option<(PathBuf, [u32; 4])>,
    /// Setting overrides, when an export was given.
    pub overrides: Option<Vec<SettingOverride>>,
    /// Exports read.
    pub exports: Vec<PathBuf>,
    /// What could not be read.
    pub errors: Vec<HealthError>,
}

impl Inputs {
    /// Read a server's inputs.
    pub fn gather(tree: &ServerTree, exports: Option<&Path>) -> Inputs {
        Inputs::gather_with(tree, exports, None)
    }

    /// Read a server's inputs, its registry given (a live server's, read
    /// through the registry API) instead of read from hives and exports.
    pub fn gather_with(
        tree: &ServerTree,
        exports: Option<&Path>,
        registry: Option<Registry>,
    ) -> Inputs {
        let mut inp = Inputs {
            name: tree.name.clone(),
            root: tree.collection.display().to_string(),
            ..Inputs::default()
        };
        match registry {
            Some(r) => inp.registry = r,
            None => inp.read_registry(tree),
        }
        inp.install = inp
            .registry
            .software
            .as_ref()
            .and_then(|s| {
                s.get(HiveKind::Software, SETUP_KEY, "MsiInstallPath")
                    .data
                    .and_then(RegData::as_text)
            })
            .unwrap_or_else(|| DEFAULT_INSTALL.to_string());
        inp.build.registry = registry_build(&inp.registry);
        if inp.build.registry.is_some() {
            inp.build.registry_source =
                inp.registry.software.as_ref().map(|s| s.source.clone());
        }
        inp.read_exsetup(tree);
        inp.read_iis(tree);
        inp.read_other_configs(tree);
        inp.read_cachtokn(tree);
        if let Some(dir) = exports {
            let dir = child_ci(dir, &tree.name)
                .filter(|d| d.is_dir())
                .unwrap_or(dir.to_path_buf());
            inp.read_exports(&dir);
        }
        inp
    }

    fn read_registry(&mut self, tree: &ServerTree) {
        for (name, kind) in
            [("SOFTWARE", HiveKind::Software), ("SYSTEM", HiveKind::System)]
        {
            let Some(p) = resolve_ci(
                &tree.volume,
                &format!(r"Windows\System32\config\{name}"),
            ) else {
                continue;
            };
            match read_hive(&p, kind) {
                Ok(read) => {
                    self.registry.merge(kind, read.snapshot);
                    self.errors.extend(read.stale);
                }
                Err(e) => self.errors.push(e),
            }
        }
        for file in reg_files(&tree.collection) {
            match read_reg_export(&file) {
                Ok(snaps) => {
                    for (kind, snap) in snaps {
                        self.registry.merge(kind, snap);
                    }
                }
                Err(e) => self.errors.push(e),
            }
        }
    }

    fn map(&self, tree: &ServerTree, win: &str) -> Option<PathBuf> {
        tree.map(win, Some(&self.install))
    }

    fn read_exsetup(&mut self, tree: &ServerTree) {
        let Some(p) = self.map(
            tree,
            &format!(r"{}Bin\ExSetup.exe", with_slash(&self.install)),
        ) else {
            return;
        };
        match pe_version(&p) {
            Ok(v) => {
                self.build.exsetup = Some(v);
                self.build.exsetup_source = Some(p.display().to_string());
            }
            Err(e) => self.errors.push(e),
        }
    }

    fn read_iis(&mut self, tree: &ServerTree) {
        let path = self.map(
            tree,
            r"C:\Windows\System32\inetsrv\config\applicationHost.config",
        );
        self.apphost_path = path.clone();
        if let Some(p) = &path {
            match AppHost::read(p) {
                Ok(h) => self.apphost = Some(h),
                Err(e) => self.bad_config(p, e),
            }
        }
        let apps: Vec<(String, String)> = match &self.apphost {
            Some(h) => h
                .apps
                .iter()
                .filter(|a| {
                    a.site == "Default Web Site"
                        || a.site == "Exchange Back End"
                })
                .map(|a| {
                    let vdir = if a.path == "/" {
                        a.site.clone()
                    } else {
                        format!("{}{}", a.site, a.path)
                    };
                    (vdir, a.physical_path.clone())
                })
                .collect(),
            None => vec![(
                "Default Web Site".into(),
                r"%SystemDrive%\inetpub\wwwroot".into(),
            )],
        };
        for (vdir, phys) in apps {
            let Some(dir) = self.map(tree, &phys) else { continue };
            let Some(file) =
                child_ci(&dir, "web.config").filter(|f| f.is_file())
            else {
                continue;
            };
            self.read_web_config(tree, vdir, file);
        }
    }

    fn read_web_config(
        &mut self,
        tree: &ServerTree,
        vdir: String,
        file: PathBuf,
    ) {
        let text = match ConfigText::read(&file) {
            Ok(t) => t,
            Err(e) => return self.errors.push(e),
        };
        let rules = match web_config_rules(&text) {
            Ok(r) => r,
            Err(e) => return self.bad_config(&file, e),
        };
        let linked = linked_configuration(&text).ok().flatten().map(|href| {
            let found = self.map(tree, &href).is_some_and(|p| p.is_file());
            (href, found)
        });
        let modules = crate::modules::registrations(&text).unwrap_or_default();
        self.web_configs.push(WebConfig {
            vdir,
            path: file,
            rules,
            linked,
            modules,
        });
    }

    fn read_other_configs(&mut self, tree: &ServerTree) {
        let install = with_slash(&self.install);
        for rel in [
            r"FrontEnd\HttpProxy\SharedWebConfig.config",
            r"ClientAccess\SharedWebConfig.config",
            r"Bin\EdgeTransport.exe.config",
            r"Bin\Search\Ceres\Runtime\1.0\noderunner.exe.config",
        ] {
            let Some(p) = self.map(tree, &format!("{install}{rel}")) else {
                continue;
            };
            match ConfigText::read(&p).and_then(|t| t.parse().map(|_| ())) {
                Ok(()) => {}
                Err(e @ HealthError::Xml { .. }) => self.bad_config(&p, e),
                Err(e) => self.errors.push(e),
            }
        }
    }

    fn bad_config(&mut self, path: &Path, e: HealthError) {
        if matches!(e, HealthError::Xml { .. }) {
            self.invalid_configs.push((path.to_path_buf(), e.to_string()));
        }
        self.errors.push(e);
    }

    fn read_cachtokn(&mut self, tree: &ServerTree) {
        let Some(p) =
            self.map(tree, r"C:\Windows\System32\inetsrv\cachtokn.dll")
        else {
            return;
        };
        match pe_version(&p) {
            Ok(v) => self.cachtokn = Some((p, v)),
            Err(e) => self.errors.push(e),
        }
    }

    /// Read every `*.xml` CLIXML export of a folder.
    pub fn read_exports(&mut self, dir: &Path) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            self.errors.push(HealthError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::other(
                    "--exports folder cannot be listed",
                ),
            });
            return;
        };
        let mut files: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml"))
            })
            .collect();
        files.sort();
        for f in files {
            self.read_export(&f);
        }
    }

    /// Read one CLIXML export: setting overrides, ExSetup version.
    pub fn read_export(&mut self, file: &Path) {
        let values = match clixml::read_file(file) {
            Ok(v) => v,
            Err(e) => return self.errors.push(e),
        };
        self.exports.push(file.to_path_buf());
        let source = file.display().to_string();
        let found = from_clixml(&values, &source);
        let is_override_export = !found.is_empty()
            || file.file_name().is_some_and(|n| {
                n.to_string_lossy().to_lowercase().contains("settingoverride")
            });
        if is_override_export {
            self.overrides.get_or_insert_with(Vec::new).extend(found);
        }
        for v in &values {
            let Some(o) = v.obj() else { continue };
            if self.build.exsetup.is_none()
                && let Some(ver) =
                    o.text("FileVersion").and_then(parse_version)
            {
                self.build.exsetup = Some(ver);
                self.build.exsetup_source = Some(source.clone());
            }
        }
    }
}

fn with_slash(p: &str) -> String {
    if p.ends_with('\\') { p.to_string() } else { format!("{p}\\") }
}

/// `.reg` exports at the top of a collection folder.
fn reg_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut v: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("reg"))
        })
        .collect();
    v.sort();
    v
}

/// `15.02.1118.025` or `15.2.1118.25` → numbers.
pub fn parse_version(s: &str) -> Option<[u32; 4]> {
    let parts: Vec<u32> = s
        .trim()
        .split('.')
        .map(|p| p.trim().parse().ok())
        .collect::<Option<_>>()?;
    (parts.len() == 4).then(|| [parts[0], parts[1], parts[2], parts[3]])
}

fn registry_build(reg: &Registry) -> Option<[u32; 4]> {
    let s = reg.software.as_ref()?;
    let n = |name| {
        s.get(HiveKind::Software, SETUP_KEY, name)
            .data
            .and_then(RegData::as_u64)
    };
    Some([
        n("MsiProductMajor")? as u32,
        n("MsiProductMinor")? as u32,
        n("MsiBuildMajor")? as u32,
        n("MsiBuildMinor")? as u32,
    ])
}

/// A PE file's FileVersion.
pub fn pe_version(path: &Path) -> Result<[u32; 4], HealthError> {
    let bytes = read_limited(path, MAX_PE)?;
    vigie_builds::pe::file_version(&bytes).map(|v| v.map(u32::from)).map_err(
        |e| HealthError::Pe {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
    )
}
