//! Compiled pages in `Temporary ASP.NET Files`: proof that a page ran.
//!
//! ASP.NET compiles a page the first time it is requested and leaves
//! `<page>.aspx.<hash>.compiled` next to the assembly, a small XML file
//! whose `virtualPath` names the page (`/owa/auth/ohyeah.aspx`). The
//! shell itself may be gone; this file stays, written when it first ran
//! (seen in the OTRF ProxyLogon run; no public rule uses it).

use vigie_model::{Finding, Grade};

use super::rules::{self, FileCtx, details, severity_of};
use crate::place::{ShellDir, is_legit_in, is_script_ext};

/// Whether a file name is `<page>.<script ext>.<hash>.compiled`.
pub fn is_compiled_page(name_lower: &str) -> bool {
    let Some(rest) = name_lower.strip_suffix(".compiled") else {
        return false;
    };
    let mut parts = rest.rsplit('.');
    let _hash = parts.next();
    parts.next().is_some_and(is_script_ext) && parts.next().is_some()
}

/// The `virtualPath` attribute of a `.compiled` file's `<preserve>`.
pub fn virtual_path(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    let i = text.find("virtualPath=\"")? + "virtualPath=\"".len();
    let rest = &text[i..];
    let end = rest.find('"')?;
    let vp = &rest[..end];
    (vp.starts_with('/') && vp.len() < 1024).then(|| vp.to_lowercase())
}

/// What a compiled page's virtual path says.
enum Judgement {
    /// A page in a drop folder that Exchange does not ship.
    Drop(&'static str),
    /// A page in the site root, where Exchange has none.
    SiteRoot,
}

fn judge(vp: &str) -> Option<Judgement> {
    const DIRS: [(&str, ShellDir, &str); 3] = [
        ("/owa/auth/", ShellDir::OwaAuth, r"owa\auth"),
        ("/ecp/auth/", ShellDir::EcpAuth, r"ecp\auth"),
        ("/aspnet_client/", ShellDir::AspnetClient, "aspnet_client"),
    ];
    for (prefix, dir, label) in DIRS {
        if let Some(below) = vp.strip_prefix(prefix) {
            let below = below.replace('/', "\\");
            return (!is_legit_in(dir, &below))
                .then_some(Judgement::Drop(label));
        }
    }
    let depth = vp.trim_start_matches('/').matches('/').count();
    (depth == 0).then_some(Judgement::SiteRoot)
}

/// A finding when the compiled page is one Exchange does not ship, and
/// the page's URL (so IIS requests to it are findings too).
pub fn check(
    ctx: &FileCtx<'_>,
    head: &[u8],
) -> Option<(Finding, Option<String>)> {
    let vp = virtual_path(head)?;
    let (grade, why) = match judge(&vp)? {
        Judgement::Drop(label) => (
            Grade::Compromised,
            format!("a page in {label} that Exchange does not ship"),
        ),
        Judgement::SiteRoot => (
            Grade::Attempt,
            "a page in the web site's root, where Exchange has none"
                .to_string(),
        ),
    };
    let summary = format!(
        "{vp} was compiled by ASP.NET, so it was requested and ran: {why} \
         ({})",
        ctx.win.display
    );
    let d = details([("virtual_path", vp.clone())]);
    let f =
        ctx.finding(&rules::COMPILED, grade, severity_of(grade), summary, d);
    let url = (grade == Grade::Compromised).then_some(vp);
    Some((f, url))
}
