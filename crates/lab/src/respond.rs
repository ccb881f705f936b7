//! What each persona answers, byte for byte.
//!
//! Headers and bodies follow what real Exchange front ends send (see
//! docs/lab.md): `Server: Microsoft-IIS/10.0`, `X-AspNet-Version`,
//! `X-Powered-By: ASP.NET`, `X-FEServer`, `X-OWA-Version`, the 302 from
//! `/owa/` to `logon.aspx`, resource paths carrying the build, the
//! exporttool ClickOnce manifest, and the answers to the ProxyLogon cookie
//! probe and the ProxyShell path confusion. Nothing is ever executed: the
//! emulator only picks a canned answer.

use crate::persona::{
    Behaviour, ExchangeTraits, Persona, SLOW_TRAITS, cu_part,
};

/// A parsed request head.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`.
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    /// Headers in order (names as sent).
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// First header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the connection does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write these bytes (a full HTTP response).
    Reply(Vec<u8>),
    /// Drop the connection without answering (EOMT `AbortRequest`).
    Abort,
}

/// The answer of `persona` (host name `fe`) to `req`.
pub fn respond(persona: &Persona, fe: &str, req: &Request) -> Action {
    match persona.behaviour {
        Behaviour::Exchange(t) => exchange(&t, persona.tls, fe, req),
        Behaviour::Slow => exchange(&slow_traits(), persona.tls, fe, req),
        Behaviour::Iis => Action::Reply(iis(req)),
        Behaviour::Nginx => Action::Reply(nginx(req)),
        // Handled by the connection loop; an empty reply never happens.
        Behaviour::Tarpit | Behaviour::Garbage | Behaviour::Closed => {
            Action::Abort
        }
    }
}

fn slow_traits() -> ExchangeTraits {
    SLOW_TRAITS
}

struct Resp {
    status: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn new(
        status: &'static str,
        ctype: &str,
        body: impl Into<Vec<u8>>,
    ) -> Self {
        Resp {
            status,
            headers: vec![("Content-Type", ctype.to_string())],
            body: body.into(),
        }
    }

