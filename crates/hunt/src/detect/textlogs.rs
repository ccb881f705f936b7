//! Line-oriented Exchange logs matched on raw text, as Test-ProxyLogon
//! does: OABGenerator (CVE-2021-26858) and ECP server (CVE-2021-27065).

use std::collections::BTreeMap;

use vigie_model::{Family, Grade};

use super::LogScanOptions;
use super::common::{Rule, Scan, parse_time};

/// CVE-2021-26858 arbitrary file write through the OAB generator.
pub const OAB_WRITE: Rule = Rule {
    id: "VG-PL-003",
    title: "OABGenerator wrote a file outside ClientAccess\\OAB (CVE-2021-26858)",
    family: Family::ProxyLogon,
    cves: &["CVE-2021-26858"],
    attack: &["T1190", "T1505.003"],
};

/// CVE-2021-27065 script placed in a virtual directory URL.
pub const ECP_VDIR: Rule = Rule {
    id: "VG-PL-004",
    title: "Set-*VirtualDirectory with a script in a URL (CVE-2021-27065)",
    family: Family::ProxyLogon,
    cves: &["CVE-2021-27065"],
    attack: &["T1505.003"],
};

const OAB_MARK: &str = "Download failed and temporary file ";

/// Time at the start of a line (`2021-03-03T...` up to the first comma).
fn line_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    parse_time(text.split(',').next()?)
}

/// Scan an OABGenerator log.
pub fn scan_oab(scan: &mut Scan, opts: &LogScanOptions) {
    scan.lines(|scan, number, text| {
        if text.starts_with('#') || text.trim().is_empty() {
            return;
        }
        let ts = line_time(text);
        scan.record(ts);
        let Some(i) = text.find(OAB_MARK) else { return };
        if !Scan::in_window(opts, ts) {
            return;
        }
        let rest = &text[i + OAB_MARK.len()..];
        let Some(end) = rest.find(" needs to be removed") else { return };
        let path = rest[..end].trim_matches('\'');
        let l = path.to_ascii_lowercase().replace('/', "\\");
        if l.contains("\\clientaccess\\oab\\") {
            return;
        }
        let mut d = BTreeMap::new();
        d.insert("written_path".into(), path.to_string());
        let s = format!("OAB download wrote {path}");
        scan.push(&OAB_WRITE, Grade::Exploited, number, ts, s, d);
    });
}

/// Scan an ECP server log.
pub fn scan_ecp(scan: &mut Scan, opts: &LogScanOptions) {
    scan.lines(|scan, number, text| {
        if text.starts_with('#') || text.trim().is_empty() {
            return;
        }
        let ts = line_time(text);
        scan.record(ts);
        if Scan::in_window(opts, ts) {
            check_ecp(scan, text, number, ts);
        }
    });
}

fn check_ecp(
    scan: &mut Scan,
    text: &str,
    number: u64,
    ts: Option<chrono::DateTime<chrono::Utc>>,
) {
    let l = text.to_ascii_lowercase();
    let Some(set) = l.find("set-") else { return };
    let Some(vd) = l[set..].find("virtualdirectory").map(|i| set + i) else {
        return;
    };
    let after = &l[vd..];
    let Some(url) = after.find("url") else { return };
    let Some(tag) = after[url..].find('<').map(|i| vd + url + i) else {
        return;
    };
    if !l[tag..].contains("</") {
        return;
    }
    let cmdlet = &text[set..vd + "virtualdirectory".len()];
    let mut d = BTreeMap::new();
    d.insert("cmdlet".into(), cmdlet.to_string());
    d.insert("payload".into(), text[tag..].to_string());
    if let Some(p) = text.find("S:CMD=") {
        let cmd = text[p + 6..].split(";S:").next().unwrap_or("");
        d.insert("parameters".into(), cmd.to_string());
    }
    if let Some(u) = l.find("s:usr=") {
        let user = text[u + 6..].split(';').next().unwrap_or("");
        d.insert("user".into(), user.to_string());
    }
    let s = format!("{cmdlet} with markup in a URL parameter");
    scan.push(&ECP_VDIR, Grade::Exploited, number, ts, s, d);
}
