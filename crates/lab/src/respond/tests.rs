//! Byte-level checks of persona answers.

use super::*;
use crate::persona::PERSONAS;
use crate::server::parse_head;

fn persona(name: &str) -> &'static Persona {
    PERSONAS.iter().find(|p| p.name == name).unwrap()
}

fn get(path: &str, cookie: Option<&str>) -> Request {
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: mail.lab.invalid");
    if let Some(c) = cookie {
        head.push_str(&format!("\r\nCookie: {c}"));
    }
    parse_head(head.as_bytes()).unwrap()
}

fn text(a: Action) -> String {
    match a {
        Action::Reply(b) => String::from_utf8(b).unwrap(),
        Action::Abort => "ABORT".into(),
    }
}

const PROBE: &str = "X-AnonResource=true; \
    X-AnonResource-Backend=localhost/ecp/default.flt?~3; \
    X-BEResource=localhost/owa/auth/logon.aspx?~3;";

#[test]
fn owa_redirects_to_logon_with_version_header() {
    let p = persona("ex2016-cu19-vulnerable");
    let r = text(respond(p, "EXCH1", &get("/owa/", None)));
    assert!(r.starts_with("HTTP/1.1 302 Found\r\n"), "{r}");
    assert!(
        r.contains("Location: https://mail.lab.invalid/owa/auth/logon.aspx?")
    );
    assert!(r.contains("X-OWA-Version: 15.1.2176.2\r\n"));
    assert!(r.contains("X-FEServer: EXCH1\r\n"));
    assert!(r.contains("Server: Microsoft-IIS/10.0\r\n"));
}

/// Guards the redirect of an HTTP-only server: to http://, as Exchange
/// does (an https:// Location sent nmap's NSE checks to TLS on port 80).
#[test]
fn http_only_server_redirects_to_http() {
    let p = persona("ex2019-cu14-http");
    let r = text(respond(p, "EXCH1", &get("/owa", None)));
    assert!(
        r.contains(
            "Location: http://mail.lab.invalid/owa/auth/logon.aspx?\
             url=http%3a%2f%2fmail.lab.invalid%2fowa%2f&reason=0\r\n"
        ),
        "{r}"
    );
}

#[test]
fn logon_page_carries_three_part_path_or_2010_four_part() {
    let r = text(respond(
        persona("ex2016-cu19-stripped"),
        "E",
        &get("/owa/auth/logon.aspx?url=x&reason=0", None),
    ));
    assert!(r.contains("/owa/auth/15.1.2176/themes/resources/favicon.ico"));
    assert!(!r.contains("X-OWA-Version"));
    let r = text(respond(
        persona("ex2010-sp3-ru30"),
        "E",
        &get("/owa/auth/logon.aspx", None),
    ));
    assert!(r.contains("/owa/14.3.496.0/themes/resources/favicon.ico"));
}

#[test]
fn exporttool_manifest_has_four_part_version_unless_ecp_blocked() {
    let path = "/ecp/Current/exporttool/\
                microsoft.exchange.ediscovery.exporttool.application";
    let r =
        text(respond(persona("ex2019-cu8-vulnerable"), "E", &get(path, None)));
    assert!(r.starts_with("HTTP/1.1 200 OK"));
    assert!(r.contains("version=\"15.2.792.3\""));
    let r = text(respond(
        persona("ex2019-cu8-ecp-blocked"),
        "E",
        &get(path, None),
    ));
    assert!(r.starts_with("HTTP/1.1 403"));
}

#[test]
fn proxylogon_probe_vulnerable_patched_and_eomt() {
    let g = get("/owa/auth/x.js", Some(PROBE));
    let r = text(respond(persona("ex2016-cu19-vulnerable"), "E", &g));
    assert!(r.contains("X-CalculatedBETarget: localhost\r\n"), "{r}");
    let r = text(respond(persona("ex2016-cu19-mar21su"), "E", &g));
    assert!(!r.contains("X-CalculatedBETarget"));
    let r = text(respond(persona("ex2016-cu19-eomt"), "E", &g));
    assert_eq!(r, "ABORT");
    // EOMT leaves ordinary requests alone.
    let r =
        text(respond(persona("ex2016-cu19-eomt"), "E", &get("/owa/", None)));
    assert!(r.starts_with("HTTP/1.1 302"));
}

#[test]
fn proxyshell_path_confusion_302_when_vulnerable_400_when_patched() {
    let g = get(
        "/autodiscover/autodiscover.json?@foo.com/mapi/nspi/?&Email=\
         autodiscover/autodiscover.json%3F@foo.com",
        None,
    );
    let r = text(respond(persona("ex2013-cu23-mar21su"), "E", &g));
    assert!(r.starts_with("HTTP/1.1 302"));
    let r = text(respond(persona("ex2019-cu8-may21su"), "E", &g));
    assert!(r.starts_with("HTTP/1.1 400"));
}

#[test]
fn non_exchange_personas_carry_no_exchange_marker() {
    for name in ["iis-default", "nginx"] {
        let r = text(respond(persona(name), "E", &get("/owa/", None)));
        assert!(r.starts_with("HTTP/1.1 404"), "{name}: {r}");
        assert!(!r.contains("X-OWA-Version") && !r.contains("X-FEServer"));
    }
}

#[test]
fn request_parser_rejects_non_http_and_keeps_cookie() {
    assert!(parse_head(b"\x16\x03\x01\x00\xff").is_none());
    assert!(parse_head(b"GET /").is_none());
    assert!(parse_head(b"").is_none());
    let r =
        parse_head(b"GET /owa/ HTTP/1.1\r\nCookie: a=b; c=d\r\nX").unwrap();
    assert_eq!(r.header("cookie"), Some("a=b; c=d"));
}
