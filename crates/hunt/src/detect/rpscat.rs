//! The `X-Rps-CAT` query parameter of ProxyShell requests, decoded.
//!
//! ProxyShell (CVE-2021-34523) reaches the back end's remote PowerShell
//! as SYSTEM and then downgrades to a chosen mailbox user by passing a
//! serialized `CommonAccessToken` in `X-Rps-CAT=` (base64, URL-encoded).
//! The token names the account the attacker impersonated, which is what a
//! responder needs next. Its layout, as the public exploits build it: tag
//! `V` + 2 bytes (version), then tagged fields, `T` (token type), `A`
//! (authentication type), `L` (logon name), `U` (user SID) each one length
//! byte and the text, `C` + 1 byte (compressed), `G` + group count (u32
//! LE) and per group its attributes (u32 LE) and a length-prefixed SID,
//! and `E` + extension count (u32 BE). Attacker input: every length is
//! checked, a cut or garbled token gives what was read and the reason.

use base64::Engine;

/// What a token says, as far as it could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatToken {
    /// The version bytes after `V`.
    pub version: Option<String>,
    /// `T`: `Windows` for a Windows identity.
    pub token_type: Option<String>,
    /// `A`: e.g. `Kerberos`.
    pub auth_type: Option<String>,
    /// `L`: the logon name (often the mailbox's address).
    pub logon_name: Option<String>,
    /// `U`: the user SID (the account impersonated).
    pub user_sid: Option<String>,
    /// `G`: group SIDs (`S-1-5-32-544` is the local Administrators group).
    pub groups: Vec<String>,
    /// Why reading stopped early, if it did.
    pub error: Option<String>,
}

/// The most group entries read (the exploits send one; a forged count
/// must not make vigie loop).
const MAX_GROUPS: u32 = 64;

/// The `X-Rps-CAT` value of a query string (any case), still encoded.
pub fn param(query: &str) -> Option<&str> {
    let l = query.to_ascii_lowercase();
    let i = l.find("x-rps-cat=")? + "x-rps-cat=".len();
    let rest = &query[i..];
    let end = rest.find(['&', ' ', '#']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Decode a token as found in a query string (percent-encoded base64).
pub fn decode(raw: &str) -> CatToken {
    let text = percent_decode(raw);
    let cleaned: String =
        text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let trimmed = cleaned.trim_end_matches('=');
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed)
        });
    match bytes {
        Ok(b) => parse(&b),
        Err(e) => CatToken {
            error: Some(format!("not base64: {e}")),
            ..CatToken::default()
        },
    }
}

/// `%2B` and friends; invalid escapes are kept as they are.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Read the tagged fields of a decoded token.
pub fn parse(b: &[u8]) -> CatToken {
    let mut t = CatToken::default();
    let mut r = Reader { b, at: 0 };
    if let Err(e) = read_fields(&mut r, &mut t) {
        t.error = Some(e);
    }
    t
}

fn read_fields(r: &mut Reader<'_>, t: &mut CatToken) -> Result<(), String> {
    while let Some(tag) = r.byte() {
        match tag {
            b'V' => {
                let v = r.take(2)?;
                t.version = Some(format!("{}.{}", v[0], v[1]));
            }
            b'T' => t.token_type = Some(r.text()?),
            b'A' => t.auth_type = Some(r.text()?),
            b'L' => t.logon_name = Some(r.text()?),
            b'U' => t.user_sid = Some(r.text()?),
            b'C' => {
                r.take(1)?;
            }
            b'G' => {
                let n = r.u32_le()?;
                for _ in 0..n.min(MAX_GROUPS) {
                    r.u32_le()?;
                    t.groups.push(r.text()?);
                }
                if n > MAX_GROUPS {
                    return Err(format!(
                        "{n} groups claimed, {MAX_GROUPS} read"
                    ));
                }
            }
            // Extensions close the token; what follows is not needed.
            b'E' => return Ok(()),
            other => {
                return Err(format!(
                    "unknown field tag 0x{other:02x} at byte {}",
                    r.at - 1
                ));
            }
        }
    }
    Ok(())
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let v = *self.b.get(self.at)?;
        self.at += 1;
        Some(v)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let Some(end) = end else {
            return Err(format!(
                "token cut at byte {} ({n} more byte(s) expected)",
                self.b.len()
            ));
        };
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn text(&mut self) -> Result<String, String> {
        let n = self.take(1)?[0] as usize;
        let raw = self.take(n)?;
        // Control characters are the renderer's to strip; keep the rest.
        Ok(String::from_utf8_lossy(raw).into_owned())
    }

    fn u32_le(&mut self) -> Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token laid out as the public ProxyShell exploits build it.
    fn token(logon: &str, sid: &str) -> Vec<u8> {
        let mut t = b"V\x01\x00T\x07WindowsC\x00A\x08Kerberos".to_vec();
        t.push(b'L');
        t.push(logon.len() as u8);
        t.extend_from_slice(logon.as_bytes());
        t.push(b'U');
        t.push(sid.len() as u8);
        t.extend_from_slice(sid.as_bytes());
        t.extend_from_slice(
            b"G\x01\x00\x00\x00\x07\x00\x00\x00\x0cS-1-5-32-544",
        );
        t.extend_from_slice(b"E\x00\x00\x00\x00");
        t
    }

    #[test]
    fn decodes_the_impersonated_account_from_a_query() {
        let sid = "S-1-5-21-1111111111-2222222222-3333333333-500";
        let b64 = base64::engine::general_purpose::STANDARD
            .encode(token("administrator@contoso.local", sid));
        let enc =
            b64.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
        let q = format!(
            "?&Email=autodiscover/autodiscover.json%3F@x.com&X-Rps-CAT={enc}&x=1"
        );
        let t = decode(param(&q).unwrap());
        assert_eq!(t.error, None);
        assert_eq!(t.user_sid.as_deref(), Some(sid));
        assert_eq!(
            t.logon_name.as_deref(),
            Some("administrator@contoso.local")
        );
        assert_eq!(t.auth_type.as_deref(), Some("Kerberos"));
        assert_eq!(t.groups, ["S-1-5-32-544"]);
    }

    /// Hostile input: cut, garbled or huge-count tokens end with a reason
    /// and what was read, never a panic.
    #[test]
    fn garbage_and_cut_tokens_give_a_reason() {
        let full = token("a@b.c", "S-1-5-21-1-2-3-500");
        for cut in 0..full.len() {
            let t = parse(&full[..cut]);
            assert!(t.user_sid.is_none() || cut > 40, "{cut}");
        }
        assert!(parse(b"V\x01").error.unwrap().contains("cut"));
        assert!(parse(b"Zzz").error.unwrap().contains("unknown field tag"));
        assert!(parse(b"G\xff\xff\xff\xff").error.is_some());
        assert!(decode("!!!").error.unwrap().contains("base64"));
        assert_eq!(param("a=1&b=2"), None);
    }
}
