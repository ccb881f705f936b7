//! What vigie knows about IIS modules: the global (native) modules IIS
//! and Exchange ship, the managed module types they ship, and every
//! module registration of a configuration file (`globalModules` and
//! `modules`, at server level and in each `<location>`).
//!
//! One list for both users: `vigie check --host` judges a server with it
//! (`iis.module`) and `vigie hunt` reports a module IIS and Exchange do
//! not ship as a finding (`VG-CFG-001`). IIS backdoors (IIS-Raid,
//! Owowa, the modules of ESET's "Anatomy of native IIS malware") register
//! exactly so: a native module in `globalModules`, or a managed
//! `IHttpModule` in a `web.config`'s `modules`.

use roxmltree::Node;

use crate::error::HealthError;
use crate::xml::{ConfigText, children};

/// Global modules IIS and Exchange ship: (name, image file name).
pub const KNOWN_GLOBAL: &[(&str, &str)] = &[
    ("AnonymousAuthenticationModule", "authanon.dll"),
    ("BasicAuthenticationModule", "authbas.dll"),
    ("CertificateMappingAuthenticationModule", "authcert.dll"),
    ("IISCertificateMappingAuthenticationModule", "authmap.dll"),
    ("ConfigurationValidationModule", "validcfg.dll"),
    ("CustomErrorModule", "custerr.dll"),
    ("CustomLoggingModule", "logcust.dll"),
    ("DefaultDocumentModule", "defdoc.dll"),
    ("DigestAuthenticationModule", "authmd5.dll"),
    ("DirectoryListingModule", "dirlist.dll"),
    ("DynamicCompressionModule", "compdyn.dll"),
    ("FailedRequestsTracingModule", "iisfreb.dll"),
    ("FileCacheModule", "cachfile.dll"),
    ("HttpCacheModule", "cachhttp.dll"),
    ("HttpLoggingModule", "loghttp.dll"),
    ("HttpRedirectionModule", "redirect.dll"),
    ("IpRestrictionModule", "iprestr.dll"),
    ("DynamicIpRestrictionModule", "diprestr.dll"),
    ("IsapiFilterModule", "filter.dll"),
    ("IsapiModule", "isapi.dll"),
    ("CgiModule", "cgi.dll"),
    ("FastCgiModule", "iisfcgi.dll"),
    ("ServerSideIncludeModule", "iis_ssi.dll"),
    ("WebSocketModule", "iiswsock.dll"),
    ("ApplicationInitializationModule", "warmup.dll"),
    ("UrlAuthorizationModule", "urlauthz.dll"),
    ("WebDAVModule", "webdav.dll"),
    ("ManagedEngine", "webengine.dll"),
    ("ManagedEngine64", "webengine.dll"),
    ("ManagedEngineV4.0_32bit", "webengine4.dll"),
    ("ManagedEngineV4.0_64bit", "webengine4.dll"),
    ("ProtocolSupportModule", "protsup.dll"),
    ("RequestFilteringModule", "modrqflt.dll"),
    ("RequestMonitorModule", "iisreqs.dll"),
    ("StaticCompressionModule", "compstat.dll"),
    ("StaticFileModule", "static.dll"),
    ("TokenCacheModule", "cachtokn.dll"),
    ("TracingModule", "iisetw.dll"),
    ("UriCacheModule", "cachuri.dll"),
    ("WindowsAuthenticationModule", "authsspi.dll"),
    ("RewriteModule", "rewrite.dll"),
    ("PasswordExpiryModule", "rpcproxy.dll"),
    ("WSMan", "wsmsvc.dll"),
    ("cafe_exppw", "exppw.dll"),
    ("exppw", "exppw.dll"),
    ("kerbauth", "kerbauth.dll"),
];

/// Namespaces of the managed modules ASP.NET, WCF and Exchange ship
/// (`System.Web.Security.FormsAuthenticationModule`,
/// `Microsoft.Exchange.HttpProxy.ProxyModule`, ...).
const KNOWN_NAMESPACES: &[&str] = &["System.", "Microsoft.Exchange."];

/// Public key tokens Microsoft signs .NET Framework and Exchange
/// assemblies with; a managed module type naming another token is not
/// Microsoft's whatever its namespace.
const MICROSOFT_TOKENS: &[&str] =
    &["b03f5f7f11d50a3a", "b77a5c561934e089", "31bf3856ad364e35"];

/// Whether IIS or Exchange ships a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shipped {
    /// A module IIS or Exchange ships, as they ship it.
    Yes,
    /// A shipped module's name with another image or assembly: `expected`
    /// says what it should be.
    Masquerade {
        /// What IIS or Exchange registers under that name.
        expected: String,
    },
    /// Not a module IIS or Exchange ships.
    No,
}

/// The file name of an image path (`%windir%\System32\inetsrv\x.dll`
/// -> `x.dll`).
pub fn image_name(image: &str) -> &str {
    image.rsplit(['\\', '/']).next().unwrap_or_default()
}

/// Judge a global (native) module by name and image.
pub fn global(name: &str, image: &str) -> Shipped {
    let known =
        KNOWN_GLOBAL.iter().find(|(n, _)| n.eq_ignore_ascii_case(name));
    match known {
        Some((_, img)) if img.eq_ignore_ascii_case(image_name(image)) => {
            Shipped::Yes
        }
        Some((_, img)) => Shipped::Masquerade { expected: img.to_string() },
        None => Shipped::No,
    }
}

