//! Transport agents (ATT&CK T1505.002): `TransportRoles\Shared\
//! agents.config` (and the front-end and mailbox transport variants,
//! `*agents.config`) lists every agent the transport service loads, with
//! its assembly. An agent Exchange does not ship, or an assembly outside
//! the Exchange install tree, is how intruders read and steer all mail
//! (ESET's LightNeuron, Kaspersky's 2022-2024 reports of keyloggers and
//! agents on Exchange).
//!
//! Shipped agents: the manageable agents Microsoft lists for Mailbox and
//! Edge Transport servers ("Transport agents in Exchange Server",
//! Microsoft Learn), which are the ones `agents.config` names. Vendors'
//! agents (anti-spam, disclaimers) are registered the same way, so an
//! unknown agent inside the install tree is graded `attempt` (review);
//! an assembly in a staging or web folder, or a shipped agent's name
//! pointing outside the tree, is `compromised`.

use std::collections::BTreeMap;

use vigie_model::{
    Family, Finding, Grade, ItemError, ItemErrorKind, Severity,
};

use super::rules::{AGENT_PATH, AGENT_UNKNOWN, FileCtx};
use crate::place::{Place, place_of};

/// The largest configuration read (Exchange's is a few KiB).
pub const MAX_CONFIG: u64 = 4 << 20;

/// Agents Exchange 2013-SE registers (lower case, spaces normalised).
const SHIPPED: &[&str] = &[
    "transport rule agent",
    "dlp policy agent",
    "retention policy agent",
    "supervisory review agent",
    "malware agent",
    "text messaging routing agent",
    "text messaging delivery agent",
    "system probe drop smtp agent",
    "system probe drop routing agent",
    "connection filtering agent",
    "address rewriting inbound agent",
    "address rewriting outbound agent",
    "edge rule agent",
    "content filter agent",
    "sender id agent",
    "sender filter agent",
    "recipient filter agent",
    "protocol analysis agent",
    "attachment filtering agent",
];

/// Whether a file is a transport agent configuration.
pub fn applies(win_lower: &str) -> bool {
    win_lower.contains(r"\transportroles\")
        && win_lower
            .rsplit('\\')
            .next()
            .is_some_and(|n| n.ends_with("agents.config"))
}

/// One `<agent>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// `name`.
    pub name: String,
    /// `assemblyPath`.
    pub assembly: String,
    /// `classFactory`.
    pub factory: String,
    /// `enabled`.
    pub enabled: String,
}

/// Every agent of a configuration, or why it is not one.
pub fn parse(bytes: &[u8]) -> Result<Vec<Agent>, String> {
    let text = decode(bytes);
    let doc = roxmltree::Document::parse(&text)
        .map_err(|e| format!("not well-formed XML: {e}"))?;
    let agents: Vec<Agent> = doc
        .descendants()
        .filter(|n| n.has_tag_name("agent"))
        .map(|n| {
            let a = |k: &str| n.attribute(k).unwrap_or("").to_string();
            Agent {
                name: a("name"),
                assembly: a("assemblyPath"),
                factory: a("classFactory"),
                enabled: a("enabled"),
            }
        })
        .collect();
    if agents.is_empty()
        && !doc.descendants().any(|n| n.has_tag_name("agentList"))
    {
        return Err(
            "no <agentList> element: not a transport agent configuration"
                .into(),
        );
    }
    Ok(agents)
}

