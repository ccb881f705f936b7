//! Security configuration: Extended Protection, AMSI, serialized data
//! signing, Strict Mode, fixes disabled by setting overrides,
//! TokenCacheModule (CVE-2023-36434), IIS modules, configuration files
//! that IIS cannot load.

use crate::ep::{EpResult, build_supports_ep, extended_protection};
use crate::inputs::Inputs;
use crate::model::{Evidence, Group, Judgement, Rule, Status};
use crate::overrides::values;
use crate::registry::{HiveKind, RegData};

use super::{
    Context, SETTLE_APPHOST, SETTLE_EXSETUP, SETTLE_OVERRIDES, has_update,
};

const G: Group = Group::SecurityConfiguration;
const HC_EP: &str = "HealthChecker Invoke-AnalyzerSecurityExtendedProtectionConfigState.ps1; Microsoft: Configure Windows Extended Protection in Exchange Server";

/// The overall Extended Protection verdict.
pub const EP: Rule = Rule {
    id: "ep",
    group: G,
    why: "CVE-2022-24516, -21979, -21980, -24477, -30134 and CVE-2024-21410 (NTLM relay) are only fixed when Extended Protection is on for every virtual directory",
    reference: HC_EP,
};
/// One virtual directory's Extended Protection.
pub const EP_VDIR: Rule = Rule {
    id: "ep.vdir",
    group: G,
    why: "a virtual directory below its expected tokenChecking can be relayed to; one above it breaks clients",
    reference: "HealthChecker Get-ExtendedProtectionConfigurationResult.ps1 (expected values per vdir)",
};
/// LSA SuppressExtendedProtection.
pub const EP_SUPPRESSED: Rule = Rule {
    id: "ep.lsa_suppressed",
    group: G,
    why: "SuppressExtendedProtection != 0 turns channel binding off for the whole machine, whatever IIS says",
    reference: "HealthChecker Invoke-AnalyzerFrequentConfigurationIssues.ps1",
};
/// AMSI request filtering.
pub const AMSI: Rule = Rule {
    id: "amsi",
    group: G,
    why: "AMSI lets the antivirus see requests to OWA, ECP, EWS and PowerShell; an override turning it off removes that layer",
    reference: "HealthChecker Invoke-AnalyzerSecurityAMSIConfigState.ps1",
};
/// AMSI providers registered.
pub const AMSI_PROVIDER: Rule = Rule {
    id: "amsi.provider",
    group: G,
    why: "with no AMSI provider registered, Exchange's AMSI integration has nobody to ask",
    reference: "CSS-Exchange Admin/Test-AMSI.ps1 (HKLM\\SOFTWARE\\Microsoft\\AMSI\\Providers)",
};
/// Serialized data signing.
pub const SDS: Rule = Rule {
    id: "sds",
    group: G,
    why: "without serialized data signing CVE-2023-36050, -36039, -36035 and -36439 stay exploitable",
    reference: "HealthChecker Get-SerializedDataSigningState.ps1",
};
/// Strict mode for deserialization.
pub const STRICT: Rule = Rule {
    id: "strict_mode",
    group: G,
    why: "turning off Strict Mode or the base type check re-opens deserialization attacks the SUs closed",
    reference: "HealthChecker Invoke-AnalyzerSecurityOverrides.ps1",
};
/// A fix disabled by a setting override.
pub const OVERRIDE_CVE: Rule = Rule {
    id: "override.cve",
    group: G,
    why: "some fixes ship with a setting override switch; an override setting it to false leaves the CVE open on a patched build",
    reference: "HealthChecker Invoke-AnalyzerSecurityCveAndOverrideCheck.ps1",
};
/// TokenCacheModule.
pub const TOKEN_CACHE: Rule = Rule {
    id: "iis.token_cache_module",
    group: G,
    why: "an unpatched cachtokn.dll loaded in IIS is CVE-2023-36434 / CVE-2023-21709 (elevation of privilege)",
    reference: "HealthChecker Invoke-AnalyzerSecurityCve-2023-36434.ps1",
};
/// Configuration files IIS cannot load.
pub const CONFIG_VALID: Rule = Rule {
    id: "iis.config_valid",
    group: G,
    why: "IIS refuses a malformed configuration file: the site or virtual directory stops serving",
    reference: "HealthChecker Invoke-AnalyzerIISInformation.ps1 (Invalid Configuration File)",
};
/// SharedWebConfig.config presence.
pub const SHARED_CONFIG: Rule = Rule {
    id: "iis.shared_web_config",
    group: G,
    why: "Exchange web.config files link to SharedWebConfig.config; without it the application fails to start",
    reference: "HealthChecker Invoke-AnalyzerIISInformation.ps1 (Missing Shared Configuration File)",
};