/// Judge a managed module by its `type` (`Namespace.Class[, Assembly,
/// Version=..., PublicKeyToken=...]`). A native module listed in
/// `modules` (no type) is judged by [`global`] where it is registered.
pub fn managed(kind: &str) -> Shipped {
    let mut parts = kind.split(',').map(str::trim);
    let class = parts.next().unwrap_or_default();
    let assembly = parts.next();
    let token = parts
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("PublicKeyToken"))
        .map(|(_, v)| v.trim().to_ascii_lowercase());
    let known_ns =
        |s: &str| KNOWN_NAMESPACES.iter().any(|ns| s.starts_with(ns));
    if !known_ns(class) {
        return Shipped::No;
    }
    let foreign_assembly = assembly.is_some_and(|a| !known_ns(a));
    let foreign_token =
        token.is_some_and(|t| !MICROSOFT_TOKENS.contains(&t.as_str()));
    if foreign_assembly || foreign_token {
        return Shipped::Masquerade {
            expected: "a System.* or Microsoft.Exchange.* assembly signed by Microsoft"
                .into(),
        };
    }
    Shipped::Yes
}

/// Which list a registration is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `system.webServer/globalModules` (native; `image`).
    Global,
    /// `system.webServer/modules` (managed when it has a `type`).
    Modules,
}

/// One `<add>` of `globalModules` or `modules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// Which list.
    pub section: Section,
    /// `name`.
    pub name: String,
    /// `image` (global) or `type` (managed; empty for a native module
    /// enabled by name).
    pub value: String,
    /// Element path for evidence:
    /// `location[@path='Default Web Site/owa']/system.webServer/modules/add[@name='X']@type`.
    pub element: String,
}

impl Registration {
    /// Whether IIS or Exchange ships it; `None` for a native module
    /// enabled by name in `modules` (its `globalModules` entry is what
    /// says which image runs).
    pub fn shipped(&self) -> Option<Shipped> {
        match self.section {
            Section::Global => Some(global(&self.name, &self.value)),
            Section::Modules if self.value.is_empty() => None,
            Section::Modules => Some(managed(&self.value)),
        }
    }
}

/// Every module registration of a configuration file
/// (applicationHost.config or a web.config), at its top level and in
/// each `<location>`.
pub fn registrations(
    cfg: &ConfigText,
) -> Result<Vec<Registration>, HealthError> {
    let doc = cfg.parse()?;
    Ok(in_root(doc.root_element()))
}

/// The registrations below a parsed file's `<configuration>` element.
pub(crate) fn in_root(root: Node<'_, '_>) -> Vec<Registration> {
    let mut out = Vec::new();
    collect(root, "", &mut out);
    for loc in children(root, "location") {
        let path = loc.attribute("path").unwrap_or_default();
        collect(loc, &format!("location[@path='{path}']/"), &mut out);
    }
    out
}

fn collect(scope: Node<'_, '_>, prefix: &str, out: &mut Vec<Registration>) {
    for ws in children(scope, "system.webServer") {
        for (tag, section, attr) in [
            ("globalModules", Section::Global, "image"),
            ("modules", Section::Modules, "type"),
        ] {
            for list in children(ws, tag) {
                for add in children(list, "add") {
                    let name = add.attribute("name").unwrap_or_default();
                    out.push(Registration {
                        section,
                        name: name.to_string(),
                        value: add.attribute(attr).unwrap_or_default().into(),
                        element: format!(
                            "{prefix}system.webServer/{tag}/add[@name='{name}']@{attr}"
                        ),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn shipped_modules_are_known_and_masquerades_are_not() {
        assert_eq!(
            global(
                "RewriteModule",
                r"%SystemRoot%\system32\inetsrv\rewrite.dll"
            ),
            Shipped::Yes
        );
        assert!(matches!(
            global("RewriteModule", r"C:\Windows\Temp\rw.dll"),
            Shipped::Masquerade { .. }
        ));
        assert_eq!(global("IisTelemetryHelper", r"C:\x.dll"), Shipped::No);
        assert_eq!(
            managed("System.Web.Security.FormsAuthenticationModule"),
            Shipped::Yes
        );
        assert_eq!(
            managed(
                "Microsoft.Exchange.HttpProxy.ProxyModule, Microsoft.Exchange.FrontEndHttpProxy, Version=15.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35"
            ),
            Shipped::Yes
        );
        assert_eq!(managed("Owa.Helper.CredModule, OwaHelper"), Shipped::No);
        assert!(matches!(
            managed("System.Web.Helper, Evil"),
            Shipped::Masquerade { .. }
        ));
        assert!(matches!(
            managed(
                "System.Web.X, System.Web.X, PublicKeyToken=0123456789abcdef"
            ),
            Shipped::Masquerade { .. }
        ));
    }

    #[test]
    fn registrations_cover_global_modules_and_locations() {
        let cfg = ConfigText::from_bytes(
            Path::new("web.config"),
            br#"<configuration><system.webServer>
<globalModules><add name="Evil" image="C:\e.dll"/></globalModules>
<modules><add name="Session" type="System.Web.SessionState.SessionStateModule"/><remove name="x"/></modules>
</system.webServer><location path="Default Web Site/owa"><system.webServer>
<modules><add name="Cred" type="Cred.Module, Cred"/><add name="StaticFileModule"/></modules>
</system.webServer></location></configuration>"#,
        );
        let regs = registrations(&cfg).unwrap();
        let names: Vec<&str> = regs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["Evil", "Session", "Cred", "StaticFileModule"]);
        assert_eq!(regs[0].shipped(), Some(Shipped::No));
        assert_eq!(regs[1].shipped(), Some(Shipped::Yes));
        assert_eq!(regs[2].shipped(), Some(Shipped::No));
        assert_eq!(regs[3].shipped(), None);
        assert_eq!(
            regs[2].element,
            "location[@path='Default Web Site/owa']/system.webServer/modules/add[@name='Cred']@type"
        );
    }
}
