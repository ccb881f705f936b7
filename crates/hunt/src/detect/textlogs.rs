//! Line-oriented Exchange logs matched on raw text, as Test-ProxyLogon
//! does: OABGenerator (CVE-2021-26858) and ECP server (CVE-2021-27065).

use std::collections::BTreeMap;

use vigie_model::{Family, Grade};

use super::LogScanOptions;
use super::common::{Rule, Scan, parse_time};
use super::tpl;

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

/// Lower-case, matched against a lower-cased line.
const OAB_MARK: &str = "download failed and temporary file ";

/// Time at the start of a line (`2021-03-03T...` up to the first comma).
fn line_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    parse_time(text.split(',').next()?)
}

/// What a line check is given: the scan, the line, its number and time.
type LineCheck =
    fn(&mut Scan, &str, u64, Option<chrono::DateTime<chrono::Utc>>);

/// The loop both text logs share: skip comments and blank lines, count
/// every record's time for coverage, check those inside the window.
fn scan_text(scan: &mut Scan, opts: &LogScanOptions, check: LineCheck) {
    scan.lines(|scan, number, text| {
        if text.starts_with('#') {
            scan.directive(text.as_bytes());
            return;
        }
        if text.trim().is_empty() {
            return;
        }
        let ts = line_time(text);
        scan.record(ts);
        if Scan::in_window(opts, ts) {
            check(scan, text, number, ts);
        }
    });
}

/// Scan an OABGenerator log.
pub fn scan_oab(scan: &mut Scan, opts: &LogScanOptions) {
    scan_text(scan, opts, check_oab);
}

/// `Download failed and temporary file <path> needs to be removed`
/// (any case, as Select-String matches) with a path that, once `.`/`..`
/// are resolved, is not inside a `ClientAccess\OAB` folder.
fn check_oab(
    scan: &mut Scan,
    text: &str,
    number: u64,
    ts: Option<chrono::DateTime<chrono::Utc>>,
) {
    // ASCII lower-casing keeps byte offsets, so `l` indexes `text`.
    let l = text.to_ascii_lowercase();
    let Some(i) = l.find(OAB_MARK) else { return };
    let start = i + OAB_MARK.len();
    let Some(end) = l[start..].find(" needs to be removed") else { return };
    let captured = &text[start..start + end];
    let path = captured.trim_matches('\'');
    let resolved = resolve_dots(path);
    if resolved.to_ascii_lowercase().contains("\\clientaccess\\oab\\") {
        return;
    }
    let mut d = BTreeMap::new();
    d.insert("written_path".into(), path.to_string());
    if resolved != path.replace('/', "\\") {
        d.insert("resolved_path".into(), resolved);
    }
    if tpl::cve_26858(captured) {
        d.insert(tpl::KEY.into(), "CVE-2021-26858".into());
    }
    let s = format!("OAB download wrote {path}");
    scan.push(&OAB_WRITE, Grade::Exploited, number, ts, s, d);
}

/// Resolve `.` and `..` segments of a Windows path, so
/// `…\ClientAccess\OAB\..\..\FrontEnd\…` is seen for where it points.
fn resolve_dots(path: &str) -> String {
    let p = path.replace('/', "\\");
    let lead = p.len() - p.trim_start_matches('\\').len();
    let mut parts: Vec<&str> = Vec::new();
    for seg in p[lead..].split('\\') {
        match seg {
            "." | "" => {}
            ".." => {
                // Never climb above the drive or share root.
                if parts.len() > 1 {
                    parts.pop();
                }
            }
            s => parts.push(s),
        }
    }
    format!("{}{}", &p[..lead], parts.join("\\"))
}

/// Scan an ECP server log.
pub fn scan_ecp(scan: &mut Scan, opts: &LogScanOptions) {
    scan_text(scan, opts, check_ecp);
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
    if tpl::cve_27065_ecp(text) {
        d.insert(tpl::KEY.into(), "CVE-2021-27065".into());
    }
    let s = format!("{cmdlet} with markup in a URL parameter");
    scan.push(&ECP_VDIR, Grade::Exploited, number, ts, s, d);
}
