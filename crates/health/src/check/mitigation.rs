//! Mitigations: the URL Rewrite rules EOMT, EOMTv2, the Emergency
//! Mitigation service (EEMS) and Microsoft's manual steps write, by CVE,
//! wherever IIS reads them (applicationHost.config, the site's web.config,
//! a virtual directory's web.config); rules IIS would reject; and the
//! MSExchangeMitigation service's start type.

use vigie_model::build::CveState;

use crate::iis::{RewriteRule, RuleKind, RuleSet};
use crate::model::{Evidence, Group, Judgement, Rule, Status};
use crate::registry::{HiveKind, RegData};

use super::{Context, SETTLE_APPHOST, SETTLE_SYSTEM};

const G: Group = Group::Mitigations;

/// A CVE's rewrite mitigation.
pub const MITIGATION: Rule = Rule {
    id: "mitigation.rewrite",
    group: G,
    why: "until the fix is installed (and for CVE-2026-42897, as Microsoft asks, after it) the rewrite rule is what stops the exploit request",
    reference: "CSS-Exchange Security/src/EOMT.ps1, EOMTv2.ps1; HealthChecker Get-URLRewriteRule.ps1; Exchange Emergency Mitigation service",
};
/// Rules IIS cannot apply.
pub const URL_MATCH: Rule = Rule {
    id: "mitigation.url_match",
    group: G,
    why: "a rewrite rule whose match url is exactly '*' is invalid: IIS answers every request with HTTP 500",
    reference: "HealthChecker Invoke-AnalyzerIISInformation.ps1 (URL Match Problem)",
};
/// The EEMS service.
pub const EEMS: Rule = Rule {
    id: "mitigation.eems_service",
    group: G,
    why: "the Emergency Mitigation service applies Microsoft's rewrite mitigations (such as M2.1.0 for CVE-2026-42897) only while it runs",
    reference: "HealthChecker Invoke-AnalyzerSecurityMitigationService.ps1",
};

/// One rule that mitigates a CVE.
struct Known {
    /// Who writes it.
    source: &'static str,
    /// Its name.
    name: &'static str,
    /// Condition input and pattern (`None`: recognised by name only).
    condition: Option<(&'static str, &'static str)>,
}

/// A CVE's mitigation: every rule of one `needs_all` group, or any one.
struct Mitigation {
    cve: &'static str,
    /// The vdir the exploit goes through (rules there also count).
    vdir: &'static str,
    needs_all: bool,
    /// Kept even once the fix is installed (Microsoft's guidance).
    keep_after_fix: bool,
    rules: &'static [Known],
}

const PS_PATTERN: &str = "(?=.*autodiscover)(?=.*powershell)";

const MITIGATIONS: &[Mitigation] = &[
    Mitigation {
        cve: "CVE-2021-26855",
        vdir: "Default Web Site",
        needs_all: true,
        keep_after_fix: false,
        rules: &[
            Known {
                source: "EOMT",
                name: "X-AnonResource-Backend Abort - inbound",
                condition: Some((
                    "{HTTP_COOKIE}",
                    "(.*)X-AnonResource-Backend(.*)",
                )),
            },
            Known {
                source: "EOMT",
                name: "X-BEResource Abort - inbound",
                condition: Some((
                    "{HTTP_COOKIE}",
                    "(.*)X-BEResource=(.+)/(.+)~(.+)",
                )),
            },
        ],
    },
    Mitigation {
        cve: "CVE-2022-41040",
        vdir: "Default Web Site/Autodiscover",
        needs_all: false,
        keep_after_fix: false,
        rules: &[
            Known {
                source: "EOMTv2",
                name: "PowerShell - inbound",
                condition: Some(("{UrlDecode:{REQUEST_URI}}", PS_PATTERN)),
            },
            Known {
                source: "EEMS M1.1",
                name: "EEMS M1.1 PowerShell - inbound",
                condition: Some(("{UrlDecode:{REQUEST_URI}}", PS_PATTERN)),
            },
            Known {
                source: "manual",
                name: "RequestBlockingRule1",
                condition: Some(("{UrlDecode:{REQUEST_URI}}", PS_PATTERN)),
            },
        ],
    },
    Mitigation {
        cve: "CVE-2026-42897",
        vdir: "Default Web Site/owa",
        needs_all: false,
        keep_after_fix: true,
        rules: &[
            Known {
                source: "EEMS M2.1.0",
                name: "EEMS M2.1",
                condition: None,
            },
            Known { source: "EOMT", name: "CVE-2026-42897", condition: None },
        ],
    },
];

