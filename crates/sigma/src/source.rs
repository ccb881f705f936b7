//! Which records a rule applies to (its `logsource`), and each record's
//! fields under Sigma's names.
//!
//! A rule's `product`, `category` and `service`, where given, must each
//! name the record's kind:
//!
//! | vigie source | product | category | service |
//! |---|---|---|---|
//! | IIS W3C | `windows`, `iis` | `webserver` | `iis`, `w3svc` |
//! | Exchange HttpProxy | `windows`, `exchange` | `webserver` | `httpproxy`, `msexchange-httpproxy` |
//! | Exchange ECP server / OABGenerator | `exchange` | - | `ecp-server` / `oabgenerator` |
//! | EVTX, JSON event exports | `windows` | from channel and event id | from the channel |
//!
//! A rule that names only `product: windows` applies to event records,
//! not to web logs (they are not Windows events). Event channels map to
//! Sigma's services as SigmaHQ's Windows pipeline does (`Security` ->
//! `security`, `Microsoft-Windows-Sysmon/Operational` -> `sysmon`,
//! `Windows PowerShell` -> `powershell-classic`, ...), and channel plus
//! event id to categories (Sysmon 1 and Security 4688 ->
//! `process_creation`, Sysmon 3 -> `network_connection`, PowerShell 4104
//! -> `ps_script`, ...): see [`windows_kind`].

use serde_norway::Value;

/// A rule's `logsource`, lower case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// `product`.
    pub product: Option<String>,
    /// `category`.
    pub category: Option<String>,
    /// `service`.
    pub service: Option<String>,
}

impl Target {
    /// Read from the rule's `logsource` mapping.
    pub fn from_logsource(v: Option<&Value>) -> Target {
        let get = |k: &str| {
            v.and_then(|v| v.get(k))
                .and_then(Value::as_str)
                .map(|s| s.trim().to_ascii_lowercase())
        };
        Target {
            product: get("product"),
            category: get("category"),
            service: get("service"),
        }
    }

    /// Whether the rule applies to records of `kind`.
    pub fn applies(&self, kind: &Kind) -> bool {
        let ok = |want: &Option<String>, have: &[&str]| {
            want.as_deref().is_none_or(|w| have.contains(&w))
        };
        if self.category.is_none() && self.service.is_none() {
            // `product: windows` alone means Windows events, not web logs.
            return match &self.product {
                None => true,
                Some(p) => kind.products.first() == Some(&p.as_str()),
            };
        }
        ok(&self.product, kind.products)
            && ok(&self.category, &kind.categories)
            && ok(&self.service, kind.services)
    }
}

/// What kind of record a record is, in Sigma's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kind {
    /// Products; the first is the record's own.
    pub products: &'static [&'static str],
    /// Categories.
    pub categories: Vec<&'static str>,
    /// Services.
    pub services: &'static [&'static str],
}

/// IIS W3C records.
pub const IIS: Kind = Kind {
    products: &["iis", "windows"],
    categories: Vec::new(),
    services: &["iis", "w3svc"],
};

/// The kind of a web-log source (with its `webserver` category).
pub fn web(base: &Kind) -> Kind {
    Kind { categories: vec!["webserver"], ..base.clone() }
}

/// Exchange HttpProxy records.
pub const HTTPPROXY: Kind = Kind {
    products: &["exchange", "windows"],
    categories: Vec::new(),
    services: &["httpproxy", "msexchange-httpproxy"],
};

/// Exchange ECP server log records.
pub const ECP: Kind = Kind {
    products: &["exchange"],
    categories: Vec::new(),
    services: &["ecp-server"],
};

/// Exchange OABGenerator log records.
pub const OAB: Kind = Kind {
    products: &["exchange"],
    categories: Vec::new(),
    services: &["oabgenerator"],
};

/// Whether a rule applies to some record kind vigie reads.
pub fn applies_anywhere(t: &Target) -> bool {
    if [web(&IIS), web(&HTTPPROXY), ECP, OAB].iter().any(|k| t.applies(k)) {
        return true;
    }
    match (&t.product, &t.category, &t.service) {
        (Some(p), _, _) if p != "windows" => false,
        (_, Some(c), _) if !WINDOWS_CATEGORIES.contains(&c.as_str()) => false,
        (_, _, Some(s)) => CHANNELS.iter().any(|(_, svc)| svc == s),
        _ => true,
    }
}

/// Event channels (lower case) and their Sigma service.
static CHANNELS: &[(&str, &str)] = &[
    ("security", "security"),
    ("system", "system"),
    ("application", "application"),
    ("microsoft-windows-sysmon/operational", "sysmon"),
    ("windows powershell", "powershell-classic"),
    ("microsoft-windows-powershell/operational", "powershell"),
    ("msexchange management", "msexchange-management"),
    ("microsoft-windows-windows defender/operational", "windefend"),
    ("microsoft-windows-taskscheduler/operational", "taskscheduler"),
    ("microsoft-windows-wmi-activity/operational", "wmi"),
    ("microsoft-windows-bits-client/operational", "bits-client"),
    (
        "microsoft-windows-codeintegrity/operational",
        "codeintegrity-operational",
    ),
    ("microsoft-windows-dns-client/operational", "dns-client"),
    ("microsoft-windows-ntlm/operational", "ntlm"),
    ("microsoft-windows-smbclient/security", "smbclient-security"),
    ("microsoft-windows-applocker/exe and dll", "applocker"),
    ("microsoft-windows-applocker/msi and script", "applocker"),
    (
        "microsoft-windows-terminalservices-localsessionmanager/operational",
        "terminalservices-localsessionmanager",
    ),
    (
        "microsoft-windows-windows firewall with advanced security/firewall",
        "firewall-as",
    ),
    ("microsoft-windows-printservice/admin", "printservice-admin"),
    ("microsoft-windows-printservice/operational", "printservice-operational"),
    ("microsoft-windows-ldap-client/debug", "ldap_debug"),
    ("directory service", "directory-service"),
    ("dns server", "dns-server"),
    ("microsoft-windows-openssh/operational", "openssh"),
];