const TOKEN_PATH: &str = "system.webServer/security/authentication/windowsAuthentication/extendedProtection@tokenChecking";

/// All security configuration judgements.
pub fn judge(cx: &Context<'_>, out: &mut Vec<Judgement>) {
    extended_protection_checks(cx, out);
    amsi(cx, out);
    sds(cx, out);
    strict_mode(cx, out);
    override_cves(cx, out);
    token_cache(cx, out);
    super::modules::judge(cx, out);
    configs(cx.inp, out);
}

/// The build used for EP support: ExSetup.exe, else the registry CU when
/// the CU alone already supports EP (a later SU cannot take it away).
fn ep_build(cx: &Context<'_>) -> Option<[u32; 4]> {
    cx.inp.build.exsetup.or(cx
        .inp
        .build
        .registry
        .filter(|b| build_supports_ep(*b)))
}

fn extended_protection_checks(cx: &Context<'_>, out: &mut Vec<Judgement>) {
    if cx.edge {
        out.push(EP.judge(
            Status::Ok,
            "not applicable: Edge Transport server",
            vec![],
        ));
        return;
    }
    let Some(host) = &cx.inp.apphost else {
        out.push(EP.unknown(
            "applicationHost.config missing or unreadable",
            SETTLE_APPHOST,
        ));
        return;
    };
    let file = host.path.display().to_string();
    let result = extended_protection(host, ep_build(cx), cx.roles);
    for e in &result.entries {
        out.push(vdir_judgement(&file, e, result.supported_version));
    }
    out.push(overall(cx, &file, &result));
}

fn vdir_judgement(
    file: &str,
    e: &crate::ep::EpEntry,
    supported: Option<bool>,
) -> Judgement {
    let loc = if e.valid_path {
        format!("location[@path='{}']/{TOKEN_PATH}", e.node_path)
    } else {
        format!("location[@path='{}'] (absent)", e.vdir)
    };
    let mut ev = vec![Evidence::new(file, loc, e.actual.word())];
    ev.push(Evidence::new(
        file,
        format!(
            "location[@path='{}']/system.webServer/security/access@sslFlags",
            e.vdir
        ),
        e.ssl_flags.clone().unwrap_or_else(|| "(absent)".into()),
    ));
    let (status, summary) = if supported.is_none() {
        (
            Status::Unknown,
            format!(
                "{} set, expected value depends on the build",
                e.actual.word()
            ),
        )
    } else if !e.properly_secured {
        (
            Status::Fail,
            format!("{} but {} expected", e.actual.word(), e.expected.word()),
        )
    } else if !e.supported {
        let s = if supported == Some(false) {
            format!(
                "{} configured, but this build does not support Extended Protection",
                e.actual.word()
            )
        } else {
            format!(
                "{} above the expected {}: clients may fail",
                e.actual.word(),
                e.expected.word()
            )
        };
        (Status::Warn, s)
    } else if e.ip_filter && e.actual != e.expected {
        (
            Status::Ok,
            format!(
                "{} with IP filter ({} addresses) standing in for {}",
                e.actual.word(),
                e.ip_entries.len(),
                e.expected.word()
            ),
        )
    } else {
        (Status::Ok, format!("{} as expected", e.actual.word()))
    };
    let mut j = EP_VDIR.judge(status, summary, ev).about(&e.vdir);
    if status == Status::Unknown {
        j.settle = Some(SETTLE_EXSETUP.into());
    }
    j
}

