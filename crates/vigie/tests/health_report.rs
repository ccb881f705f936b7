//! Server health beyond `vigie check --host`'s own output (issue 10):
//! its JSON and JSONL as `vigie report` input (one HTML page for a
//! folder of servers, sortable, judgements grouped with evidence,
//! hostile text inert), and `--db` recording each run so `vigie history`
//! shows configuration drift and `vigie report --db` renders a stored
//! run.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use vigie_health::sample::{Weaknesses, write_server};

/// Markup that would run if it were not escaped.
const XSS: &str =
    "EXCH03\"'><img src=x onerror=\"document.body.dataset.pwned=1\">";

fn vigie() -> Command {
    Command::cargo_bin("vigie").unwrap()
}

/// A folder of three servers (one with the demo's four weaknesses, one
/// clean, one with a hostile folder name) and their exports in `ex/`.
fn forge(dir: &Path) -> (PathBuf, PathBuf) {
    let servers = dir.join("servers");
    let ex = dir.join("ex");
    std::fs::create_dir_all(&ex).unwrap();
    for (name, weak) in [
        ("EXCH01", Weaknesses::all()),
        ("EXCH02", Weaknesses::default()),
        (XSS, Weaknesses { unknown_module: true, ..Weaknesses::default() }),
    ] {
        let (_, exports) = write_server(&servers, name, weak).unwrap();
        std::fs::rename(&exports, ex.join(name)).unwrap();
    }
    (servers, ex)
}

fn check_to(servers: &Path, ex: &Path, format: &str, out: &Path) {
    let run = vigie()
        .args(["check", "--as-of", "2026-09-01", "--format", format])
        .arg("--host")
        .arg(servers)
        .arg("--exports")
        .arg(ex)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    std::fs::write(out, run.stdout).unwrap();
}

fn report(input: &Path, page: &Path) -> String {
    let run =
        vigie().arg("report").arg(input).arg("-o").arg(page).output().unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "servers need action: {err}");
    assert!(!err.contains("bad ") && !err.contains("not JSON"), "{err}");
    std::fs::read_to_string(page).unwrap()
}

#[test]
fn check_host_json_and_jsonl_make_one_health_page() {
    let dir = tempfile::tempdir().unwrap();
    let (servers, ex) = forge(dir.path());
    for format in ["json", "jsonl"] {
        let input = dir.path().join(format!("health.{format}"));
        check_to(&servers, &ex, format, &input);
        let page = report(&input, &dir.path().join(format!("{format}.html")));
        assert!(page.contains("<h2>Server health</h2>"), "{format}");
        assert!(page.contains("id=\"health\" class=\"sortable filterable\""));
        let table = &page[page.find("id=\"health\"").unwrap()..];
        let table = &table[..table.find("</table>").unwrap()];
        assert_eq!(
            page.matches("class=\"server-health\"").count(),
            3,
            "{table}"
        );
        assert!(
            page.contains(">1</span> of 3 servers need action"),
            "{format}"
        );
        for group in [
            "build and CVEs",
            "security configuration",
            "mitigations",
            "operating system",
        ] {
            assert!(page.contains(&format!("<h4>{group}</h4>")), "{group}");
        }
        // The demo's weaknesses with their evidence.
        assert!(page.contains("None but Require expected"));
        assert!(page.contains("extendedProtection@tokenChecking"));
        assert!(page.contains("IisTelemetryHelper"));
        assert!(page.contains("CVE-2025-53782"));
        // Hostile folder name shown as text, never markup.
        assert!(!page.contains("<img"), "{format}: payload became markup");
        assert!(page.contains("&lt;img src=x onerror="), "{format}");
        assert_eq!(page.matches("<script>").count(), 1);
    }
}

/// The section for one server, newline-split and with the temporary
/// folder replaced, as a snapshot of what the page shows.
#[test]
fn health_section_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (servers, ex) = forge(dir.path());
    let input = dir.path().join("one.jsonl");
    check_to(&servers.join("EXCH01"), &ex, "jsonl", &input);
    let page = report(&input, &dir.path().join("one.html"));
    let start = page.find("<h2>Server health</h2>").unwrap();
    let end = page.rfind("</section>").unwrap() + "</section>".len();
    let section = page[start..end]
        .replace(&dir.path().display().to_string(), "[DIR]")
        .replace("</tr>", "</tr>\n")
        .replace("</h4>", "</h4>\n")
        .replace("</p>", "</p>\n");
    insta::assert_snapshot!("health_section", section);
}

#[test]
fn db_records_runs_and_history_shows_drift() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigie.db");
    let servers = dir.path().join("servers");
    let (_, ex1) =
        write_server(&servers, "EXCH02", Weaknesses::default()).unwrap();
    let ex = dir.path().join("ex");
    std::fs::create_dir_all(&ex).unwrap();
    std::fs::rename(&ex1, ex.join("EXCH02")).unwrap();
    let run = |code: i32| {
        let out = vigie()
            .args(["check", "--as-of", "2026-09-01", "--host"])
            .arg(&servers)
            .arg("--exports")
            .arg(&ex)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    assert!(run(0).contains("recorded 1 server(s) as run 1"));
    // Extended Protection switched off on ECP, and a foreign module added.
    let weak = Weaknesses {
        ep_off_on_ecp: true,
        unknown_module: true,
        ..Weaknesses::default()
    };
    let (_, ex2) = write_server(&servers, "EXCH02", weak).unwrap();
    std::fs::remove_dir_all(&ex2).unwrap();
    assert!(run(1).contains("as run 2"));
    let out = vigie().arg("history").arg("--db").arg(&db).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "latest run needs action: {text}");
    assert!(text.contains("Configuration drift"), "{text}");
    assert!(text.contains("run 1 -> run 2"), "{text}");
    assert!(
        text.contains("EXCH02  ep.vdir Default Web Site/ECP  ok -> fail"),
        "{text}"
    );
    assert!(
        text.contains("iis.module IisTelemetryHelper  (none) -> warn"),
        "{text}"
    );
    // A stored run renders as the same page.
    let page = dir.path().join("stored.html");
    let out = vigie()
        .args(["report", "--db"])
        .arg(&db)
        .arg("-o")
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("<h2>Server health</h2>") && html.contains("EXCH02")
    );
}

#[test]
fn db_inside_a_judged_tree_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let servers = dir.path().join("servers");
    write_server(&servers, "EXCH02", Weaknesses::default()).unwrap();
    let out = vigie()
        .args(["check", "--host"])
        .arg(&servers)
        .arg("--db")
        .arg(servers.join("EXCH02/vigie.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("vigie never writes there")
    );
    assert!(!servers.join("EXCH02/vigie.db").exists());
}
