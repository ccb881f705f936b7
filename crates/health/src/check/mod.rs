//! The judgements, by table section, and what they share: the server's
//! role, its build, and the names of the files that would settle an
//! `unknown`.

use chrono::NaiveDate;
use vigie_builds::Table;

use crate::ep::Roles;
use crate::inputs::Inputs;
use crate::model::Judgement;
use crate::registry::{HiveKind, RegData};

pub mod build;
pub mod mitigation;
pub mod modules;
pub mod os;
pub mod security;

/// Settles judgements that need the exact build.
pub const SETTLE_EXSETUP: &str = "Program Files/Microsoft/Exchange Server/V15/Bin/ExSetup.exe (or a CLIXML export of its FileVersionInfo in --exports)";
/// Settles IIS judgements.
pub const SETTLE_APPHOST: &str =
    "Windows/System32/inetsrv/config/applicationHost.config";
/// Settles override judgements.
pub const SETTLE_OVERRIDES: &str = "--exports DIR with `Get-SettingOverride | Export-Clixml` (or HealthChecker's Get-ExchangeDiagnosticInfo VariantConfiguration export)";
/// Settles SYSTEM-hive judgements.
pub const SETTLE_SYSTEM: &str = "Windows/System32/config/SYSTEM (or a .reg export of HKLM\\SYSTEM beside the copy)";
/// Settles SOFTWARE-hive judgements.
pub const SETTLE_SOFTWARE: &str = "Windows/System32/config/SOFTWARE (or a .reg export of HKLM\\SOFTWARE beside the copy)";

/// What every judgement may consult.
pub struct Context<'a> {
    /// The server's inputs.
    pub inp: &'a Inputs,
    /// Edge Transport server (EP, AMSI and IIS checks do not apply).
    pub edge: bool,
    /// Roles for Exchange 2013's EP expectations.
    pub roles: Roles,
    /// Build table.
    pub table: &'a Table,
    /// Judged as of.
    pub as_of: NaiveDate,
    /// The build's patch assessment, when a build was found.
    pub assessment: Option<vigie_model::build::PatchAssessment>,
}

const V15: &str = r"Microsoft\ExchangeServer\v15";

impl<'a> Context<'a> {
    /// Roles from the SOFTWARE hive (`v15\<Role>` keys); all roles when
    /// the hive is absent.
    pub fn new(inp: &'a Inputs, table: &'a Table, as_of: NaiveDate) -> Self {
        let soft = inp.registry.hive(HiveKind::Software);
        let has =
            |k: &str| soft.is_some_and(|s| s.has_key(&format!(r"{V15}\{k}")));
        let edge = has("EdgeTransportRole");
        let roles = match soft {
            Some(_)
                if has("MailboxRole")
                    || has("ClientAccessRole")
                    || has("CafeRole") =>
            {
                Roles {
                    mailbox: has("MailboxRole"),
                    client_access: has("ClientAccessRole") || has("CafeRole"),
                }
            }
            _ => Roles::default(),
        };
        Context { inp, edge, roles, table, as_of, assessment: None }
    }

    /// Windows `CurrentBuild` and where it was read.
    pub fn os_build(&self) -> Option<(String, u32)> {
        let soft = self.inp.registry.hive(HiveKind::Software)?;
        let f = soft.get(
            HiveKind::Software,
            r"Microsoft\Windows NT\CurrentVersion",
            "CurrentBuild",
        );
        let b = f.data.and_then(RegData::as_u64)? as u32;
        Some((f.source.to_string(), b))
    }
}

/// Whether `build` contains the update named `su` (e.g. `Jan23SU`): on
/// its own CU line, the first build of that name; a CU line released
/// after the update carries it. `None` when the line is not in the table.
pub fn has_update(
    build: [u32; 4],
    su: &str,
    date: (i32, u32, u32),
) -> Option<bool> {
    let date = NaiveDate::from_ymd_opt(date.0, date.1, date.2)?;
    let rows = Table::embedded().rows();
    let line: Vec<_> = rows
        .iter()
        .filter_map(|r| crate::inputs::parse_version(&r.build).map(|v| (v, r)))
        .filter(|(v, _)| v[..3] == build[..3])
        .collect();
    let base = line.iter().min_by_key(|(v, _)| *v)?;
    if let Some((v, _)) = line
        .iter()
        .filter(|(_, r)| r.name.contains(su))
        .min_by_key(|(v, _)| *v)
    {
        return Some(build >= *v);
    }
    Some(base.1.release_date >= date)
}

/// Every judgement for one server, in table order.
pub fn all(cx: &Context<'_>) -> Vec<Judgement> {
    let mut out = Vec::new();
    build::judge(cx, &mut out);
    security::judge(cx, &mut out);
    mitigation::judge(cx, &mut out);
    os::judge(cx, &mut out);
    out
}
