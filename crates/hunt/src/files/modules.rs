//! IIS modules IIS and Exchange do not ship (`VG-CFG-001`): every
//! `applicationHost.config` and `web.config` on the evidence is read for
//! its `globalModules` and `modules` registrations, and each is judged
//! with `vigie-health`'s list of the modules IIS and Exchange ship (one
//! list for `vigie check --host` and the hunt). Native IIS backdoors
//! (IIS-Raid, the families of ESET's "Anatomy of native IIS malware")
//! register in `globalModules`; managed ones (Owowa) in a `modules`
//! list.
//!
//! Grading: a shipped module's name with another image or assembly, or a
//! module image in a staging folder, is a foothold (compromised,
//! critical); any other module IIS and Exchange do not ship is worth a
//! look (attempt, medium): security products register modules too.

use vigie_health::modules::{Registration, Section, Shipped, registrations};
use vigie_health::xml::ConfigText;
use vigie_model::{Finding, Grade, ItemError, Severity};

use super::rules::{FileCtx, FsRule, details};
use crate::place::{Place, place_of};

/// An IIS module IIS and Exchange do not ship.
pub const IIS_MODULE: FsRule = FsRule {
    id: "VG-CFG-001",
    title: "IIS module not shipped by IIS or Exchange",
    cves: &[],
    attack: &["T1505.004"],
    references: &[
        "https://attack.mitre.org/techniques/T1505/004/",
        "https://www.welivesecurity.com/2021/08/06/anatomy-native-iis-malware/",
        "https://securelist.com/owowa-credential-stealer-and-remote-access/105219/",
        "https://github.com/microsoft/CSS-Exchange/blob/main/Diagnostics/HealthChecker/Analyzer/Security/Invoke-AnalyzerSecurityIISModules.ps1",
    ],
};

/// Whether the file is an IIS configuration file that registers
/// modules.
pub fn is_module_config(name_lower: &str) -> bool {
    name_lower == "applicationhost.config" || name_lower == "web.config"
}

/// Findings for the modules `ctx`'s file registers; a file that cannot
/// be read or parsed is one error (IIS would refuse it too).
pub fn check(ctx: &FileCtx<'_>, errors: &mut Vec<ItemError>) -> Vec<Finding> {
    let regs = ConfigText::read(ctx.path).and_then(|t| registrations(&t));
    let regs = match regs {
        Ok(r) => r,
        Err(e) => {
            errors.push(e.to_item());
            return Vec::new();
        }
    };
    regs.iter().filter_map(|r| finding(ctx, r)).collect()
}

fn finding(ctx: &FileCtx<'_>, r: &Registration) -> Option<Finding> {
    let shipped = r.shipped()?;
    let staged = r.section == Section::Global && in_staging(&r.value);
    let (grade, why) = match (&shipped, staged) {
        (Shipped::Yes, _) => return None,
        (Shipped::Masquerade { expected }, _) => (
            Grade::Compromised,
            format!(
                "name of a module IIS or Exchange ships, but expected {expected}"
            ),
        ),
        (Shipped::No, true) => (
            Grade::Compromised,
            "not shipped by IIS or Exchange, image in a staging folder"
                .to_string(),
        ),
        (Shipped::No, false) => {
            (Grade::Attempt, "not shipped by IIS or Exchange".to_string())
        }
    };
    let what = match r.section {
        Section::Global => "native module (globalModules)",
        Section::Modules => "managed module (modules)",
    };
    let summary = format!(
        "{}: {what} '{}' -> {}: {why}",
        ctx.win.display, r.name, r.value
    );
    let d = details([
        ("module_name", r.name.clone()),
        ("module_section", what.to_string()),
        ("module_value", r.value.clone()),
        ("config_element", r.element.clone()),
    ]);
    let severity = match grade {
        Grade::Compromised => Severity::Critical,
        _ => Severity::Medium,
    };
    Some(ctx.finding(&IIS_MODULE, grade, severity, summary, d))
}

/// Whether a module image path (`%windir%\Temp\x.dll`) is in a folder
/// attackers stage tools in.
fn in_staging(image: &str) -> bool {
    let mut lower = image.to_lowercase().replace('/', "\\");
    for (var, value) in [
        ("%windir%", r"c:\windows"),
        ("%systemroot%", r"c:\windows"),
        ("%systemdrive%", "c:"),
        ("%programdata%", r"c:\programdata"),
        ("%public%", r"c:\users\public"),
    ] {
        lower = lower.replace(var, value);
    }
    place_of(&lower) == Place::Staging
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_images_are_recognised_through_variables() {
        assert!(in_staging(r"%windir%\Temp\iistelemetry.dll"));
        assert!(in_staging(r"C:\ProgramData\x.dll"));
        assert!(!in_staging(r"%windir%\System32\inetsrv\rewrite.dll"));
    }
}