/// UTF-8 (BOM or not) or UTF-16 with a BOM.
fn decode(bytes: &[u8]) -> String {
    let utf16 = |b: &[u8], be: bool| {
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| {
                if be {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from_le_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => {
            String::from_utf8_lossy(rest).into_owned()
        }
        [0xFF, 0xFE, rest @ ..] => utf16(rest, false),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, true),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Judge a configuration; a broken one is an error naming the file.
pub fn check(
    ctx: &FileCtx<'_>,
    bytes: &[u8],
) -> (Vec<Finding>, Vec<ItemError>) {
    let agents = match parse(bytes) {
        Ok(a) => a,
        Err(why) => {
            let e = ItemError::new(
                ctx.path.display().to_string(),
                ItemErrorKind::Parse,
                format!("transport agent configuration: {why}"),
            );
            return (Vec::new(), vec![e]);
        }
    };
    // The install root this configuration belongs to (`...\V15`).
    let lower = &ctx.win.lower;
    let root = lower.find(r"\transportroles\").map_or("", |i| &lower[..=i]);
    let found = agents.iter().filter_map(|a| judge(ctx, root, a)).collect();
    (found, Vec::new())
}

fn normalise(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase()
}

/// Whether an assembly path lies in the Exchange install tree.
fn inside_tree(root: &str, assembly: &str) -> bool {
    let a = assembly.trim().to_ascii_lowercase().replace('/', "\\");
    (!root.is_empty() && a.starts_with(root))
        || a.contains(r"\exchange server\v1")
        || a.starts_with("%exchangeinstallpath%")
}

fn judge(ctx: &FileCtx<'_>, root: &str, a: &Agent) -> Option<Finding> {
    let shipped = SHIPPED.contains(&normalise(&a.name).as_str());
    let inside =
        a.assembly.trim().is_empty() || inside_tree(root, &a.assembly);
    let assembly_lower = a.assembly.trim().to_ascii_lowercase();
    let hostile_place = matches!(
        place_of(&assembly_lower),
        Place::Staging | Place::ShellDrop | Place::WebRoot | Place::TempAspNet
    );
    let (rule, grade, why) = match (shipped, inside) {
        (true, true) => return None,
        (_, false) if shipped || hostile_place => (
            &AGENT_PATH,
            Grade::Compromised,
            "assembly outside the Exchange install tree, in a folder intruders use or under a shipped agent's name",
        ),
        (_, false) => (
            &AGENT_PATH,
            Grade::Attempt,
            "assembly outside the Exchange install tree (review: vendor agents install elsewhere too)",
        ),
        (false, true) => (
            &AGENT_UNKNOWN,
            Grade::Attempt,
            "agent Exchange does not ship (review: vendor agents register the same way)",
        ),
    };
    let severity = if grade == Grade::Compromised {
        Severity::Critical
    } else {
        Severity::High
    };
    let mut d = BTreeMap::new();
    d.insert("agent".into(), a.name.clone());
    d.insert("assembly_path".into(), a.assembly.clone());
    d.insert("class_factory".into(), a.factory.clone());
    d.insert("enabled".into(), a.enabled.clone());
    let summary = format!("transport agent {:?}: {why}", a.name);
    let mut f = ctx.finding(rule, grade, severity, summary, d);
    f.family = Family::Persistence;
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STOCK: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<configuration><mexRuntime><agentList>
<agent name="Transport Rule Agent" baseType="Microsoft.Exchange.Data.Transport.Routing.RoutingAgentFactory" classFactory="Microsoft.Exchange.MessagingPolicies.TransportRuleAgent.TransportRuleAgentFactory" assemblyPath="C:\Program Files\Microsoft\Exchange Server\V15\TransportRoles\agents\Hygiene\Microsoft.Exchange.MessagingPolicies.TransportRuleAgent.dll" enabled="true" />
</agentList><settings /></mexRuntime></configuration>"#;

    #[test]
    fn stock_configuration_parses() {
        let a = parse(STOCK.as_bytes()).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].enabled, "true");
        let bom: Vec<u8> =
            [&[0xEF, 0xBB, 0xBF][..], STOCK.as_bytes()].concat();
        assert_eq!(parse(&bom).unwrap(), a);
    }

    /// Hostile input: broken, cut, binary or foreign XML is a named
    /// error, never a panic.
    #[test]
    fn broken_configurations_are_named_errors() {
        for cut in [10, 100, STOCK.len() - 20] {
            let e = parse(&STOCK.as_bytes()[..cut]).unwrap_err();
            assert!(e.starts_with("not well-formed XML"), "{e}");
        }
        assert!(parse(b"\x00\x01\xff\xfe garbage").is_err());
        assert!(parse(b"<configuration/>").unwrap_err().contains("agentList"));
        assert!(parse("<".repeat(100_000).as_bytes()).is_err());
    }

    #[test]
    fn assembly_places_are_judged() {
        let root = r"c:\program files\microsoft\exchange server\v15\";
        assert!(inside_tree(
            root,
            r"C:\Program Files\Microsoft\Exchange Server\V15\TransportRoles\agents\x.dll"
        ));
        assert!(inside_tree(
            r"d:\exchange\",
            r"D:\Exchange\TransportRoles\agents\x.dll"
        ));
        assert!(!inside_tree(root, r"C:\ProgramData\Microsoft\x.dll"));
    }
}
