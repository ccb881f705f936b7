//! Extended Protection per virtual directory, as HealthChecker computes it
//! (`Shared/IISFunctions/ExtendedProtection/Get-ExtendedProtection
//! ConfigurationResult.ps1`, CSS-Exchange f88378b, MIT): the expected
//! `tokenChecking` of the 25 Exchange virtual directories for a build that
//! supports it, the value in applicationHost.config (falling back to the
//! parent location, then `None`), SSL flags (falling back to the site),
//! and the IP-filter mitigation HealthChecker accepts on
//! `Exchange Back End/EWS`.

use serde::Serialize;

use crate::iis::{AppHost, Location};

/// A `tokenChecking` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Ep {
    /// No channel-binding check.
    None,
    /// Checked when the client sends a token.
    Allow,
    /// Required.
    Require,
}

impl Ep {
    /// Parse IIS's value (case-insensitive); anything else is `None`, as
    /// IIS would not accept it either.
    pub fn parse(text: &str) -> Ep {
        match text.trim().to_ascii_lowercase().as_str() {
            "require" => Ep::Require,
            "allow" => Ep::Allow,
            _ => Ep::None,
        }
    }

    /// The IIS spelling.
    pub fn word(self) -> &'static str {
        match self {
            Ep::None => "None",
            Ep::Allow => "Allow",
            Ep::Require => "Require",
        }
    }
}

const FE: &str = "Default Web Site";
const BE: &str = "Exchange Back End";
const DEFAULT_SSL: &str = "Ssl,Ssl128";

/// (virtual directory, [(site, expected, expected sslFlags)]).
type Expect = (&'static str, &'static [(&'static str, Ep, &'static str)]);

const EXPECTED: &[Expect] = &[
    ("API", &[(FE, Ep::Require, DEFAULT_SSL), (BE, Ep::Require, DEFAULT_SSL)]),
    (
        "Autodiscover",
        &[(FE, Ep::None, DEFAULT_SSL), (BE, Ep::None, DEFAULT_SSL)],
    ),
    ("ECP", &[(FE, Ep::Require, DEFAULT_SSL), (BE, Ep::Require, DEFAULT_SSL)]),
    ("EWS", &[(FE, Ep::Allow, DEFAULT_SSL), (BE, Ep::Require, DEFAULT_SSL)]),
    (
        "Microsoft-Server-ActiveSync",
        &[(FE, Ep::Allow, DEFAULT_SSL), (BE, Ep::Require, DEFAULT_SSL)],
    ),
    (
        "Microsoft-Server-ActiveSync/Proxy",
        &[(FE, Ep::Allow, DEFAULT_SSL), (BE, Ep::Require, DEFAULT_SSL)],
    ),
    ("OAB", &[(FE, Ep::Allow, DEFAULT_SSL), (BE, Ep::Require, DEFAULT_SSL)]),
    (
        "Powershell",
        &[
            (FE, Ep::None, "SslNegotiateCert"),
            (BE, Ep::Require, "Ssl,Ssl128,SslNegotiateCert"),
        ],
    ),
    ("OWA", &[(FE, Ep::Require, DEFAULT_SSL), (BE, Ep::Require, DEFAULT_SSL)]),
    ("RPC", &[(FE, Ep::Require, DEFAULT_SSL), (BE, Ep::Require, DEFAULT_SSL)]),
    ("MAPI", &[(FE, Ep::Require, DEFAULT_SSL)]),
    ("PushNotifications", &[(BE, Ep::Require, DEFAULT_SSL)]),
    ("RPCWithCert", &[(BE, Ep::Require, DEFAULT_SSL)]),
    ("MAPI/emsmdb", &[(BE, Ep::Require, DEFAULT_SSL)]),
    ("MAPI/nspi", &[(BE, Ep::Require, DEFAULT_SSL)]),
];

/// Virtual directories where HealthChecker accepts an IP allow-list
/// (`allowUnlisted="false"`) instead of `Require`.
const IP_FILTER_VDIRS: &[&str] = &["Exchange Back End/EWS"];

/// Whether a build (ExSetup.exe version) supports Extended Protection:
/// Aug22SU or later (HC's thresholds).
pub fn build_supports_ep(v: [u32; 4]) -> bool {
    let [major, minor, build, rev] = v;
    if major != 15 {
        return false;
    }
    match minor {
        2 => {
            build > 1118
                || (build == 1118 && rev >= 11)
                || (build == 986 && rev >= 28)
        }
        1 => {
            build > 2507
                || (build == 2507 && rev >= 11)
                || (build == 2375 && rev >= 30)
        }
        0 => build > 1497 || (build == 1497 && rev >= 38),
        _ => false,
    }
}