fn overall(cx: &Context<'_>, file: &str, r: &EpResult) -> Judgement {
    let Some(supported) = r.supported_version else {
        return EP.unknown(
            "whether this build supports Extended Protection needs the exact build (SU level)",
            SETTLE_EXSETUP,
        );
    };
    let insecure: Vec<&str> = r
        .entries
        .iter()
        .filter(|e| !e.properly_secured)
        .map(|e| e.vdir.as_str())
        .collect();
    let ev = vec![Evidence::new(
        file,
        "location/.../extendedProtection@tokenChecking",
        format!(
            "{} of {} virtual directories not secured{}",
            insecure.len(),
            r.entries.len(),
            if insecure.is_empty() {
                String::new()
            } else {
                format!(": {}", insecure.join(", "))
            }
        ),
    )];
    if !insecure.is_empty() || !supported {
        let any_unsupported = r.entries.iter().any(|e| !e.supported);
        let detail = if any_unsupported && !supported {
            "Extended Protection is configured, but not supported on this Exchange Server build"
        } else if !supported {
            "Your Exchange server is at risk. Install the latest SU and enable Extended Protection"
        } else if r.configured() {
            "Extended Protection isn't configured as expected"
        } else {
            "Extended Protection is not configured"
        };
        return EP.judge(Status::Fail, detail, ev);
    }
    if let Some(sys) = cx.inp.registry.hive(HiveKind::System) {
        let f = sys.get(
            HiveKind::System,
            r"CurrentControlSet\Control\Lsa",
            "SuppressExtendedProtection",
        );
        if f.data.and_then(RegData::as_u64).is_some_and(|v| v != 0) {
            let ev = vec![Evidence::new(
                f.source,
                f.location("SuppressExtendedProtection"),
                f.seen(),
            )];
            return EP_SUPPRESSED.judge(
                Status::Fail,
                "Extended Protection suppressed machine-wide by LSA",
                ev,
            );
        }
    }
    EP.judge(Status::Ok, "Extended Protection configured as expected on every virtual directory", ev)
}

fn overrides_or_unknown<'a>(
    cx: &'a Context<'_>,
    rule: &Rule,
    out: &mut Vec<Judgement>,
) -> Option<&'a [crate::overrides::SettingOverride]> {
    match &cx.inp.overrides {
        Some(o) => Some(o),
        None => {
            out.push(rule.unknown(
                "setting overrides live in Active Directory, not on disk",
                SETTLE_OVERRIDES,
            ));
            None
        }
    }
}

fn override_evidence(v: &crate::overrides::OverrideValue<'_>) -> Evidence {
    Evidence::new(
        &v.of.source,
        format!(
            "SettingOverride '{}' {}\\{} Parameters",
            v.of.name, v.of.component, v.of.section
        ),
        v.parameter.clone(),
    )
}

