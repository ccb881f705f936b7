//! The part of a server's registry the judgements read, from hive files or
//! `.reg` exports, as one [`Snapshot`] per hive.
//!
//! Only the subtrees listed in [`SOFTWARE_TREES`] and [`SYSTEM_TREES`] are
//! read: a SOFTWARE hive is hundreds of megabytes and the judgements need a
//! few dozen keys. `CurrentControlSet` does not exist on disk; the hive
//! reader follows `Select\Current` and files the control set it found
//! under `CurrentControlSet`, keeping the real key name for evidence.

use std::collections::BTreeMap;

pub mod forge;
mod hive;
mod regfile;

pub use hive::{HiveRead, read_hive, read_hive_bytes};
pub use regfile::{parse_reg as parse_reg_text, read_reg_export};

/// Which hive a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HiveKind {
    /// `HKLM\SOFTWARE`.
    Software,
    /// `HKLM\SYSTEM`.
    System,
}

impl HiveKind {
    /// `SOFTWARE` or `SYSTEM`.
    pub fn name(self) -> &'static str {
        match self {
            HiveKind::Software => "SOFTWARE",
            HiveKind::System => "SYSTEM",
        }
    }
}

/// SOFTWARE subtrees read (depth-limited, case-insensitive).
pub const SOFTWARE_TREES: &[&str] = &[
    r"Microsoft\ExchangeServer\v15",
    r"Microsoft\Updates\Exchange 2013",
    r"Microsoft\Updates\Exchange 2016",
    r"Microsoft\Updates\Exchange 2019",
    r"Microsoft\.NETFramework\v2.0.50727",
    r"Microsoft\.NETFramework\v4.0.30319",
    r"Wow6432Node\Microsoft\.NETFramework\v2.0.50727",
    r"Wow6432Node\Microsoft\.NETFramework\v4.0.30319",
    r"Microsoft\Windows NT\CurrentVersion",
    r"Microsoft\AMSI\Providers",
];

/// SYSTEM subtrees read, below the current control set.
pub const SYSTEM_TREES: &[&str] = &[
    r"Control\SecurityProviders\SCHANNEL\Protocols",
    r"Control\Lsa",
    r"Control\DeviceGuard",
    r"Services\MSExchangeMitigation",
    r"Services\LanmanServer\Parameters",
    r"Services\mrxsmb10",
];

/// A registry value's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegData {
    /// REG_DWORD.
    Dword(u32),
    /// REG_QWORD.
    Qword(u64),
    /// REG_SZ / REG_EXPAND_SZ.
    Str(String),
    /// REG_MULTI_SZ.
    Multi(Vec<String>),
    /// Anything else, raw.
    Binary(Vec<u8>),
}

impl RegData {
    /// The value as a number (DWORD, QWORD, or a decimal string).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            RegData::Dword(v) => Some(u64::from(*v)),
            RegData::Qword(v) => Some(*v),
            RegData::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The value as text (strings; numbers in decimal).
    pub fn as_text(&self) -> Option<String> {
        match self {
            RegData::Str(s) => Some(s.clone()),
            RegData::Dword(v) => Some(v.to_string()),
            RegData::Qword(v) => Some(v.to_string()),
            RegData::Multi(v) => Some(v.join(";")),
            RegData::Binary(_) => None,
        }
    }
}

impl std::fmt::Display for RegData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegData::Dword(v) => write!(f, "{v} (0x{v:x})"),
            RegData::Qword(v) => write!(f, "{v}"),
            RegData::Str(s) => write!(f, "{s:?}"),
            RegData::Multi(v) => write!(f, "{v:?}"),
            RegData::Binary(b) => write!(f, "{} bytes", b.len()),
        }
    }
}

/// One key: its real path (for evidence) and its values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Key {
    /// The path as found (`ControlSet001\Control\Lsa`).
    pub real_path: String,
    /// Values by lower-case name: (name as found, data).
    pub values: BTreeMap<String, (String, RegData)>,
}

