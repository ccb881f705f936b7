//! Forged server trees for tests, benches and `vigie demo`: a triage-style
//! copy (`<name>/C/...`) with SYSTEM and SOFTWARE hives written by
//! [`crate::registry::forge`], a synthetic ExSetup.exe, an
//! applicationHost.config with the 25 Exchange virtual directories, site
//! and virtual directory web.configs, and a `Get-SettingOverride` CLIXML
//! export. Every weakness is opt-in through [`Weaknesses`], so the same
//! code makes the clean server and the broken one.

use std::path::{Path, PathBuf};

use crate::registry::RegData;
use crate::registry::forge::HiveBuilder;

/// What to break in a forged server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Weaknesses {
    /// `Default Web Site/ECP` with `tokenChecking="None"`.
    pub ep_off_on_ecp: bool,
    /// An override setting `Global\CatTokenAuthorizationCheck`
    /// `Enabled=False` (switches CVE-2025-53782's fix off).
    pub override_disables_fix: bool,
    /// No rewrite rule for CVE-2026-42897 (EEMS M2.1.0).
    pub no_42897_mitigation: bool,
    /// A global module IIS and Exchange do not ship.
    pub unknown_module: bool,
}

impl Weaknesses {
    /// All four.
    pub fn all() -> Self {
        Weaknesses {
            ep_off_on_ecp: true,
            override_disables_fix: true,
            no_42897_mitigation: true,
            unknown_module: true,
        }
    }
}

/// The build written into ExSetup.exe and the registry (SE RTM Aug26SU).
pub const BUILD: [u16; 4] = [15, 2, 2562, 46];
const INSTALL: &str = r"C:\Program Files\Microsoft\Exchange Server\V15\";

/// Write a server named `name` under `dir`; returns the server folder and
/// the exports folder (`<dir>/<name>-exports`).
pub fn write_server(
    dir: &Path,
    name: &str,
    w: Weaknesses,
) -> std::io::Result<(PathBuf, PathBuf)> {
    let root = dir.join(name);
    let c = root.join("C");
    let put = |rel: &str, bytes: &[u8]| -> std::io::Result<()> {
        let p = c.join(rel);
        std::fs::create_dir_all(p.parent().unwrap_or(&c))?;
        std::fs::write(p, bytes)
    };
    put("Windows/System32/config/SYSTEM", &system_hive())?;
    put("Windows/System32/config/SOFTWARE", &software_hive())?;
    put(
        "Windows/System32/inetsrv/config/applicationHost.config",
        apphost(w).as_bytes(),
    )?;
    let ex = "Program Files/Microsoft/Exchange Server/V15";
    put(
        &format!("{ex}/Bin/ExSetup.exe"),
        &vigie_builds::pe::synthetic_image(BUILD),
    )?;
    put("inetpub/wwwroot/web.config", site_web_config(w).as_bytes())?;
    let shared = format!("{ex}/FrontEnd/HttpProxy/SharedWebConfig.config");
    put(&shared, b"<configuration><appSettings/></configuration>")?;
    for vdir in ["owa", "ecp", "EWS", "autodiscover"] {
        put(
            &format!("{ex}/FrontEnd/HttpProxy/{vdir}/web.config"),
            VDIR_WEB_CONFIG.as_bytes(),
        )?;
    }
    put(
        &format!("{ex}/Bin/EdgeTransport.exe.config"),
        b"<configuration><runtime/></configuration>",
    )?;
    let exports = dir.join(format!("{name}-exports"));
    std::fs::create_dir_all(&exports)?;
    std::fs::write(exports.join("GetSettingOverride.xml"), overrides(w))?;
    Ok((root, exports))
}

fn system_hive() -> Vec<u8> {
    let mut h = HiveBuilder::new();
    h.value("Select", "Current", RegData::Dword(1));
    let cs = "ControlSet001";
    for v in ["1.0", "1.1"] {
        for side in ["Server", "Client"] {
            let k = format!(
                r"{cs}\Control\SecurityProviders\SCHANNEL\Protocols\TLS {v}\{side}"
            );
            h.value(&k, "Enabled", RegData::Dword(0)).value(
                &k,
                "DisabledByDefault",
                RegData::Dword(1),
            );
        }
    }
    for side in ["Server", "Client"] {
        let k = format!(
            r"{cs}\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\{side}"
        );
        h.value(&k, "Enabled", RegData::Dword(1)).value(
            &k,
            "DisabledByDefault",
            RegData::Dword(0),
        );
        let k = format!(
            r"{cs}\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.3\{side}"
        );
        h.value(&k, "Enabled", RegData::Dword(0)).value(
            &k,
            "DisabledByDefault",
            RegData::Dword(1),
        );
    }
    h.value(
        &format!(r"{cs}\Control\Lsa"),
        "LmCompatibilityLevel",
        RegData::Dword(5),
    );
    h.value(&format!(r"{cs}\Control\Lsa"), "LsaCfgFlags", RegData::Dword(0));
    h.value(
        &format!(r"{cs}\Services\MSExchangeMitigation"),
        "Start",
        RegData::Dword(2),
    );
    h.value(
        &format!(r"{cs}\Services\LanmanServer\Parameters"),
        "SMB1",
        RegData::Dword(0),
    );
    h.build()
}

