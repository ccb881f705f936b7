//! Test-ProxyLogon's own conditions (CSS-Exchange
//! `Security/src/Test-ProxyLogon.ps1`, detection logic of 2021-03-18),
//! re-stated so every finding can say whether Microsoft's script would
//! have reported the same record (`details.test_proxylogon`).
//!
//! vigie's rules are wider; these functions are never used to decide
//! whether something is a finding, only to label it.

/// Detail key naming the Test-ProxyLogon check that matches a record.
pub const KEY: &str = "test_proxylogon";

/// Install path Test-ProxyLogon reads from the registry; vigie hunts
/// offline and assumes the default.
const DEFAULT_INSTALL: &str =
    r"C:\Program Files\Microsoft\Exchange Server\V15\";

/// PowerShell `-like`: `*` and `?` wildcards, case-insensitive.
pub fn like(text: &str, pattern: &str) -> bool {
    let t = text.as_bytes();
    let p = pattern.as_bytes();
    // Iterative glob with one backtrack point: linear for `*` patterns.
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len()
            && (p[pi] == b'?' || p[pi].eq_ignore_ascii_case(&t[ti]))
        {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// CVE-2021-26855: `AnchorMailbox -like 'ServerInfo~*/*'`, not
/// autodiscover-only, not the localhost probe.
pub fn cve_26855(anchor: &str) -> bool {
    like(anchor, "ServerInfo~*/*")
        && !like(anchor, "ServerInfo~*/autodiscover*")
        && !like(anchor, "ServerInfo~localhost*/*")
}

/// CVE-2021-27065 (HttpProxy\Ecp only): a `Reset*VirtualDirectory#`
/// anchor answered 200 (`-eq 200` on the text column).
pub fn cve_27065_reset(path: &str, anchor: &str, status: &str) -> bool {
    let p = path.replace('\\', "/").to_ascii_lowercase();
    p.contains("/httpproxy/ecp/")
        && like(anchor, "ServerInfo~*/*Reset*VirtualDirectory#")
        && status.trim() == "200"
}

/// CVE-2021-26858: the path captured by `Download failed and temporary
/// file (.*?) needs to be removed` (leading quote included) does not
/// start with `'<install>ClientAccess\OAB`.
pub fn cve_26858(captured: &str) -> bool {
    let prefix = format!("'{DEFAULT_INSTALL}ClientAccess\\OAB");
    !captured
        .get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(&prefix))
}

/// CVE-2021-26857: provider `MSExchange Unified Messaging`, level 2,
/// message `-like '*System.InvalidCastException*'`.
pub fn cve_26857(provider: &str, level: &str, message: &str) -> bool {
    provider.eq_ignore_ascii_case("MSExchange Unified Messaging")
        && level.trim() == "2"
        && like(message, "*System.InvalidCastException*")
}

/// CVE-2021-27065 in ECP server logs: the line matches (ignoring case)
/// `Set-.+VirtualDirectory.+?(?=Url).+<\w+.*>(.*?)<\/\w+>.+?(?=VirtualDirectory)`.
///
/// Each part is found at its earliest possible place after the previous
/// one, which decides whether the whole regex matches (`.` is any
/// character on a single line).
pub fn cve_27065_ecp(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    let b = l.as_bytes();
    let find = |from: usize, needle: &str| {
        l.get(from..)?.find(needle).map(|i| from + i)
    };
    let Some(set) = find(0, "set-") else { return false };
    let Some(vd) = find(set + 5, "virtualdirectory") else { return false };
    let Some(url) = find(vd + 17, "url") else { return false };
    // `.+<\w+`: a `<` and a word character, at least one past `Url`.
    let Some(open) = (url + 1..b.len().saturating_sub(1))
        .find(|&i| b[i] == b'<' && is_word(b[i + 1]))
    else {
        return false;
    };
    let Some(gt) = find(open + 2, ">") else { return false };
    // `<\/\w+>` after that `>`, then at least one character and
    // `VirtualDirectory`.
    let mut from = gt + 1;
    while let Some(close) = find(from, "</") {
        let name = b[close + 2..].iter().take_while(|&&c| is_word(c)).count();
        let end = close + 2 + name;
        if name > 0 && b.get(end) == Some(&b'>') {
            return find(end + 2, "virtualdirectory").is_some();
        }
        from = close + 1;
    }
    false
}

/// .NET `\w` for the bytes of a UTF-8 line (non-ASCII counted as letters).
fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_matches_powershell_wildcards() {
        assert!(like("ServerInfo~a]@x:444/mapi/?#", "serverinfo~*/*"));
        assert!(!like("ServerInfo~ex01.lab", "ServerInfo~*/*"));
        assert!(like(
            "x/ResetOABVirtualDirectory#",
            "*Reset*VirtualDirectory#"
        ));
        assert!(!like("x/ResetOABVirtualDirectory&a=1", "*VirtualDirectory#"));
        assert!(like("", "*"));
    }

    #[test]
    fn ecp_regex_needs_tags_and_a_later_virtualdirectory() {
        let hit = "S:CMD=Set-OabVirtualDirectory.ExternalUrl='http://f/\
<script a>x</script>';S:URL=/ecp/x?schema=OABVirtualDirectory";
        assert!(cve_27065_ecp(hit));
        let no_tail = "S:CMD=Set-OabVirtualDirectory.ExternalUrl='http://f/\
<script a>x</script>'.Identity='EX01\\OAB (Default Web Site)'";
        assert!(!cve_27065_ecp(no_tail));
        let no_tag = "Set-OabVirtualDirectory.ExternalUrl='https://m/OAB' \
schema=OABVirtualDirectory";
        assert!(!cve_27065_ecp(no_tag));
    }

    #[test]
    fn oab_prefix_is_a_plain_starts_with() {
        assert!(!cve_26858(
            r"'C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\OAB\Temp\a.tmp'"
        ));
        assert!(!cve_26858(
            r"'c:\program files\microsoft\exchange server\v15\clientaccess\OABackup\t.aspx'"
        ));
        assert!(cve_26858(r"'C:\inetpub\wwwroot\aspnet_client\x.aspx'"));
    }
}