/// Keys of one hive, by lower-case normalised path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Where the data came from (hive file or `.reg` export).
    pub source: String,
    /// Keys by normalised lower-case path (`currentcontrolset\control\lsa`).
    pub keys: BTreeMap<String, Key>,
}

/// A value read for a judgement, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'a> {
    /// The hive or export.
    pub source: &'a str,
    /// `HKLM\SYSTEM\ControlSet001\Control\Lsa`.
    pub key: String,
    /// The data, if the value exists.
    pub data: Option<&'a RegData>,
}

impl Found<'_> {
    /// `key` `name` as one evidence location.
    pub fn location(&self, name: &str) -> String {
        format!("{} {name}", self.key)
    }

    /// The value for evidence (`(absent)` if missing).
    pub fn seen(&self) -> String {
        self.data.map_or_else(|| "(absent)".to_string(), RegData::to_string)
    }
}

impl Snapshot {
    /// An empty snapshot for `source`.
    pub fn new(source: impl Into<String>) -> Self {
        Snapshot { source: source.into(), keys: BTreeMap::new() }
    }

    /// Store a value (normalised path, real path for evidence).
    pub fn insert(
        &mut self,
        norm: &str,
        real: &str,
        name: &str,
        data: RegData,
    ) {
        let key = self.key_entry(norm, real);
        key.values.insert(name.to_ascii_lowercase(), (name.to_string(), data));
    }

    /// Make sure a key exists (keys without values still count).
    pub fn key_entry(&mut self, norm: &str, real: &str) -> &mut Key {
        self.keys.entry(norm.to_ascii_lowercase()).or_insert_with(|| Key {
            real_path: real.to_string(),
            values: BTreeMap::new(),
        })
    }

    /// Whether a key exists.
    pub fn has_key(&self, path: &str) -> bool {
        self.keys.contains_key(&path.to_ascii_lowercase())
    }

    /// A value of a key, with evidence.
    pub fn get(&self, hive: HiveKind, path: &str, name: &str) -> Found<'_> {
        let key = self.keys.get(&path.to_ascii_lowercase());
        let real = key.map_or(path, |k| k.real_path.as_str());
        Found {
            source: &self.source,
            key: format!(r"HKLM\{}\{real}", hive.name()),
            data: key
                .and_then(|k| k.values.get(&name.to_ascii_lowercase()))
                .map(|(_, d)| d),
        }
    }

    /// Names of the direct subkeys of `path`, as found.
    pub fn subkeys(&self, path: &str) -> Vec<String> {
        let prefix = format!("{}\\", path.to_ascii_lowercase());
        let mut out: Vec<String> = self
            .keys
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !k[prefix.len()..].contains('\\'))
            .map(|(_, v)| {
                v.real_path.rsplit('\\').next().unwrap_or_default().to_string()
            })
            .collect();
        out.dedup();
        out
    }
}

/// The server's registry as far as it was given: each hive may be absent.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// SOFTWARE, if a hive or export was found.
    pub software: Option<Snapshot>,
    /// SYSTEM, if a hive or export was found.
    pub system: Option<Snapshot>,
}

impl Registry {
    /// The snapshot of one hive.
    pub fn hive(&self, kind: HiveKind) -> Option<&Snapshot> {
        match kind {
            HiveKind::Software => self.software.as_ref(),
            HiveKind::System => self.system.as_ref(),
        }
    }

    /// Merge another source's keys in (the first source of a key wins).
    pub fn merge(&mut self, kind: HiveKind, snap: Snapshot) {
        let slot = match kind {
            HiveKind::Software => &mut self.software,
            HiveKind::System => &mut self.system,
        };
        match slot {
            None => *slot = Some(snap),
            Some(have) => {
                for (k, v) in snap.keys {
                    have.keys.entry(k).or_insert(v);
                }
                if !have.source.contains(&snap.source) {
                    have.source = format!("{}; {}", have.source, snap.source);
                }
            }
        }
    }
}