fn software_hive() -> Vec<u8> {
    let mut h = HiveBuilder::new();
    let setup = r"Microsoft\ExchangeServer\v15\Setup";
    h.value(setup, "MsiInstallPath", RegData::Str(INSTALL.into()));
    for (n, v) in [
        ("MsiProductMajor", 15),
        ("MsiProductMinor", 2),
        ("MsiBuildMajor", 2562),
        ("MsiBuildMinor", 17),
    ] {
        h.value(setup, n, RegData::Dword(v));
    }
    for role in ["MailboxRole", "ClientAccessRole"] {
        h.value(
            &format!(r"Microsoft\ExchangeServer\v15\{role}"),
            "ConfiguredVersion",
            RegData::Str("15.2.2562.17".into()),
        );
    }
    for base in [
        r"Microsoft\.NETFramework\v4.0.30319",
        r"Wow6432Node\Microsoft\.NETFramework\v4.0.30319",
    ] {
        h.value(base, "SystemDefaultTlsVersions", RegData::Dword(1)).value(
            base,
            "SchUseStrongCrypto",
            RegData::Dword(1),
        );
    }
    h.value(
        r"Microsoft\Windows NT\CurrentVersion",
        "CurrentBuild",
        RegData::Str("20348".into()),
    );
    h.key(r"Microsoft\AMSI\Providers\{2781761E-28E0-4109-99FE-B9D127C57AFE}");
    h.build()
}

/// (vdir, tokenChecking) of a correctly configured server.
const VDIRS: &[(&str, &str)] = &[
    ("Default Web Site/API", "Require"),
    ("Default Web Site/Autodiscover", "None"),
    ("Default Web Site/ECP", "Require"),
    ("Default Web Site/EWS", "Allow"),
    ("Default Web Site/Microsoft-Server-ActiveSync", "Allow"),
    ("Default Web Site/Microsoft-Server-ActiveSync/Proxy", "Allow"),
    ("Default Web Site/OAB", "Allow"),
    ("Default Web Site/PowerShell", "None"),
    ("Default Web Site/OWA", "Require"),
    ("Default Web Site/RPC", "Require"),
    ("Default Web Site/MAPI", "Require"),
    ("Exchange Back End/API", "Require"),
    ("Exchange Back End/Autodiscover", "None"),
    ("Exchange Back End/ECP", "Require"),
    ("Exchange Back End/EWS", "Require"),
    ("Exchange Back End/Microsoft-Server-ActiveSync", "Require"),
    ("Exchange Back End/Microsoft-Server-ActiveSync/Proxy", "Require"),
    ("Exchange Back End/OAB", "Require"),
    ("Exchange Back End/PowerShell", "Require"),
    ("Exchange Back End/OWA", "Require"),
    ("Exchange Back End/RPC", "Require"),
    ("Exchange Back End/PushNotifications", "Require"),
    ("Exchange Back End/RPCWithCert", "Require"),
    ("Exchange Back End/MAPI/emsmdb", "Require"),
    ("Exchange Back End/MAPI/nspi", "Require"),
];

const MODULES: &[(&str, &str)] = &[
    (
        "AnonymousAuthenticationModule",
        r"%windir%\System32\inetsrv\authanon.dll",
    ),
    ("WindowsAuthenticationModule", r"%windir%\System32\inetsrv\authsspi.dll"),
    ("StaticFileModule", r"%windir%\System32\inetsrv\static.dll"),
    ("RequestFilteringModule", r"%windir%\System32\inetsrv\modrqflt.dll"),
    (
        "ManagedEngineV4.0_64bit",
        r"%windir%\Microsoft.NET\Framework64\v4.0.30319\webengine4.dll",
    ),
    ("RewriteModule", r"%SystemRoot%\system32\inetsrv\rewrite.dll"),
    (
        "kerbauth",
        r"C:\Program Files\Microsoft\Exchange Server\V15\Bin\kerbauth.dll",
    ),
];

