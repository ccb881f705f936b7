//! Build and roles: the registry's CU level against ExSetup.exe's file
//! version, and the Exchange roles installed.

use vigie_model::build::CveState;

use crate::model::{Evidence, Group, Judgement, Rule, Status};
use crate::registry::HiveKind;

use super::{Context, SETTLE_EXSETUP, SETTLE_SOFTWARE};

const G: Group = Group::BuildAndCves;

/// Registry build against ExSetup.exe.
pub const CROSS_CHECK: Rule = Rule {
    id: "build.cross_check",
    group: G,
    why: "the registry says which CU setup installed, ExSetup.exe which build runs; a mismatch means an unfinished update or a copy from elsewhere",
    reference: "HealthChecker Get-ExSetupFileVersionInfo.ps1, Get-ExchangeRegistryValues.ps1",
};
/// Patch level from the build.
pub const PATCH: Rule = Rule {
    id: "build.patch_level",
    group: G,
    why: "open CVEs and an unsupported CU are the first things an attacker checks",
    reference: "vigie check (crates/builds), Microsoft's Exchange build numbers",
};
/// Installed roles.
pub const ROLES: Rule = Rule {
    id: "build.roles",
    group: G,
    why: "which checks apply depends on the roles (Edge has no IIS front end)",
    reference: "HealthChecker Confirm-ExchangeShell.ps1 (v15\\EdgeTransportRole); SOFTWARE v15\\<Role> keys",
};

fn ver(v: [u32; 4]) -> String {
    v.map(|p| p.to_string()).join(".")
}

/// Build judgements.
pub fn judge(cx: &Context<'_>, out: &mut Vec<Judgement>) {
    let b = &cx.inp.build;
    let reg_ev = b.registry.map(|r| {
        Evidence::new(
            b.registry_source.clone().unwrap_or_default(),
            r"HKLM\SOFTWARE\Microsoft\ExchangeServer\v15\Setup MsiProductMajor.MsiProductMinor.MsiBuildMajor.MsiBuildMinor",
            ver(r),
        )
    });
    let exe_ev = b.exsetup.map(|e| {
        Evidence::new(
            b.exsetup_source.clone().unwrap_or_default(),
            "FileVersion",
            ver(e),
        )
    });
    let j = match (b.registry, b.exsetup) {
        (Some(r), Some(e)) if r[..3] == e[..3] => CROSS_CHECK.judge(
            Status::Ok,
            format!("registry CU {} and ExSetup.exe {} agree", ver(r), ver(e)),
            reg_ev.into_iter().chain(exe_ev).collect(),
        ),
        (Some(r), Some(e)) => CROSS_CHECK.judge(
            Status::Warn,
            format!("registry CU {} but ExSetup.exe {}: unfinished setup or mixed copy", ver(r), ver(e)),
            reg_ev.into_iter().chain(exe_ev).collect(),
        ),
        (Some(r), None) => {
            let mut j = CROSS_CHECK.judge(
                Status::Unknown,
                format!("registry CU {} only; the SU level needs ExSetup.exe", ver(r)),
                reg_ev.into_iter().collect(),
            );
            j.settle = Some(SETTLE_EXSETUP.into());
            j
        }
        (None, Some(e)) => {
            let mut j = CROSS_CHECK.judge(
                Status::Unknown,
                format!("ExSetup.exe {} only; nothing to cross-check with", ver(e)),
                exe_ev.into_iter().collect(),
            );
            j.settle = Some(SETTLE_SOFTWARE.into());
            j
        }
        (None, None) => CROSS_CHECK.unknown("no build found", format!("{SETTLE_EXSETUP}; {SETTLE_SOFTWARE}")),
    };
    out.push(j);
    roles(cx, out);
    patch(cx, out);
}

fn roles(cx: &Context<'_>, out: &mut Vec<Judgement>) {
    let Some(soft) = cx.inp.registry.hive(HiveKind::Software) else {
        out.push(
            ROLES
                .unknown("roles unknown: all checks applied", SETTLE_SOFTWARE),
        );
        return;
    };
    let base = r"Microsoft\ExchangeServer\v15";
    let found: Vec<&str> = [
        "MailboxRole",
        "ClientAccessRole",
        "CafeRole",
        "FrontendTransportRole",
        "EdgeTransportRole",
        "AdminTools",
    ]
    .into_iter()
    .filter(|r| soft.has_key(&format!(r"{base}\{r}")))
    .collect();
    let ev = vec![Evidence::new(
        &soft.source,
        format!(r"HKLM\SOFTWARE\{base}\*Role"),
        found.join(", "),
    )];
    out.push(if found.is_empty() {
        ROLES.judge(
            Status::Unknown,
            "no role keys: not an Exchange server, or setup unfinished",
            ev,
        )
    } else {
        ROLES.judge(Status::Ok, found.join(", "), ev)
    });
}

fn patch(cx: &Context<'_>, out: &mut Vec<Judgement>) {
    let Some(a) = &cx.assessment else {
        out.push(PATCH.unknown("no build to judge", SETTLE_EXSETUP));
        return;
    };
    let open: Vec<&str> = a.open_cves().map(|c| c.cve.as_str()).collect();
    let unknown =
        a.cves.iter().filter(|c| c.state == CveState::Unknown).count();
    let name = format!(
        "{} {}{}",
        a.product.clone().unwrap_or_default(),
        a.cu.clone().unwrap_or_default(),
        a.su.as_ref().map(|s| format!(" {s}")).unwrap_or_default()
    );
    let ev = vec![Evidence::new(
        "build table",
        a.build.clone(),
        name.trim().to_string(),
    )];
    let status = if !open.is_empty() {
        Status::Fail
    } else if unknown > 0 {
        Status::Unknown
    } else {
        Status::Ok
    };
    let summary = format!(
        "{}: {} open CVE(s){}, {} unknown, support {:?}",
        name.trim(),
        open.len(),
        if open.is_empty() {
            String::new()
        } else {
            format!(" ({})", open.join(" "))
        },
        unknown,
        a.support
    );
    let mut j = PATCH.judge(status, summary, ev);
    if status == Status::Unknown {
        j.settle = Some(SETTLE_EXSETUP.into());
    }
    out.push(j);
}
