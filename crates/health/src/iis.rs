//! What the judgements need from IIS configuration, read once into owned
//! structures: `applicationHost.config`'s locations (Extended Protection,
//! SSL flags, IP filter), global and managed modules, sites and their
//! physical paths, and URL Rewrite rules from any config file.

use std::path::{Path, PathBuf};

use roxmltree::Node;

use crate::error::HealthError;
use crate::xml::{ConfigText, at, attr_at, children};

/// One `<location path="...">` of applicationHost.config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// `Default Web Site/ECP`.
    pub path: String,
    /// `.../windowsAuthentication/extendedProtection@tokenChecking`.
    pub token_checking: Option<String>,
    /// `system.webServer/security/access@sslFlags`.
    pub ssl_flags: Option<String>,
    /// `system.webServer/security/ipSecurity@allowUnlisted`.
    pub allow_unlisted: Option<String>,
    /// `ipSecurity/add` entries: (ipAddress, allowed).
    pub ip_entries: Vec<(String, String)>,
    /// URL Rewrite rule sets at this location (`rules`,
    /// `outboundRules`).
    pub rules: Vec<RuleSet>,
}

/// `system.webServer/globalModules/add`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalModule {
    /// `name`.
    pub name: String,
    /// `image` (with `%windir%`-style variables as written).
    pub image: String,
}

/// `system.webServer/modules/add` at server level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedModule {
    /// `name`.
    pub name: String,
    /// `type` (managed modules) or empty (native ones).
    pub kind: String,
}

/// An application of a site and where its files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// `Default Web Site`.
    pub site: String,
    /// `/owa` (`/` for the site root).
    pub path: String,
    /// `physicalPath` of its root virtual directory, as written.
    pub physical_path: String,
}

/// One URL Rewrite rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewriteRule {
    /// `name`.
    pub name: String,
    /// `enabled` (default true).
    pub enabled: bool,
    /// `match@url`.
    pub match_url: Option<String>,
    /// `conditions/add`: (input, pattern).
    pub conditions: Vec<(String, String)>,
    /// `action@type`.
    pub action: Option<String>,
    /// `outbound` for `outboundRules`.
    pub outbound: bool,
}

/// Which rewrite element a [`RuleSet`] is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RuleKind {
    /// `<globalRules>` (server level only, never inherited away).
    Global,
    /// `<rules>` (inherited by every lower level until a `<clear/>`).
    #[default]
    Rules,
    /// `<outboundRules>`.
    Outbound,
}

/// The rules of one `<rules>`/`<globalRules>`/`<outboundRules>` element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSet {
    /// File and element path, for evidence.
    pub scope: String,
    /// Which element.
    pub kind: RuleKind,
    /// Rules in effect after `<clear/>` and `<remove>`.
    pub rules: Vec<RewriteRule>,
    /// A `<clear/>` drops rules inherited from above.
    pub cleared: bool,
    /// Names given to `<remove>` (each drops that rule if inherited).
    pub removed: Vec<String>,
}

/// applicationHost.config, as far as judged.
#[derive(Debug, Clone, Default)]
pub struct AppHost {
    /// The file.
    pub path: PathBuf,
    /// Every `<location>`.
    pub locations: Vec<Location>,
    /// `globalModules`.
    pub global_modules: Vec<GlobalModule>,
    /// Server-level `modules`.
    pub modules: Vec<ManagedModule>,
    /// Applications of every site.
    pub apps: Vec<App>,
    /// Server-level rewrite rules (`globalRules`, `rules`).
    pub rules: Vec<RuleSet>,
    /// Every module registration (`globalModules`, `modules`, also in
    /// `<location>`s).
    pub registrations: Vec<crate::modules::Registration>,
    /// IIS log folders as written (`%SystemDrive%\inetpub\logs\LogFiles`):
    /// `siteDefaults`' `logFile` directory first, then each site's own.
    pub log_dirs: Vec<String>,
}

impl AppHost {
    /// Read and parse applicationHost.config.
    pub fn read(path: &Path) -> Result<AppHost, HealthError> {
        AppHost::parse(&ConfigText::read(path)?)
    }

    /// Parse applicationHost.config text.
    pub fn parse(cfg: &ConfigText) -> Result<AppHost, HealthError> {
        let doc = cfg.parse()?;
        let root = doc.root_element();
        let file = cfg.path.display().to_string();
        let mut host = AppHost {
            path: cfg.path.clone(),
            registrations: crate::modules::in_root(root),
            ..AppHost::default()
        };
        for loc in children(root, "location") {
            host.locations.push(location(loc, &file));
        }
        if let Some(ws) = at(root, "system.webServer") {
            host.global_modules = children_of(ws, "globalModules", "add")
                .map(|n| GlobalModule {
                    name: n.attribute("name").unwrap_or_default().to_string(),
                    image: n
                        .attribute("image")
                        .unwrap_or_default()
                        .to_string(),
                })
                .collect();
            host.modules = children_of(ws, "modules", "add")
                .map(|n| ManagedModule {
                    name: n.attribute("name").unwrap_or_default().to_string(),
                    kind: n.attribute("type").unwrap_or_default().to_string(),
                })
                .collect();
            host.rules = rule_sets(
                ws,
                &format!("{file} configuration/system.webServer"),
            );
        }
        if let Some(sites) = at(root, "system.applicationHost/sites") {
            host.log_dirs = log_dirs(sites);
            for site in children(sites, "site") {
                let name = site.attribute("name").unwrap_or_default();
                for app in children(site, "application") {
                    let vdir = children(app, "virtualDirectory")
                        .find(|v| v.attribute("path") == Some("/"));
                    host.apps.push(App {
                        site: name.to_string(),
                        path: app.attribute("path").unwrap_or("/").to_string(),
                        physical_path: vdir
                            .and_then(|v| v.attribute("physicalPath"))
                            .unwrap_or_default()
                            .to_string(),
                    });
                }
            }
        }
        Ok(host)
    }

