//! IIS global modules: anything IIS or Exchange does not ship is reported
//! (IIS backdoors register exactly so), and a shipped module name pointing
//! at a foreign image fails.

use crate::model::{Evidence, Group, Judgement, Rule, Status};

use super::{Context, SETTLE_APPHOST};

const G: Group = Group::SecurityConfiguration;

/// IIS global modules.
pub const MODULE: Rule = Rule {
    id: "iis.module",
    group: G,
    why: "IIS backdoors (IIS-Raid, Owowa-style implants) register exactly as a global module; IIS and Exchange ship a known set",
    reference: "HealthChecker Invoke-AnalyzerSecurityIISModules.ps1; vigie known-module list (docs/health.md)",
};
/// Global modules IIS and Exchange ship: (name, image file name).
const KNOWN_MODULES: &[(&str, &str)] = &[
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

/// Module judgements.
pub fn judge(cx: &Context<'_>, out: &mut Vec<Judgement>) {
    let Some(host) = &cx.inp.apphost else {
        out.push(
            MODULE.unknown("applicationHost.config missing", SETTLE_APPHOST),
        );
        return;
    };
    let file = host.path.display().to_string();
    let mut odd = 0;
    for m in &host.global_modules {
        let image_name =
            m.image.rsplit(['\\', '/']).next().unwrap_or_default();
        let known = KNOWN_MODULES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&m.name));
        let loc = format!(
            "system.webServer/globalModules/add[@name='{}']@image",
            m.name
        );
        let ev = vec![Evidence::new(&file, loc, &m.image)];
        let j = match known {
            Some((_, img)) if img.eq_ignore_ascii_case(image_name) => continue,
            Some((_, img)) => MODULE.judge(
                Status::Fail,
                format!(
                    "shipped module name with a foreign image (expected {img})"
                ),
                ev,
            ),
            None => MODULE.judge(
                Status::Warn,
                "module not shipped by IIS or Exchange",
                ev,
            ),
        };
        odd += 1;
        out.push(j.about(&m.name));
    }
    if odd == 0 {
        let ev = vec![Evidence::new(
            &file,
            "system.webServer/globalModules",
            format!("{} modules", host.global_modules.len()),
        )];
        out.push(MODULE.judge(
            Status::Ok,
            "every global module is one IIS or Exchange ships",
            ev,
        ));
    }
}
