//! Operating system settings HealthChecker judges from the registry: TLS
//! protocols (SCHANNEL, consistent between client and server, as Extended
//! Protection needs), .NET's SchUseStrongCrypto/SystemDefaultTlsVersions,
//! SMBv1, LmCompatibilityLevel, Credential Guard.

use crate::model::{Evidence, Group, Judgement, Rule, Status};
use crate::registry::{HiveKind, RegData, Snapshot};

use super::{Context, SETTLE_SOFTWARE, SETTLE_SYSTEM};

const G: Group = Group::OperatingSystem;
const HC_TLS: &str = "HealthChecker Get-AllTlsSettingsFromRegistry.ps1, Invoke-AnalyzerSecuritySettings.ps1; Microsoft: Exchange Server TLS configuration best practices";

/// One TLS version.
pub const TLS: Rule = Rule {
    id: "tls.protocol",
    group: G,
    why: "client and server settings must agree (Exchange is both) and TLS 1.2 must stay on; TLS 1.0/1.1 are weak",
    reference: HC_TLS,
};
/// .NET Framework TLS values.
pub const NETFX: Rule = Rule {
    id: "tls.netfx",
    group: G,
    why: "without SystemDefaultTlsVersions and SchUseStrongCrypto = 1 .NET code may not use TLS 1.2, and breaks once TLS 1.0/1.1 are off",
    reference: HC_TLS,
};
/// SMBv1.
pub const SMB1: Rule = Rule {
    id: "os.smb1",
    group: G,
    why: "SMBv1 is what WannaCry and NotPetya spread through; Exchange does not need it",
    reference: "HealthChecker Invoke-AnalyzerSecuritySettings.ps1 (SMB1); Microsoft KB2696547",
};
/// LM compatibility level.
pub const LM: Rule = Rule {
    id: "os.lm_compatibility",
    group: G,
    why: "levels below 3 allow LM/NTLMv1 responses, which can be cracked or relayed",
    reference: "HealthChecker Invoke-AnalyzerSecuritySettings.ps1 (LmCompatibilityLevel)",
};
/// Credential Guard.
pub const CRED_GUARD: Rule = Rule {
    id: "os.credential_guard",
    group: G,
    why: "Credential Guard is not supported on Exchange servers and causes authentication and performance problems",
    reference: "HealthChecker Invoke-AnalyzerFrequentConfigurationIssues.ps1",
};

const PROTOCOLS: &str =
    r"CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols";
const LSA: &str = r"CurrentControlSet\Control\Lsa";

/// OS judgements.
pub fn judge(cx: &Context<'_>, out: &mut Vec<Judgement>) {
    match cx.inp.registry.hive(HiveKind::System) {
        Some(sys) => {
            let lower_disabled = tls(cx, sys, out);
            netfx(cx, lower_disabled, out);
            smb1(sys, out);
            lsa(sys, out);
        }
        None => {
            for rule in [TLS, SMB1, LM, CRED_GUARD] {
                out.push(rule.unknown("SYSTEM hive not given", SETTLE_SYSTEM));
            }
            netfx(cx, false, out);
        }
    }
}

/// Effective state of one TLS version, HealthChecker's way.
struct TlsState {
    config: &'static str,
    missing: Vec<String>,
    ev: Vec<Evidence>,
}

fn tls_state(sys: &Snapshot, v: &str) -> TlsState {
    let mut ev = Vec::new();
    let mut missing = Vec::new();
    let mut read = |side: &str, name: &str| {
        let key = format!(r"{PROTOCOLS}\TLS {v}\{side}");
        let f = sys.get(HiveKind::System, &key, name);
        ev.push(Evidence::new(f.source, f.location(name), f.seen()));
        let val = f.data.and_then(RegData::as_u64);
        if val.is_none() {
            missing.push(format!("{side} {name}"));
        }
        val
    };
    let raw = [
        read("Server", "Enabled"),
        read("Server", "DisabledByDefault"),
        read("Client", "Enabled"),
        read("Client", "DisabledByDefault"),
    ];
    let config = tls_configuration(v, raw);
    TlsState { config, missing, ev }
}