    fn h(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn bytes(self, head_only: bool) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {}\r\n", self.status);
        for (n, v) in &self.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        // Real servers stamp the current time (RFC 7231 IMF-fixdate).
        let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT");
        out.push_str(&format!(
            "Date: {date}\r\nContent-Length: {}\r\n\r\n",
            self.body.len()
        ));
        let mut bytes = out.into_bytes();
        if !head_only {
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }
}

fn iis_common(r: Resp) -> Resp {
    r.h("Server", "Microsoft-IIS/10.0").h("X-Powered-By", "ASP.NET")
}

fn exchange(t: &ExchangeTraits, tls: bool, fe: &str, req: &Request) -> Action {
    let cookie = req.header("Cookie").unwrap_or("");
    if t.eomt && eomt_aborts(cookie) {
        return Action::Abort;
    }
    let path = req.path.as_str();
    let lower = path.to_ascii_lowercase();
    let head = req.method.eq_ignore_ascii_case("HEAD");
    // OWA redirects to its own scheme (an HTTP-only server to http://).
    let scheme = if tls { "https" } else { "http" };
    let host = format!("{scheme}://{}", req.header("Host").unwrap_or(fe));
    let r = if lower.starts_with("/owa/auth/x.js") && has_probe_cookie(cookie)
    {
        proxylogon_probe(t, fe)
    } else if lower.starts_with("/autodiscover/autodiscover.json")
        && lower.contains("autodiscover.json%3f@")
    {
        proxyshell(t, &host)
    } else if lower == "/owa"
        || lower == "/owa/"
        || lower.starts_with("/owa/?")
    {
        owa_redirect(&host)
    } else if lower.starts_with("/owa/auth/logon.aspx") {
        logon_page(t)
    } else if lower.starts_with("/ecp/") || lower == "/ecp" {
        ecp(t, &lower)
    } else {
        not_found()
    };
    let r = iis_common(r).h("X-FEServer", fe);
    let r = if t.owa_header && lower.starts_with("/owa") {
        r.h("X-OWA-Version", t.build)
    } else {
        r
    };
    Action::Reply(r.bytes(head))
}

/// The two EOMT URL Rewrite conditions (AbortRequest).
fn eomt_aborts(cookie: &str) -> bool {
    let lower = cookie.to_ascii_lowercase();
    if lower.contains("x-anonresource-backend") {
        return true;
    }
    // (.*)X-BEResource=(.+)/(.+)~(.+)
    cookie.find("X-BEResource=").is_some_and(|i| {
        let rest = &cookie[i + "X-BEResource=".len()..];
        rest.find('/').is_some_and(|s| s > 0 && rest[s + 1..].contains('~'))
    })
}

fn has_probe_cookie(cookie: &str) -> bool {
    cookie.contains("X-AnonResource-Backend")
        || cookie.contains("X-BEResource")
}

fn proxylogon_probe(t: &ExchangeTraits, fe: &str) -> Resp {
    if t.proxylogon {
        // The front end routed to a back end named localhost and failed
        // Kerberos to it (Microsoft's NSE checks the header).
        // Exchange 2013 answers without that body (CSS-Exchange #107).
        let body = if t.build.starts_with("15.0.") {
            ""
        } else {
            "NegotiateSecurityContext failed with for host 'localhost' \
             with status 'TargetUnknown'"
        };
        Resp::new("500 Internal Server Error", "text/html", body)
            .h("X-CalculatedBETarget", "localhost")
            .h("X-AspNet-Version", "4.0.30319")
            .h("X-DiagInfo", fe)
    } else {
        // Patched: the cookie is ignored, x.js does not exist.
        not_found()
    }
}

fn proxyshell(t: &ExchangeTraits, host: &str) -> Resp {
    if t.proxyshell {
        // The back end's OWA redirect, proxied as SYSTEM.
        owa_redirect(host)
    } else {
        Resp::new("400 Bad Request", "text/html", "")
    }
}

/// `origin` is `scheme://host[:port]`.
fn owa_redirect(origin: &str) -> Resp {
    let (scheme, host) = origin.split_once("://").unwrap_or(("https", origin));
    let loc = format!(
        "{origin}/owa/auth/logon.aspx?url={scheme}%3a%2f%2f{host}\
         %2fowa%2f&reason=0"
    );
    let body = format!(
        "<html><head><title>Object moved</title></head><body>\r\n\
         <h2>Object moved to <a href=\"{loc}\">here</a>.</h2>\r\n\
         </body></html>\r\n"
    );
    Resp::new("302 Found", "text/html; charset=utf-8", body)
        .h("Location", loc)
        .h("X-AspNet-Version", "4.0.30319")
}

/// Resource path prefix: 2010 `/owa/14.3.496.0`, 2013+ `/owa/auth/15.1.2176`.
fn resource_prefix(build: &str) -> String {
    if build.starts_with("14.") {
        format!("/owa/{build}")
    } else {
        format!("/owa/auth/{}", cu_part(build))
    }
}

fn logon_page(t: &ExchangeTraits) -> Resp {
    let p = resource_prefix(t.build);
    let body = format!(
        "<!DOCTYPE html>\r\n<html>\r\n<head>\r\n\
         <meta http-equiv=\"X-UA-Compatible\" content=\"IE=10\" />\r\n\
         <link rel=\"shortcut icon\" href=\"{p}/themes/resources/favicon.ico\" \
         type=\"image/x-icon\">\r\n\
         <link type=\"text/css\" rel=\"stylesheet\" \
         href=\"{p}/themes/resources/logon.css\">\r\n\
         <title>Outlook</title>\r\n\
         <script type=\"text/javascript\">\r\n\
         function IsOwaPremiumBrowser() {{ return true; }}\r\n\
         </script>\r\n</head>\r\n<body class=\"signInBg\">\r\n\
         <form action=\"/owa/auth.owa\" method=\"POST\" name=\"logonForm\">\r\n\
         <img src=\"{p}/themes/resources/olk_logo_white.png\" alt=\"Outlook\">\r\n\
         <input id=\"username\" name=\"username\" type=\"text\">\r\n\
         <input id=\"password\" name=\"password\" type=\"password\">\r\n\
         </form>\r\n</body>\r\n</html>\r\n"
    );
    Resp::new("200 OK", "text/html; charset=utf-8", body)
        .h("Cache-Control", "no-cache, no-store")
        .h("X-AspNet-Version", "4.0.30319")
}

const EXPORTTOOL: &str = "/ecp/current/exporttool/microsoft.exchange.ediscovery.exporttool.application";

fn ecp(t: &ExchangeTraits, lower: &str) -> Resp {
    if t.ecp_blocked {
        return Resp::new("403 Forbidden", "text/html", FORBIDDEN);
    }
    if t.build.starts_with("14.") || lower != EXPORTTOOL {
        return not_found();
    }
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n\
         <asmv1:assembly xsi:schemaLocation=\"urn:schemas-microsoft-com:asm.v1 \
         assembly.adaptive.xsd\" manifestVersion=\"1.0\" \
         xmlns:asmv1=\"urn:schemas-microsoft-com:asm.v1\" \
         xmlns=\"urn:schemas-microsoft-com:asm.v2\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\r\n\
         \x20 <assemblyIdentity \
         name=\"microsoft.exchange.ediscovery.exporttool.application\" \
         version=\"{}\" publicKeyToken=\"b1d1a6c45aa418ce\" \
         language=\"neutral\" processorArchitecture=\"msil\" \
         xmlns=\"urn:schemas-microsoft-com:asm.v1\" />\r\n\
         \x20 <description asmv2:publisher=\"Microsoft Corporation\" \
         asmv2:product=\"Microsoft Exchange eDiscovery Export Tool\" \
         xmlns:asmv2=\"urn:schemas-microsoft-com:asm.v2\" />\r\n\
         </asmv1:assembly>\r\n",
        t.build
    );
    Resp::new("200 OK", "application/x-ms-application", body)
        .h("X-AspNet-Version", "4.0.30319")
}