fn amsi(cx: &Context<'_>, out: &mut Vec<Judgement>) {
    if cx.edge {
        return;
    }
    if let Some(o) = overrides_or_unknown(cx, &AMSI, out) {
        let found =
            values(o, &cx.inp.name, "Cafe", "HttpRequestFiltering", "Enabled");
        let ev: Vec<Evidence> = found.iter().map(override_evidence).collect();
        let j = match found.as_slice() {
            [] => AMSI.judge(Status::Ok, "AMSI enabled (no override)", ev),
            [one] if one.value.eq_ignore_ascii_case("false") => AMSI.judge(
                Status::Warn,
                "AMSI disabled by a setting override",
                ev,
            ),
            [_] => AMSI.judge(
                Status::Ok,
                "AMSI enabled (override sets it on)",
                ev,
            ),
            _ => AMSI.judge(
                Status::Warn,
                "Multiple overrides detected for AMSI",
                ev,
            ),
        };
        out.push(j);
    }
    let Some(soft) = cx.inp.registry.hive(HiveKind::Software) else {
        out.push(AMSI_PROVIDER.unknown("SOFTWARE hive not given", "Windows/System32/config/SOFTWARE (or a .reg export of HKLM\\SOFTWARE\\Microsoft\\AMSI)"));
        return;
    };
    let providers = soft.subkeys(r"Microsoft\AMSI\Providers");
    let f = soft.get(HiveKind::Software, r"Microsoft\AMSI\Providers", "");
    let ev = vec![Evidence::new(
        f.source,
        f.key.clone(),
        if providers.is_empty() {
            "(no subkeys)".to_string()
        } else {
            providers.join(", ")
        },
    )];
    out.push(if providers.is_empty() {
        AMSI_PROVIDER.judge(Status::Warn, "no AMSI provider registered", ev)
    } else {
        AMSI_PROVIDER.judge(
            Status::Ok,
            format!("{} AMSI provider(s) registered", providers.len()),
            ev,
        )
    });
}

fn sds(cx: &Context<'_>, out: &mut Vec<Judgement>) {
    if cx.edge {
        return;
    }
    let Some(build) = cx.inp.build.exsetup.or(cx.inp.build.registry) else {
        out.push(SDS.unknown("build unknown", SETTLE_EXSETUP));
        return;
    };
    match has_update(build, "Jan23SU", (2023, 1, 10)) {
        Some(false) => {
            out.push(SDS.judge(Status::Fail, "Unsupported Version: serialized data signing needs Jan23SU or later", vec![]));
            return;
        }
        None => {
            out.push(SDS.unknown(
                "whether Jan23SU is installed needs the exact build",
                SETTLE_EXSETUP,
            ));
            return;
        }
        Some(true) => {}
    }
    if build[1] == 0 {
        let Some(soft) = cx.inp.registry.hive(HiveKind::Software) else {
            out.push(SDS.unknown(
                "Exchange 2013 keeps the switch in the registry",
                "Windows/System32/config/SOFTWARE",
            ));
            return;
        };
        let f = soft.get(
            HiveKind::Software,
            r"Microsoft\ExchangeServer\v15\Diagnostics",
            "EnableSerializationDataSigning",
        );
        let on = f.data.and_then(RegData::as_u64) == Some(1);
        let ev = vec![Evidence::new(
            f.source,
            f.location("EnableSerializationDataSigning"),
            f.seen(),
        )];
        out.push(SDS.judge(
            if on { Status::Ok } else { Status::Fail },
            if on { "enabled" } else { "not enabled" },
            ev,
        ));
        return;
    }
    let Some(o) = overrides_or_unknown(cx, &SDS, out) else { return };
    let found = values(
        o,
        &cx.inp.name,
        "Data",
        "EnableSerializationDataSigning",
        "Enabled",
    );
    let ev: Vec<Evidence> = found.iter().map(override_evidence).collect();
    let default_on = has_update(build, "Nov23SU", (2023, 11, 14));
    let j = match found.first().map(|v| v.value.eq_ignore_ascii_case("true")) {
        Some(true) => SDS.judge(Status::Ok, "enabled by override", ev),
        Some(false) => {
            SDS.judge(Status::Fail, "disabled by a setting override", ev)
        }
        None if default_on == Some(true) => SDS.judge(
            Status::Ok,
            "enabled (default since Nov23SU, no override)",
            ev,
        ),
        None if default_on == Some(false) => SDS.judge(
            Status::Fail,
            "not enabled: before Nov23SU it needs an override",
            ev,
        ),
        None => SDS.unknown(
            "on by default only from Nov23SU; exact build needed",
            SETTLE_EXSETUP,
        ),
    };
    out.push(j);
}

