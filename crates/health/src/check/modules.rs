//! IIS modules: anything IIS or Exchange does not ship is reported (IIS
//! backdoors register exactly so), and a shipped module name pointing at
//! a foreign image or assembly fails. Global modules come from
//! applicationHost.config; managed modules from it and from every
//! virtual directory's web.config. The lists are
//! [`crate::modules`], shared with `vigie hunt`.

use crate::model::{Evidence, Group, Judgement, Rule, Status};
use crate::modules::{Registration, Section, Shipped};

use super::{Context, SETTLE_APPHOST};

const G: Group = Group::SecurityConfiguration;

/// IIS modules.
pub const MODULE: Rule = Rule {
    id: "iis.module",
    group: G,
    why: "IIS backdoors (IIS-Raid, Owowa-style implants) register exactly as a global module or a managed module; IIS and Exchange ship a known set",
    reference: "HealthChecker Invoke-AnalyzerSecurityIISModules.ps1; vigie known-module list (docs/health.md)",
};

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
    let mut seen = 0;
    let sources = std::iter::once((file.clone(), &host.registrations)).chain(
        cx.inp
            .web_configs
            .iter()
            .map(|w| (w.path.display().to_string(), &w.modules)),
    );
    for (source, regs) in sources {
        for r in regs {
            seen += 1;
            if let Some(j) = one(&source, r) {
                odd += 1;
                out.push(j);
            }
        }
    }
    if odd == 0 {
        let ev = vec![Evidence::new(
            &file,
            "system.webServer/globalModules, modules (and web.config modules)",
            format!("{seen} modules"),
        )];
        out.push(MODULE.judge(
            Status::Ok,
            "every module registered is one IIS or Exchange ships",
            ev,
        ));
    }
}

/// The judgement of one registration, when it is not as shipped.
fn one(source: &str, r: &Registration) -> Option<Judgement> {
    let ev = vec![Evidence::new(source, &r.element, &r.value)];
    let what = match r.section {
        Section::Global => "image",
        Section::Modules => "type",
    };
    let j = match r.shipped()? {
        Shipped::Yes => return None,
        Shipped::Masquerade { expected } => MODULE.judge(
            Status::Fail,
            format!("shipped module name with a foreign {what} (expected {expected})"),
            ev,
        ),
        Shipped::No => MODULE.judge(
            Status::Warn,
            "module not shipped by IIS or Exchange",
            ev,
        ),
    };
    Some(j.about(&r.name))
}