/// HealthChecker's TLSConfiguration of one version from its raw values
/// [server Enabled, server DisabledByDefault, client Enabled, client
/// DisabledByDefault] (`None`: value absent).
pub fn tls_configuration(
    version: &str,
    raw: [Option<u64>; 4],
) -> &'static str {
    let [se, sd, ce, cd] = raw;
    let null_on = version != "1.3";
    let on = |x: Option<u64>| x.map_or(null_on, |n| n != 0);
    let dbd = |x: Option<u64>| x.is_some_and(|n| n != 0);
    let (s_on, c_on, s_dbd, c_dbd) = (on(se), on(ce), dbd(sd), dbd(cd));
    let disabled =
        !s_on && (s_dbd || sd.is_none()) && !c_on && (c_dbd || cd.is_none());
    let misconfigured = s_on != c_on || s_dbd != c_dbd;
    let half = (!s_on && !s_dbd && sd.is_some()) || (s_on && s_dbd);
    if misconfigured {
        "Misconfigured"
    } else if half {
        "Half Disabled"
    } else if disabled {
        "Disabled"
    } else {
        "Enabled"
    }
}

/// Returns whether TLS 1.0 or 1.1 is disabled.
fn tls(cx: &Context<'_>, sys: &Snapshot, out: &mut Vec<Judgement>) -> bool {
    let os_13 = cx.os_build().is_some_and(|(_, b)| b >= 20348);
    let ex_13 = cx
        .inp
        .build
        .exsetup
        .or(cx.inp.build.registry)
        .is_some_and(|b| b[1] == 2 && b[2] >= 1748);
    let mut lower_disabled = false;
    for v in ["1.0", "1.1", "1.2", "1.3"] {
        let st = tls_state(sys, v);
        if (v == "1.0" || v == "1.1") && st.config == "Disabled" {
            lower_disabled = true;
        }
        let (status, summary) = match (v, st.config) {
            (_, "Misconfigured") => (Status::Fail, "Misconfigured: client and server settings differ".to_string()),
            (_, "Half Disabled") => (Status::Fail, "Half Disabled".to_string()),
            ("1.2", "Disabled") => (Status::Fail, "Disabled: Exchange needs TLS 1.2".to_string()),
            ("1.3", "Enabled") if !(os_13 && ex_13) => (
                Status::Fail,
                "Enabled on a Windows or Exchange build that does not support TLS 1.3 (TLS 1.3 not disabled)".to_string(),
            ),
            ("1.0" | "1.1", "Enabled") => (Status::Warn, "Enabled: weak protocol, disable it".to_string()),
            (_, c) => (Status::Ok, c.to_string()),
        };
        let (status, summary) = if v != "1.3"
            && !st.missing.is_empty()
            && status != Status::Fail
        {
            (
                Status::Fail,
                format!(
                    "{summary}; NULL --- Error: {} not set in the registry",
                    st.missing.join(", ")
                ),
            )
        } else {
            (status, summary)
        };
        out.push(TLS.judge(status, summary, st.ev).about(format!("TLS {v}")));
    }
    lower_disabled
}