fn strict_mode(cx: &Context<'_>, out: &mut Vec<Judgement>) {
    if let Some(soft) = cx.inp.registry.hive(HiveKind::Software) {
        let f = soft.get(
            HiveKind::Software,
            r"Microsoft\ExchangeServer\v15\Diagnostics",
            "DisableBaseTypeCheckForDeserialization",
        );
        if f.data.and_then(RegData::as_u64) == Some(1) {
            let ev = vec![Evidence::new(
                f.source,
                f.location("DisableBaseTypeCheckForDeserialization"),
                f.seen(),
            )];
            out.push(STRICT.judge(
                Status::Fail,
                "base type check for deserialization disabled",
                ev,
            ));
            return;
        }
    }
    let Some(o) = overrides_or_unknown(cx, &STRICT, out) else { return };
    let found = values(
        o,
        &cx.inp.name,
        "Data",
        "DeserializationBinderSettings",
        "LearningLocations",
    );
    let ev: Vec<Evidence> = found.iter().map(override_evidence).collect();
    out.push(if found.is_empty() {
        STRICT.judge(
            Status::Ok,
            "Strict Mode on (no LearningLocations override)",
            ev,
        )
    } else {
        STRICT.judge(
            Status::Fail,
            "Strict Mode disabled by a LearningLocations override",
            ev,
        )
    });
}

