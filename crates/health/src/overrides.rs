//! Setting overrides (Active Directory objects, so only known from an
//! export): `Get-SettingOverride` CLIXML or the TopologyService view
//! (`Get-ExchangeDiagnosticInfo ... -Component VariantConfiguration
//! -Argument Overrides`), filtered as HealthChecker does
//! (`Get-FilteredSettingOverrideInformation.ps1`): exact component and
//! section, parameter names matched by substring, status `Accepted` only,
//! first value per parameter, server-scoped overrides only for that server.

use crate::clixml::Value;

/// One setting override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingOverride {
    /// Its name.
    pub name: String,
    /// `ComponentName`.
    pub component: String,
    /// `SectionName`.
    pub section: String,
    /// `Name=Value` strings.
    pub parameters: Vec<String>,
    /// `Accepted`, ...
    pub status: String,
    /// Servers it is limited to (empty = all).
    pub servers: Vec<String>,
    /// The export it came from.
    pub source: String,
}

/// A parameter value found in an override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideValue<'a> {
    /// The override.
    pub of: &'a SettingOverride,
    /// The parameter (`Enabled=False`).
    pub parameter: String,
    /// Its value (`False`).
    pub value: String,
}

/// Overrides found in the top-level values of a CLIXML export (either
/// form); an export holding none gives an empty list.
pub fn from_clixml(values: &[Value], source: &str) -> Vec<SettingOverride> {
    let mut out = Vec::new();
    for v in values {
        let Some(o) = v.obj() else { continue };
        if let (Some(c), Some(s)) =
            (o.text("ComponentName"), o.text("SectionName"))
        {
            out.push(SettingOverride {
                name: o.text("Name").unwrap_or_default().to_string(),
                component: c.to_string(),
                section: s.to_string(),
                parameters: o
                    .prop("Parameters")
                    .map(Value::texts)
                    .unwrap_or_default(),
                status: o.text("Status").unwrap_or("Accepted").to_string(),
                servers: o
                    .prop("Server")
                    .map(Value::texts)
                    .unwrap_or_default(),
                source: source.to_string(),
            });
        } else if let Some(result) = o.text("Result") {
            out.extend(from_diagnostic_result(result, source));
        }
    }
    out
}

/// The `Result` XML of the TopologyService diagnostic export.
fn from_diagnostic_result(xml: &str, source: &str) -> Vec<SettingOverride> {
    let Ok(doc) = roxmltree::Document::parse(xml) else { return Vec::new() };
    let text = |n: roxmltree::Node<'_, '_>, tag: &str| {
        n.children()
            .find(|c| c.has_tag_name(tag))
            .and_then(|c| c.text())
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    doc.descendants()
        .filter(|n| n.has_tag_name("SettingOverride"))
        .map(|n| SettingOverride {
            name: text(n, "Name"),
            component: text(n, "ComponentName"),
            section: text(n, "SectionName"),
            status: text(n, "Status"),
            parameters: n
                .children()
                .filter(|c| c.has_tag_name("Parameters"))
                .flat_map(|p| {
                    p.children().filter(|c| c.has_tag_name("Parameter"))
                })
                .filter_map(|p| p.text().map(|t| t.trim().to_string()))
                .collect(),
            servers: Vec::new(),
            source: source.to_string(),
        })
        .collect()
}

/// Values of `parameter` in accepted overrides of `component`/`section`
/// that apply to `server` (HealthChecker's filter).
pub fn values<'a>(
    all: &'a [SettingOverride],
    server: &str,
    component: &str,
    section: &str,
    parameter: &str,
) -> Vec<OverrideValue<'a>> {
    let server = server.to_ascii_lowercase();
    let param = parameter.to_ascii_lowercase();
    all.iter()
        .filter(|o| o.component.eq_ignore_ascii_case(component))
        .filter(|o| o.section.eq_ignore_ascii_case(section))
        .filter(|o| o.status.eq_ignore_ascii_case("Accepted"))
        .filter(|o| {
            o.servers.is_empty()
                || o.servers.iter().any(|s| {
                    s.split('.')
                        .next()
                        .unwrap_or(s)
                        .eq_ignore_ascii_case(&server)
                })
        })
        .filter_map(|o| {
            let p = o.parameters.iter().find(|p| {
                p.split_once('=').is_some_and(|(n, _)| {
                    n.to_ascii_lowercase().contains(&param)
                })
            })?;
            let value =
                p.split_once('=').map(|(_, v)| v.trim().to_string())?;
            Some(OverrideValue { of: o, parameter: p.clone(), value })
        })
        .collect()
}