    /// The location whose path equals `path` (case-insensitive).
    pub fn location(&self, path: &str) -> Option<&Location> {
        self.locations.iter().find(|l| l.path.eq_ignore_ascii_case(path))
    }
}

/// `logFile` directories of `siteDefaults` and of each site, distinct.
fn log_dirs(sites: Node<'_, '_>) -> Vec<String> {
    let defaults = children(sites, "siteDefaults");
    let mut out: Vec<String> = Vec::new();
    for holder in defaults.chain(children(sites, "site")) {
        let dir = children(holder, "logFile")
            .filter_map(|l| l.attribute("directory"))
            .map(str::trim)
            .find(|d| !d.is_empty());
        if let Some(d) = dir
            && !out.iter().any(|o| o.eq_ignore_ascii_case(d))
        {
            out.push(d.to_string());
        }
    }
    out
}

fn children_of<'a, 'i>(
    ws: Node<'a, 'i>,
    section: &'a str,
    tag: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    at(ws, section).into_iter().flat_map(move |s| children(s, tag))
}

fn location(loc: Node<'_, '_>, file: &str) -> Location {
    let path = loc.attribute("path").unwrap_or_default().to_string();
    let sec = "system.webServer/security";
    let ip = at(loc, &format!("{sec}/ipSecurity"));
    let scope = format!("{file} location[@path='{path}']/system.webServer");
    let rules = at(loc, "system.webServer")
        .map(|ws| rule_sets(ws, &scope))
        .unwrap_or_default();
    Location {
        token_checking: attr_at(
            loc,
            &format!(
                "{sec}/authentication/windowsAuthentication/extendedProtection"
            ),
            "tokenChecking",
        )
        .map(str::to_string),
        ssl_flags: attr_at(loc, &format!("{sec}/access"), "sslFlags")
            .map(str::to_string),
        allow_unlisted: ip
            .and_then(|n| n.attribute("allowUnlisted"))
            .map(str::to_string),
        ip_entries: ip
            .into_iter()
            .flat_map(|n| children(n, "add"))
            .map(|a| {
                (
                    a.attribute("ipAddress").unwrap_or_default().to_string(),
                    a.attribute("allowed").unwrap_or("true").to_string(),
                )
            })
            .collect(),
        rules,
        path,
    }
}

/// Rule sets under one `system.webServer` element: `rewrite/globalRules`,
/// `rewrite/rules`, `rewrite/outboundRules`.
pub fn rule_sets(ws: Node<'_, '_>, scope: &str) -> Vec<RuleSet> {
    let Some(rw) = at(ws, "rewrite") else { return Vec::new() };
    let mut out = Vec::new();
    for (tag, kind) in [
        ("globalRules", RuleKind::Global),
        ("rules", RuleKind::Rules),
        ("outboundRules", RuleKind::Outbound),
    ] {
        for el in children(rw, tag) {
            out.push(rule_set(el, &format!("{scope}/rewrite/{tag}"), kind));
        }
    }
    out
}

fn rule_set(el: Node<'_, '_>, scope: &str, kind: RuleKind) -> RuleSet {
    let outbound = kind == RuleKind::Outbound;
    let mut set =
        RuleSet { scope: scope.to_string(), kind, ..RuleSet::default() };
    for c in el.children().filter(Node::is_element) {
        match c.tag_name().name() {
            "clear" => {
                set.rules.clear();
                set.cleared = true;
            }
            "remove" => {
                let name = c.attribute("name").unwrap_or_default();
                set.rules.retain(|r| !r.name.eq_ignore_ascii_case(name));
                set.removed.push(name.to_string());
            }
            "rule" => set.rules.push(rule(c, outbound)),
            _ => {}
        }
    }
    set
}

fn rule(r: Node<'_, '_>, outbound: bool) -> RewriteRule {
    RewriteRule {
        name: r.attribute("name").unwrap_or_default().to_string(),
        enabled: !r
            .attribute("enabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("false")),
        match_url: at(r, "match")
            .and_then(|m| m.attribute("url").or(m.attribute("pattern")))
            .map(str::to_string),
        conditions: at(r, "conditions")
            .into_iter()
            .flat_map(|c| children(c, "add"))
            .map(|a| {
                (
                    a.attribute("input").unwrap_or_default().to_string(),
                    a.attribute("pattern").unwrap_or_default().to_string(),
                )
            })
            .collect(),
        action: at(r, "action")
            .and_then(|a| a.attribute("type"))
            .map(str::to_string),
        outbound,
    }
}

/// The rewrite rules of a `web.config` (site or virtual directory).
pub fn web_config_rules(
    cfg: &ConfigText,
) -> Result<Vec<RuleSet>, HealthError> {
    let doc = cfg.parse()?;
    let root = doc.root_element();
    let scope =
        format!("{} configuration/system.webServer", cfg.path.display());
    Ok(at(root, "system.webServer")
        .map(|ws| rule_sets(ws, &scope))
        .unwrap_or_default())
}

/// The SharedWebConfig.config an Exchange web.config links to
/// (`assemblyBinding/linkedConfiguration@href`, `file://` dropped).
pub fn linked_configuration(
    cfg: &ConfigText,
) -> Result<Option<String>, HealthError> {
    let doc = cfg.parse()?;
    Ok(doc
        .descendants()
        .find(|n| {
            n.is_element() && n.tag_name().name() == "linkedConfiguration"
        })
        .and_then(|n| n.attribute("href"))
        .map(|h| h.trim_start_matches("file://").to_string()))
}