/// Roles that decide which sites are expected (Exchange 2013 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// Mailbox role (back end).
    pub mailbox: bool,
    /// Client Access role (front end).
    pub client_access: bool,
}

impl Default for Roles {
    fn default() -> Self {
        Roles { mailbox: true, client_access: true }
    }
}

/// One virtual directory's Extended Protection state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EpEntry {
    /// `Default Web Site/ECP`.
    pub vdir: String,
    /// A `<location>` with this path exists.
    pub valid_path: bool,
    /// Path of the location the value was read from.
    pub node_path: String,
    /// The value in effect.
    pub actual: Ep,
    /// The value expected for this build.
    pub expected: Ep,
    /// Actual ≤ expected (a higher value breaks clients).
    pub supported: bool,
    /// Actual is secure enough (or the IP filter stands in for it).
    pub properly_secured: bool,
    /// `allowUnlisted="false"` on the location.
    pub ip_filter: bool,
    /// IP allow-list entries (address, allowed).
    pub ip_entries: Vec<(String, String)>,
    /// sslFlags in effect (own, else the site's).
    pub ssl_flags: Option<String>,
    /// sslFlags expected.
    pub expected_ssl_flags: &'static str,
    /// Every expected SSL flag is present.
    pub ssl_flags_correct: bool,
}

/// The whole computation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EpResult {
    /// The build supports EP (Aug22SU+); `None` when the build is unknown.
    pub supported_version: Option<bool>,
    /// One entry per expected virtual directory.
    pub entries: Vec<EpEntry>,
}

impl EpResult {
    /// At least one virtual directory has EP other than `None`.
    pub fn configured(&self) -> bool {
        self.entries.iter().any(|e| e.actual != Ep::None)
    }
}

/// Compute EP for every expected virtual directory.
pub fn extended_protection(
    host: &AppHost,
    build: Option<[u32; 4]>,
    roles: Roles,
) -> EpResult {
    let supported = build.map(build_supports_ep);
    let e2013 = build.is_some_and(|v| v[0] == 15 && v[1] == 0);
    let mut entries = Vec::new();
    for (vdir, sites) in EXPECTED {
        for (site, expect, ssl) in sites.iter() {
            if e2013 && *vdir != "Powershell" {
                if *vdir == "API" {
                    break;
                }
                if !roles.client_access && *site == FE {
                    continue;
                }
                if !roles.mailbox && *site == BE {
                    continue;
                }
            }
            let expected =
                if supported == Some(true) { *expect } else { Ep::None };
            entries.push(entry(
                host,
                &format!("{site}/{vdir}"),
                expected,
                ssl,
            ));
        }
    }
    EpResult { supported_version: supported, entries }
}

fn entry(
    host: &AppHost,
    path: &str,
    expected: Ep,
    ssl: &'static str,
) -> EpEntry {
    let own = host.location(path);
    let parent = path.rsplit_once('/').and_then(|(p, _)| host.location(p));
    let root = path.split('/').next().and_then(|s| host.location(s));
    let token = |l: Option<&Location>| {
        l.and_then(|l| l.token_checking.clone()).filter(|t| !t.is_empty())
    };
    let actual = match own {
        Some(_) => token(own)
            .or_else(|| token(parent))
            .map_or(Ep::None, |t| Ep::parse(&t)),
        None => Ep::None,
    };
    let ssl_flags = own.and_then(|l| {
        l.ssl_flags
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| root.and_then(|r| r.ssl_flags.clone()))
    });
    let ip_filter = own
        .and_then(|l| l.allow_unlisted.as_deref())
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let supported = actual == expected
        || expected == Ep::Require
        || (expected == Ep::Allow && actual == Ep::None);
    let properly_secured = actual == expected
        || match expected {
            Ep::Require => {
                IP_FILTER_VDIRS.iter().any(|v| v.eq_ignore_ascii_case(path))
                    && ip_filter
            }
            Ep::Allow => actual == Ep::Require,
            Ep::None => true,
        };
    let current: Vec<&str> = ssl_flags
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect();
    let ssl_flags_correct = ssl.split(',').all(|f| current.contains(&f));
    EpEntry {
        vdir: path.to_string(),
        valid_path: own.is_some(),
        node_path: own.map(|l| l.path.clone()).unwrap_or_default(),
        actual,
        expected,
        supported,
        properly_secured,
        ip_filter,
        ip_entries: own.map(|l| l.ip_entries.clone()).unwrap_or_default(),
        ssl_flags,
        expected_ssl_flags: ssl,
        ssl_flags_correct,
    }
}
