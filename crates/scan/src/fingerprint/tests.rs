//! Fingerprint extraction from canned responses.

use super::*;

fn obs(
    req: &str,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> Observed {
    Observed {
        request: req.to_string(),
        response: Response {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
            truncated: false,
        },
    }
}

#[test]
fn owa_path_2016_is_cu_only() {
    let fp = fingerprint(&[obs(
        "GET /owa/auth/logon.aspx",
        200,
        &[("X-FEServer", "EX01")],
        r#"<link href="/owa/auth/15.1.2176/themes/resources/owa.css">"#,
    )]);
    assert!(fp.is_exchange);
    assert_eq!(fp.build.as_deref(), Some("15.1.2176"));
    assert_eq!(fp.precision, Some(Precision::CuOnly));
    assert_eq!(fp.product.as_deref(), Some("Exchange Server 2016"));
    assert_eq!(fp.fe_server.as_deref(), Some("EX01"));
    assert_eq!(fp.evidence.len(), 2);
}

#[test]
fn owa_path_2010_is_exact() {
    let (b, p) =
        owa_path_version("src=\"/owa/14.3.513.0/scripts/x.js\"").unwrap();
    assert_eq!((b.as_str(), p), ("14.3.513.0", Precision::Exact));
}

#[test]
fn manifest_beats_header_beats_path() {
    let fp = fingerprint(&[
        obs(
            "GET /owa/",
            302,
            &[
                ("X-OWA-Version", "15.2.986.5"),
                ("Location", "/owa/auth/logon.aspx"),
            ],
            "",
        ),
        obs("GET /owa/auth/logon.aspx", 200, &[], "/owa/auth/15.2.986/x"),
        obs(
            "GET /ecp/Current/exporttool/…",
            200,
            &[],
            r#"<assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.application" version="15.2.986.9" publicKeyToken="x"/>"#,
        ),
    ]);
    assert_eq!(fp.build.as_deref(), Some("15.2.986.9"));
    assert_eq!(fp.precision, Some(Precision::Exact));
    let fp = fingerprint(&[obs(
        "GET /owa/",
        200,
        &[("X-OWA-Version", "15.2.986.5")],
        "/owa/auth/15.2.986/",
    )]);
    assert_eq!(fp.build.as_deref(), Some("15.2.986.5"));
}

#[test]
fn plain_site_is_not_exchange() {
    let fp = fingerprint(&[obs(
        "GET /owa/",
        404,
        &[("Server", "nginx")],
        "<html>not found /owa/ here</html>",
    )]);
    assert!(!fp.is_exchange);
    assert!(fp.build.is_none());
    assert!(fp.evidence.is_empty());
}

#[test]
fn marker_without_version_is_exchange_unknown_build() {
    let fp = fingerprint(&[obs(
        "GET /owa/auth/logon.aspx",
        200,
        &[],
        "function IsOwaPremiumBrowser() {}",
    )]);
    assert!(fp.is_exchange);
    assert!(fp.build.is_none());
}

#[test]
fn junk_versions_are_ignored() {
    assert!(owa_path_version("/owa/auth/1.2/").is_none());
    assert!(owa_path_version("/owa/auth/123456.1.1/").is_none());
    assert!(
        manifest_version(
            "<x name=\"microsoft.exchange.ediscovery.exporttool.application\""
        )
        .is_none()
    );
    assert!(version_at("15.1.2176.", 0).is_some());
}

/// Defect 8 (issue 14): `15.1.2176.9JJJ...` in X-OWA-Version was taken as
/// the exact build 15.1.2176.9. Only a well-formed build is a build; the
/// rest is evidence of something else and says so.
#[test]
fn malformed_owa_version_header_is_never_an_exact_build() {
    for value in [
        "15.1.2176.9JJJJJJJJJJ",
        "15.1.2176.9 or so",
        "15.1.2176.9-beta",
        "15.1.2176.9.",
        "v15.1.2176.9",
        "15.1.2176.999999",
        "15.1.2176.9.1",
    ] {
        let fp = fingerprint(&[obs(
            "GET /owa/",
            200,
            &[("X-OWA-Version", value)],
            "",
        )]);
        assert!(fp.build.is_none(), "{value}: {fp:?}");
        assert!(fp.precision.is_none(), "{value}");
        assert!(!fp.is_exchange, "{value}: the header alone proves nothing");
        assert_eq!(fp.evidence[0].signal, "header:X-OWA-Version-malformed");
        assert_eq!(fp.evidence[0].value, value);
    }
    // Well-formed values, with the spaces HTTP allows, still count.
    let fp = fingerprint(&[obs(
        "GET /owa/",
        200,
        &[("X-OWA-Version", " 15.1.2176.9 ")],
        "",
    )]);
    assert_eq!(fp.build.as_deref(), Some("15.1.2176.9"));
    assert_eq!(fp.precision, Some(Precision::Exact));
    // Paths and manifests: a version glued to letters is no version.
    assert!(owa_path_version("/owa/auth/15.1.2176JJJ/x").is_none());
    assert!(owa_path_version("/owa/15.1.2176.9abc/x").is_none());
    assert!(
        manifest_version(
            "<assemblyIdentity name=\"microsoft.exchange.ediscovery.exporttool.application\" version=\"15.1.2176.9JJJ\">"
        )
        .is_none()
    );
}