/// Mitigation judgements.
pub fn judge(cx: &Context<'_>, out: &mut Vec<Judgement>) {
    if cx.edge {
        return;
    }
    eems_service(cx, out);
    let Some(host) = &cx.inp.apphost else {
        out.push(MITIGATION.unknown("applicationHost.config missing: rewrite rules and modules unknown", SETTLE_APPHOST));
        return;
    };
    let rewrite_loaded = host
        .global_modules
        .iter()
        .any(|m| m.name.eq_ignore_ascii_case("RewriteModule"));
    let mut scopes: Vec<(String, &RuleSet)> =
        host.rules.iter().map(|r| (String::new(), r)).collect();
    for loc in &host.locations {
        for r in &loc.rules {
            scopes.push((loc.path.clone(), r));
        }
    }
    for w in &cx.inp.web_configs {
        for r in &w.rules {
            scopes.push((w.vdir.clone(), r));
        }
    }
    for m in MITIGATIONS {
        out.push(one(cx, m, &scopes, rewrite_loaded).about(m.cve));
    }
    for (_, set) in &scopes {
        for r in set
            .rules
            .iter()
            .filter(|r| r.enabled && r.match_url.as_deref() == Some("*"))
        {
            let ev = vec![Evidence::new(
                &set.scope,
                format!("rule[@name='{}']/match@url", r.name),
                "*",
            )];
            out.push(
                URL_MATCH
                    .judge(
                        Status::Fail,
                        "URL Match Problem: rule matches url '*'",
                        ev,
                    )
                    .about(&r.name),
            );
        }
    }
}

fn applies(scope: &str, vdir: &str) -> bool {
    scope.is_empty()
        || scope.eq_ignore_ascii_case("Default Web Site")
        || scope.eq_ignore_ascii_case(vdir)
}

/// How deep a scope is: server 0, site 1, virtual directory 2.
fn level(scope: &str) -> u8 {
    if scope.is_empty() {
        0
    } else if scope.eq_ignore_ascii_case("Default Web Site") {
        1
    } else {
        2
    }
}

/// An inherited rule a lower scope dropped.
struct Dropped<'a> {
    /// The rule set that held it.
    from: &'a RuleSet,
    /// The rule.
    rule: &'a RewriteRule,
    /// The rule set whose `<clear/>` or `<remove>` dropped it.
    by: &'a RuleSet,
    /// `<clear/>` or `<remove name='...'/>`.
    how: String,
}