const FORBIDDEN: &str = "<html><head><title>403 Forbidden</title></head>\
    <body><h1>403 Forbidden</h1></body></html>";

fn not_found() -> Resp {
    Resp::new(
        "404 Not Found",
        "text/html",
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\">\r\n\
         <HTML><HEAD><TITLE>Not Found</TITLE></HEAD><BODY>\
         <h2>Not Found</h2><hr><p>HTTP Error 404. The requested resource \
         is not found.</p></BODY></HTML>\r\n",
    )
}

fn iis(req: &Request) -> Vec<u8> {
    let head = req.method.eq_ignore_ascii_case("HEAD");
    let r = if req.path == "/" {
        Resp::new(
            "200 OK",
            "text/html",
            "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\">\r\n\
             <html><head><title>IIS Windows Server</title></head>\r\n\
             <body><div id=\"container\"><a href=\"https://go.microsoft.com\
             /fwlink/?linkid=66138&amp;clcid=0x409\"><img src=\"iisstart.png\" \
             alt=\"IIS\"></a></div></body></html>\r\n",
        )
    } else {
        not_found()
    };
    iis_common(r).bytes(head)
}

fn nginx(req: &Request) -> Vec<u8> {
    let head = req.method.eq_ignore_ascii_case("HEAD");
    let r = if req.path == "/" {
        Resp::new(
            "200 OK",
            "text/html",
            "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n\
             </head>\n<body>\n<h1>Welcome to nginx!</h1>\n</body>\n</html>\n",
        )
    } else {
        Resp::new(
            "404 Not Found",
            "text/html",
            "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n\
             <center><h1>404 Not Found</h1></center>\r\n\
             <hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n",
        )
    };
    r.h("Server", "nginx/1.24.0").bytes(head)
}

#[cfg(test)]
mod tests;