/// An override switch: (component, section, parameter).
pub type Switch = (&'static str, &'static str, &'static str);

/// (CVE, the switches that turn its fix off).
pub const OVERRIDE_GATED: &[(&str, &[Switch])] = &[
    (
        "CVE-2024-49040",
        &[(
            "Transport",
            "NonCompliantSenderSettings",
            "AddP2FromRegexMatchHeader",
        )],
    ),
    (
        "CVE-2025-25005",
        &[("OAuth", "AppIdBasedAudienceValidation", "Enabled")],
    ),
    (
        "CVE-2025-25006",
        &[(
            "Transport",
            "NonCompliantSenderSettings",
            "BlockNullBytesInFromHeader",
        )],
    ),
    (
        "CVE-2025-25007",
        &[(
            "Transport",
            "NonCompliantSenderSettings",
            "BlockCharactersAfterUnquotedSemicolon",
        )],
    ),
    (
        "CVE-2025-33051",
        &[(
            "Cafe",
            "RemoveBackendCookieFromAutoDiscoverV2Response",
            "Enabled",
        )],
    ),
    ("CVE-2025-53782", &[("Global", "CatTokenAuthorizationCheck", "Enabled")]),
    (
        "CVE-2025-59248",
        &[
            (
                "Transport",
                "NonCompliantSenderSettings",
                "BlockEmailWithMultipleP2FromHeaders",
            ),
            ("Transport", "ParseGroupEmailAddressesInPartnerUtils", "Enabled"),
            (
                "ContentConversion",
                "InboundMimeHeaderParserCheckGroupAddresses",
                "Enabled",
            ),
        ],
    ),
];

fn override_cves(cx: &Context<'_>, out: &mut Vec<Judgement>) {
    let Some(o) = cx.inp.overrides.as_deref() else {
        out.push(OVERRIDE_CVE.unknown(
            "overrides disabling fixes live in Active Directory",
            SETTLE_OVERRIDES,
        ));
        return;
    };
    for (cve, switches) in OVERRIDE_GATED {
        let off: Vec<_> = switches
            .iter()
            .flat_map(|(c, s, p)| values(o, &cx.inp.name, c, s, p))
            .filter(|v| v.value.eq_ignore_ascii_case("false"))
            .collect();
        let j = if off.is_empty() {
            OVERRIDE_CVE.judge(
                Status::Ok,
                "no override disables the fix",
                vec![],
            )
        } else {
            let ev = off.iter().map(override_evidence).collect();
            OVERRIDE_CVE.judge(
                Status::Fail,
                format!("{cve} - Disabled By Override"),
                ev,
            )
        };
        out.push(j.about(*cve));
    }
}

/// Fixed cachtokn.dll per Windows build (HealthChecker's table).
const CACHTOKN_FIXED: &[(u32, [u32; 4])] = &[
    (9200, [8, 0, 9200, 24514]),
    (9600, [8, 5, 9600, 21613]),
    (14393, [10, 0, 14393, 6343]),
    (17763, [10, 0, 17763, 4968]),
    (20348, [10, 0, 20348, 2029]),
];

fn token_cache(cx: &Context<'_>, out: &mut Vec<Judgement>) {
    if cx.edge {
        return;
    }
    let Some(host) = &cx.inp.apphost else {
        out.push(
            TOKEN_CACHE
                .unknown("applicationHost.config missing", SETTLE_APPHOST),
        );
        return;
    };
    let file = host.path.display().to_string();
    let Some(m) = host
        .global_modules
        .iter()
        .find(|m| m.name.eq_ignore_ascii_case("TokenCacheModule"))
    else {
        let ev = vec![Evidence::new(
            &file,
            "system.webServer/globalModules/add[@name='TokenCacheModule']",
            "(absent)",
        )];
        out.push(TOKEN_CACHE.judge(Status::Warn, "TokenCacheModule loaded: False (CVE-2023-36434 mitigated by removing it)", ev));
        return;
    };
    let mut ev = vec![Evidence::new(
        &file,
        "system.webServer/globalModules/add[@name='TokenCacheModule']@image",
        &m.image,
    )];
    let os_build = cx.os_build();
    if let Some((src, b)) = &os_build {
        ev.push(Evidence::new(
            src,
            r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion CurrentBuild",
            b.to_string(),
        ));
        if *b >= 26100 {
            out.push(TOKEN_CACHE.judge(
                Status::Ok,
                "Windows Server 2025 or later: not affected",
                ev,
            ));
            return;
        }
    }
    let Some((dll, ver)) = &cx.inp.cachtokn else {
        out.push(TOKEN_CACHE.unknown(
            "TokenCacheModule loaded; its version is needed",
            "Windows/System32/inetsrv/cachtokn.dll",
        ));
        return;
    };
    ev.push(Evidence::new(
        dll.display().to_string(),
        "FileVersion",
        ver.map(|p| p.to_string()).join("."),
    ));
    let fixed =
        CACHTOKN_FIXED.iter().find(|(b, _)| *b == ver[2]).map(|(_, f)| *f);
    let j = match fixed {
        Some(f) if *ver >= f => TOKEN_CACHE.judge(Status::Ok, "TokenCacheModule loaded, cachtokn.dll patched", ev),
        Some(_) => TOKEN_CACHE.judge(Status::Fail, "CVE-2023-36434: unpatched cachtokn.dll loaded", ev),
        None => TOKEN_CACHE.unknown("cachtokn.dll of an unlisted Windows build", "HealthChecker's table covers builds 9200, 9600, 14393, 17763, 20348"),
    };
    out.push(j);
}

fn configs(inp: &Inputs, out: &mut Vec<Judgement>) {
    for (path, err) in &inp.invalid_configs {
        let ev = vec![Evidence::new(
            path.display().to_string(),
            "(whole file)",
            err.clone(),
        )];
        out.push(
            CONFIG_VALID
                .judge(Status::Fail, "Invalid Configuration File", ev)
                .about(path.display().to_string()),
        );
    }
    for w in &inp.web_configs {
        if let Some((href, false)) = &w.linked {
            let ev = vec![Evidence::new(
                w.path.display().to_string(),
                "assemblyBinding/linkedConfiguration@href",
                href.clone(),
            )];
            out.push(
                SHARED_CONFIG
                    .judge(
                        Status::Fail,
                        "Missing Shared Configuration File",
                        ev,
                    )
                    .about(&w.vdir),
            );
        }
    }
}

/// Whether Extended Protection was judged in place (`None`: unknown).
pub fn ep_ok(judgements: &[Judgement]) -> Option<bool> {
    judgements
        .iter()
        .find(|j| j.id == EP.id || j.id == EP_SUPPRESSED.id)
        .and_then(|j| match j.status {
            Status::Ok => Some(true),
            Status::Fail => Some(false),
            _ => None,
        })
}