/// The inbound rules in effect for requests to `vdir`, merged as IIS
/// merges them: server, then site, then the virtual directory (within
/// one level, applicationHost.config's `<location>` before the folder's
/// web.config). A `<clear/>` in a lower `<rules>` drops every `<rules>`
/// rule inherited from above, so a mitigation set at site level is gone
/// for a virtual directory whose web.config clears; a `<remove>` drops
/// the rule it names. `<globalRules>` live at server level only and are
/// never dropped. Returns the rules in effect and those dropped.
fn effective<'a>(
    scopes: &[(String, &'a RuleSet)],
    vdir: &str,
) -> (Vec<(&'a RuleSet, &'a RewriteRule)>, Vec<Dropped<'a>>) {
    let mut sets: Vec<&'a RuleSet> = Vec::new();
    let mut ordered: Vec<&(String, &'a RuleSet)> =
        scopes.iter().filter(|(s, _)| applies(s, vdir)).collect();
    ordered.sort_by_key(|(s, _)| level(s));
    sets.extend(ordered.into_iter().map(|(_, set)| *set));
    let mut live: Vec<(&'a RuleSet, &'a RewriteRule)> = Vec::new();
    let mut dropped = Vec::new();
    for set in sets {
        if set.kind == RuleKind::Rules {
            let mut keep = Vec::new();
            for (from, rule) in live {
                let removed = set
                    .removed
                    .iter()
                    .find(|n| n.eq_ignore_ascii_case(&rule.name));
                let how = match (from.kind, set.cleared, removed) {
                    (RuleKind::Rules, true, _) => "<clear/>".to_string(),
                    (RuleKind::Rules, false, Some(n)) => {
                        format!("<remove name='{n}'/>")
                    }
                    _ => {
                        keep.push((from, rule));
                        continue;
                    }
                };
                dropped.push(Dropped { from, rule, by: set, how });
            }
            live = keep;
        }
        live.extend(
            set.rules.iter().filter(|r| !r.outbound).map(|r| (set, r)),
        );
    }
    (live, dropped)
}

fn matches(k: &Known, r: &RewriteRule) -> bool {
    match k.condition {
        Some((input, pattern)) => r
            .conditions
            .iter()
            .any(|(i, p)| i.eq_ignore_ascii_case(input) && p == pattern),
        None => {
            r.name.to_ascii_lowercase().contains(&k.name.to_ascii_lowercase())
        }
    }
}

fn one(
    cx: &Context<'_>,
    m: &Mitigation,
    scopes: &[(String, &RuleSet)],
    rewrite_loaded: bool,
) -> Judgement {
    let mut ev = Vec::new();
    let mut present = vec![false; m.rules.len()];
    let mut disabled = Vec::new();
    let (live, dropped) = effective(scopes, m.vdir);
    let mut cancelled = Vec::new();
    for d in
        dropped.iter().filter(|d| m.rules.iter().any(|k| matches(k, d.rule)))
    {
        cancelled.push(d.rule.name.clone());
        ev.push(Evidence::new(
            &d.by.scope,
            d.how.clone(),
            format!(
                "drops rule '{}' inherited from {}",
                d.rule.name, d.from.scope
            ),
        ));
    }
    for (set, r) in live {
        for (i, k) in m.rules.iter().enumerate() {
            if !matches(k, r) {
                continue;
            }
            let loc = format!("rule[@name='{}']", r.name);
            if r.enabled
                && r.action.as_deref().is_some_and(|a| {
                    a.eq_ignore_ascii_case("AbortRequest")
                        || a.eq_ignore_ascii_case("CustomResponse")
                })
            {
                present[i] = true;
                ev.push(Evidence::new(
                    &set.scope,
                    loc,
                    format!("{} rule, enabled", k.source),
                ));
            } else {
                disabled.push(r.name.clone());
                ev.push(Evidence::new(
                    &set.scope,
                    loc,
                    format!("{} rule, disabled or not aborting", k.source),
                ));
            }
        }
    }
    if ev.is_empty() {
        let searched: Vec<&str> = scopes
            .iter()
            .filter(|(s, _)| applies(s, m.vdir))
            .map(|(_, set)| set.scope.as_str())
            .collect();
        let seen = format!(
            "no rule of {}",
            m.rules.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
        );
        if searched.is_empty() {
            ev.push(Evidence::new(
                "(no rewrite rules in any scope)",
                format!("server, Default Web Site, {}", m.vdir),
                seen.clone(),
            ));
        }
        for s in searched {
            ev.push(Evidence::new(s, "rule", seen.clone()));
        }
    }
    let count = present.iter().filter(|p| **p).count();
    let complete =
        if m.needs_all { count == m.rules.len() } else { count > 0 };
    let fixed = cx
        .assessment
        .as_ref()
        .and_then(|a| a.cves.iter().find(|c| c.cve == m.cve))
        .map(|c| {
            matches!(
                c.state,
                CveState::Patched
                    | CveState::PatchedConfigNeeded
                    | CveState::NotAffected
            )
        });
    let needed = m.keep_after_fix || fixed != Some(true);
    if complete && !rewrite_loaded {
        ev.push(Evidence::new(
            cx.inp
                .apphost_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            "system.webServer/globalModules/add[@name='RewriteModule']",
            "(absent)",
        ));
        let status = if needed { Status::Fail } else { Status::Warn };
        return MITIGATION.judge(status, "rules present but the URL Rewrite module is not loaded: they do nothing", ev);
    }
    if complete {
        return MITIGATION.judge(Status::Ok, "mitigation in place", ev);
    }
    let what = if count > 0 {
        format!("partial: {count} of {} rules", m.rules.len())
    } else if !cancelled.is_empty() {
        format!(
            "cancelled: inherited rule(s) dropped by a lower configuration ({})",
            cancelled.join(", ")
        )
    } else if !disabled.is_empty() {
        format!(
            "stale: rule(s) present but disabled ({})",
            disabled.join(", ")
        )
    } else {
        "mitigation rule absent".to_string()
    };
    if !needed {
        return MITIGATION.judge(
            Status::Ok,
            format!("{what}; not needed, the build has the fix"),
            ev,
        );
    }
    let status = if fixed.is_none() && !m.keep_after_fix {
        Status::Warn
    } else {
        Status::Fail
    };
    MITIGATION.judge(status, what, ev)
}

fn eems_service(cx: &Context<'_>, out: &mut Vec<Judgement>) {
    let Some(sys) = cx.inp.registry.hive(HiveKind::System) else {
        out.push(EEMS.unknown(
            "service start type lives in the SYSTEM hive",
            SETTLE_SYSTEM,
        ));
        return;
    };
    let key = r"CurrentControlSet\Services\MSExchangeMitigation";
    let f = sys.get(HiveKind::System, key, "Start");
    let ev = vec![Evidence::new(f.source, f.location("Start"), f.seen())];
    let has_eems =
        cx.inp.build.exsetup.or(cx.inp.build.registry).map(|b| {
            (b[1] == 1 && b[2] >= 2375) || (b[1] == 2 && b[2] >= 986)
        });
    let j = match f.data.and_then(RegData::as_u64) {
        Some(2) => EEMS.judge(Status::Ok, "MSExchangeMitigation starts automatically", ev),
        Some(3) => EEMS.judge(Status::Warn, "MSExchangeMitigation set to manual start: mitigations are not applied", ev),
        Some(4) => EEMS.judge(Status::Fail, "MSExchangeMitigation disabled: Microsoft's emergency mitigations cannot be applied", ev),
        Some(n) => EEMS.judge(Status::Warn, format!("MSExchangeMitigation start type {n}"), ev),
        None if has_eems == Some(false) => EEMS.judge(Status::Ok, "build predates the Emergency Mitigation service", ev),
        None if sys.has_key(key) || has_eems == Some(true) => {
            EEMS.judge(Status::Warn, "MSExchangeMitigation service not registered", ev)
        }
        None => EEMS.unknown("service absent and build unknown", super::SETTLE_EXSETUP),
    };
    out.push(j);
}