fn netfx(cx: &Context<'_>, lower_disabled: bool, out: &mut Vec<Judgement>) {
    let Some(soft) = cx.inp.registry.hive(HiveKind::Software) else {
        out.push(NETFX.unknown("SOFTWARE hive not given", SETTLE_SOFTWARE));
        return;
    };
    let mut ev = Vec::new();
    let mut missing = Vec::new();
    let mut not_one = Vec::new();
    for base in [
        r"Microsoft\.NETFramework\v4.0.30319",
        r"Wow6432Node\Microsoft\.NETFramework\v4.0.30319",
    ] {
        for name in ["SystemDefaultTlsVersions", "SchUseStrongCrypto"] {
            let f = soft.get(HiveKind::Software, base, name);
            ev.push(Evidence::new(f.source, f.location(name), f.seen()));
            match f.data.and_then(RegData::as_u64) {
                None => missing.push(format!(r"{base}\{name}")),
                Some(1) => {}
                Some(_) => not_one.push(format!(r"{base}\{name}")),
            }
        }
    }
    let j = if !missing.is_empty() {
        NETFX.judge(
            Status::Fail,
            format!("NULL --- Error: {} not set", missing.join(", ")),
            ev,
        )
    } else if !not_one.is_empty() && lower_disabled {
        NETFX.judge(
            Status::Fail,
            format!(
                "TLS 1.0/1.1 disabled but {} is not 1",
                not_one.join(", ")
            ),
            ev,
        )
    } else if !not_one.is_empty() {
        NETFX.judge(Status::Warn, format!("{} not 1", not_one.join(", ")), ev)
    } else {
        NETFX.judge(
            Status::Ok,
            ".NET 4 uses the system TLS defaults with strong crypto",
            ev,
        )
    };
    out.push(j);
}

fn smb1(sys: &Snapshot, out: &mut Vec<Judgement>) {
    let server = sys.get(
        HiveKind::System,
        r"CurrentControlSet\Services\LanmanServer\Parameters",
        "SMB1",
    );
    let client_key = r"CurrentControlSet\Services\mrxsmb10";
    let client = sys.get(HiveKind::System, client_key, "Start");
    let ev = vec![
        Evidence::new(server.source, server.location("SMB1"), server.seen()),
        Evidence::new(client.source, client.location("Start"), client.seen()),
    ];
    let server_off = server.data.and_then(RegData::as_u64) == Some(0);
    let client_state = client.data.and_then(RegData::as_u64);
    let j = match (server_off, client_state) {
        (true, Some(4) | None) => SMB1.judge(Status::Ok, "SMBv1 server off, client driver disabled or absent", ev),
        (false, _) if server.data.is_some() => SMB1.judge(Status::Fail, "SMBv1 server enabled (SMB1 != 0)", ev),
        (_, Some(n)) if n != 4 => SMB1.judge(Status::Fail, "SMBv1 client driver (mrxsmb10) enabled", ev),
        _ => SMB1.judge(Status::Warn, "SMBv1 not explicitly blocked (LanmanServer SMB1 = 0 missing); whether the FS-SMB1 feature is installed cannot be read offline", ev),
    };
    out.push(j);
}

fn lsa(sys: &Snapshot, out: &mut Vec<Judgement>) {
    let f = sys.get(HiveKind::System, LSA, "LmCompatibilityLevel");
    let level = f.data.and_then(RegData::as_u64).unwrap_or(3);
    let ev = vec![Evidence::new(
        f.source,
        f.location("LmCompatibilityLevel"),
        f.seen(),
    )];
    out.push(if level < 3 {
        LM.judge(
            Status::Warn,
            format!("level {level}: LM/NTLMv1 responses allowed"),
            ev,
        )
    } else {
        LM.judge(
            Status::Ok,
            format!(
                "level {level}{}",
                if f.data.is_none() { " (default)" } else { "" }
            ),
            ev,
        )
    });
    let f = sys.get(HiveKind::System, LSA, "LsaCfgFlags");
    let ev =
        vec![Evidence::new(f.source, f.location("LsaCfgFlags"), f.seen())];
    out.push(match f.data.and_then(RegData::as_u64) {
        Some(n) if n != 0 => CRED_GUARD.judge(Status::Fail, "Credential Guard enabled (LsaCfgFlags != 0)", ev),
        _ => CRED_GUARD.judge(Status::Ok, "Credential Guard not configured (running state needs WMI, not offline)", ev),
    });
}