/// Categories vigie can give Windows events.
const WINDOWS_CATEGORIES: &[&str] = &[
    "process_creation",
    "file_change",
    "network_connection",
    "process_termination",
    "driver_load",
    "image_load",
    "create_remote_thread",
    "raw_access_thread",
    "process_access",
    "file_event",
    "registry_add",
    "registry_delete",
    "registry_set",
    "registry_rename",
    "registry_event",
    "create_stream_hash",
    "pipe_created",
    "wmi_event",
    "dns_query",
    "file_delete",
    "file_access",
    "process_tampering",
    "ps_script",
    "ps_module",
    "ps_classic_start",
    "ps_classic_provider_start",
    "ps_classic_script",
];

/// The kind of a Windows event from its channel and event id.
pub fn windows_kind(channel: &str, event_id: Option<u64>) -> Kind {
    let ch = channel.trim().to_ascii_lowercase();
    let service = CHANNELS.iter().find(|(c, _)| *c == ch).map(|(_, s)| *s);
    let categories = match (service, event_id) {
        (Some("sysmon"), Some(id)) => sysmon_categories(id),
        (Some("security"), Some(4688)) => vec!["process_creation"],
        (Some("security"), Some(4663)) => vec!["file_access"],
        (Some("powershell"), Some(4104)) => vec!["ps_script"],
        (Some("powershell"), Some(4103)) => vec!["ps_module"],
        (Some("powershell-classic"), Some(400)) => vec!["ps_classic_start"],
        (Some("powershell-classic"), Some(600)) => {
            vec!["ps_classic_provider_start"]
        }
        (Some("powershell-classic"), Some(800)) => vec!["ps_classic_script"],
        _ => Vec::new(),
    };
    Kind {
        products: &["windows"],
        categories,
        services: service_slice(service),
    }
}

fn service_slice(s: Option<&'static str>) -> &'static [&'static str] {
    match s {
        None => &[],
        Some(s) => CHANNELS
            .iter()
            .position(|(_, svc)| *svc == s)
            .map(|i| std::slice::from_ref(&CHANNELS[i].1))
            .unwrap_or(&[]),
    }
}

fn sysmon_categories(id: u64) -> Vec<&'static str> {
    match id {
        1 => vec!["process_creation"],
        2 => vec!["file_change"],
        3 => vec!["network_connection"],
        5 => vec!["process_termination"],
        6 => vec!["driver_load"],
        7 => vec!["image_load"],
        8 => vec!["create_remote_thread"],
        9 => vec!["raw_access_thread"],
        10 => vec!["process_access"],
        11 => vec!["file_event"],
        12 => vec!["registry_add", "registry_delete", "registry_event"],
        13 => vec!["registry_set", "registry_event"],
        14 => vec!["registry_rename", "registry_event"],
        15 => vec!["create_stream_hash"],
        17 | 18 => vec!["pipe_created"],
        19..=21 => vec!["wmi_event"],
        22 => vec!["dns_query"],
        23 | 26 => vec!["file_delete"],
        25 => vec!["process_tampering"],
        _ => Vec::new(),
    }
}

/// Sigma's name for an IIS W3C column: `cs(User-Agent)` ->
/// `cs-user-agent`, `cs(Referer)` -> `cs-referer`, `cs(Cookie)` ->
/// `cs-cookie`; other names as IIS writes them.
pub fn iis_field(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    for prefix in ["cs(", "sc(", "s("] {
        if let Some(inner) =
            lower.strip_prefix(prefix).and_then(|r| r.strip_suffix(')'))
        {
            return format!("{}-{inner}", &prefix[..prefix.len() - 1]);
        }
    }
    lower
}

/// Sigma `webserver` names for HttpProxy columns (the columns are kept
/// under their own names too).
pub const HTTPPROXY_ALIASES: &[(&str, &str)] = &[
    ("UrlStem", "cs-uri-stem"),
    ("UrlQuery", "cs-uri-query"),
    ("Method", "cs-method"),
    ("UserAgent", "cs-user-agent"),
    ("ClientIpAddress", "c-ip"),
    ("AuthenticatedUser", "cs-username"),
    ("HttpStatus", "sc-status"),
    ("UrlHost", "cs-host"),
    ("ServerHostName", "s-computername"),
];

/// Sigma's Windows names for fields of vigie's flat event records (kept
/// under their own names too): `SourceName` (EVTX provider) and the
/// export tools' `ProviderName` -> `Provider_Name`; Security 4688's
/// `NewProcessName` -> `Image`, `ParentProcessName` -> `ParentImage`.
pub const EVENT_ALIASES: &[(&str, &str)] = &[
    ("SourceName", "Provider_Name"),
    ("ProviderName", "Provider_Name"),
    ("NewProcessName", "Image"),
    ("ParentProcessName", "ParentImage"),
    ("Id", "EventID"),
];