fn apphost(w: Weaknesses) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<configuration>\n",
    );
    s.push_str("  <system.applicationHost>\n    <sites>\n");
    s.push_str("      <site name=\"Default Web Site\" id=\"1\">\n        <application path=\"/\"><virtualDirectory path=\"/\" physicalPath=\"%SystemDrive%\\inetpub\\wwwroot\" /></application>\n");
    for v in ["owa", "ecp", "EWS", "autodiscover"] {
        s.push_str(&format!("        <application path=\"/{v}\"><virtualDirectory path=\"/\" physicalPath=\"{INSTALL}FrontEnd\\HttpProxy\\{v}\" /></application>\n"));
    }
    s.push_str("      </site>\n    </sites>\n  </system.applicationHost>\n  <system.webServer>\n    <globalModules>\n");
    for (n, i) in MODULES {
        s.push_str(&format!("      <add name=\"{n}\" image=\"{i}\" />\n"));
    }
    if w.unknown_module {
        s.push_str("      <add name=\"IisTelemetryHelper\" image=\"C:\\Windows\\Temp\\iistelemetry.dll\" />\n");
    }
    s.push_str("    </globalModules>\n  </system.webServer>\n");
    for (vdir, tc) in VDIRS {
        let tc = if w.ep_off_on_ecp && *vdir == "Default Web Site/ECP" {
            "None"
        } else {
            tc
        };
        let ssl = if *vdir == "Default Web Site/PowerShell" {
            "SslNegotiateCert"
        } else if *vdir == "Exchange Back End/PowerShell" {
            "Ssl, Ssl128, SslNegotiateCert"
        } else {
            "Ssl, Ssl128"
        };
        s.push_str(&format!(
            "  <location path=\"{vdir}\" overrideMode=\"Allow\">\n    <system.webServer>\n      <security>\n        <access sslFlags=\"{ssl}\" />\n        <authentication>\n          <windowsAuthentication enabled=\"true\">\n            <extendedProtection tokenChecking=\"{tc}\" />\n          </windowsAuthentication>\n        </authentication>\n      </security>\n    </system.webServer>\n  </location>\n"
        ));
    }
    s.push_str("</configuration>\n");
    s
}

fn site_web_config(w: Weaknesses) -> String {
    let mut rules = String::from(
        "        <rule name=\"EEMS M1.1 PowerShell - inbound\" stopProcessing=\"true\">\n          <match url=\".*\" />\n          <conditions>\n            <add input=\"{UrlDecode:{REQUEST_URI}}\" pattern=\"(?=.*autodiscover)(?=.*powershell)\" />\n          </conditions>\n          <action type=\"AbortRequest\" />\n        </rule>\n",
    );
    if !w.no_42897_mitigation {
        rules.push_str("        <rule name=\"EEMS M2.1.0 OWA - inbound\" stopProcessing=\"true\">\n          <match url=\".*\" />\n          <action type=\"AbortRequest\" />\n        </rule>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<configuration>\n  <system.webServer>\n    <rewrite>\n      <rules>\n{rules}      </rules>\n    </rewrite>\n  </system.webServer>\n</configuration>\n"
    )
}

const VDIR_WEB_CONFIG: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<configuration>\n  <assemblyBinding xmlns=\"urn:schemas-microsoft-com:asm.v1\">\n    <linkedConfiguration href=\"file://C:\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\SharedWebConfig.config\" />\n  </assemblyBinding>\n</configuration>\n";

fn override_obj(
    id: usize,
    name: &str,
    component: &str,
    section: &str,
    param: &str,
) -> String {
    format!(
        "  <Obj RefId=\"{id}\">\n    <TN RefId=\"{id}\"><T>Microsoft.Exchange.Data.Directory.SystemConfiguration.ConfigurationSettings.SettingOverride</T><T>System.Object</T></TN>\n    <ToString>{name}</ToString>\n    <Props>\n      <S N=\"ComponentName\">{component}</S>\n      <S N=\"SectionName\">{section}</S>\n      <Nil N=\"Server\" />\n      <Obj N=\"Parameters\" RefId=\"{}\"><LST><S>{param}</S></LST></Obj>\n      <Obj N=\"Status\" RefId=\"{}\"><ToString>Accepted</ToString><I32>3</I32></Obj>\n      <S N=\"Name\">{name}</S>\n    </Props>\n  </Obj>\n",
        id + 100,
        id + 200
    )
}

fn overrides(w: Weaknesses) -> String {
    let mut s = String::from(
        "\u{feff}<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">\n",
    );
    s.push_str(&override_obj(
        0,
        "EnableSigningVerification",
        "Data",
        "EnableSerializationDataSigning",
        "Enabled=true",
    ));
    if w.override_disables_fix {
        s.push_str(&override_obj(
            1,
            "Workaround for CAT token issue",
            "Global",
            "CatTokenAuthorizationCheck",
            "Enabled=False",
        ));
    }
    s.push_str("</Objs>\n");
    s
}
