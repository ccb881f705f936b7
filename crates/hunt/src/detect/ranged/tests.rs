//! A file scanned in ranges must give exactly what one reader gives:
//! same findings with the same line numbers, same coverage, same errors.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::*;
use crate::detect::scan_log;

const HP_COLS: &str = "DateTime,RequestId,UrlStem,AuthenticatedUser,\
AnchorMailbox,UserAgent,ClientIpAddress,HttpStatus,BackEndCookie,Method";
const IIS_FIELDS: &str = "#Fields: date time s-ip cs-method cs-uri-stem \
cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Cookie) sc-status";

fn write(dir: &Path, rel: &str, body: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body).unwrap();
    p
}

/// An HttpProxy log as Exchange writes it (bare header, directives,
/// `#Fields`), with hits, health probes, a record older than the first,
/// an over-cap line and CRLF endings.
fn httpproxy_log() -> String {
    let mut s = format!(
        "\u{feff}{HP_COLS}\r\n#Software: Microsoft Exchange Server\r\n\
         #Fields: {HP_COLS}\r\n"
    );
    for i in 0..3000u32 {
        let t = format!(
            "2021-03-03T{:02}:{:02}:{:02}.{:03}Z",
            i / 3600 % 24,
            i / 60 % 60,
            i % 60,
            i % 1000
        );
        let (anchor, status, cookie) = match i % 97 {
            5 => ("ServerInfo~a]@ex01.lab:444/mapi/emsmdb?#", "241", ""),
            9 => ("ServerInfo~localhost/ecp/x", "500", ""),
            11 => ("Smtp~u@lab", "200", "Server~ex01/ews/x~1942062522"),
            13 => ("ServerInfo~ex01.lab", "200", ""),
            _ => ("Smtp~user@lab", "200", "Database~1~~2021"),
        };
        let _ = write!(
            s,
            "{t},{i},/owa/service.svc,u,{anchor},Mozilla,10.0.0.{},{status},\
             {cookie},POST\r\n",
            i % 250
        );
        if i == 1500 {
            s.push_str(
                "2021-03-01T00:00:00Z,old,/owa/,u,Smtp~a,M,1,200,,GET\r\n",
            );
            s.push_str(&"x".repeat(vigie_logs::MAX_LINE + 10));
            s.push_str("\r\n\r\n#Software: repeated directive\r\n");
        }
    }
    s
}

fn iis_log(second_header: &str) -> String {
    let mut s = format!("#Software: Microsoft IIS 10.0\n{IIS_FIELDS}\n");
    for i in 0..3000u32 {
        let d = format!(
            "2021-03-04 {:02}:{:02}:{:02}",
            i / 3600 % 24,
            i / 60 % 60,
            i % 60
        );
        let (stem, query, agent) = match i % 89 {
            3 => (
                "/autodiscover/autodiscover.json",
                "@x.com/mapi/nspi/?&Email=a",
                "python-requests/2.25",
            ),
            7 => ("/ecp/DDI/x.svc", "-", "DuckDuckBot/1.0"),
            _ => {
                ("/owa/service.svc", "action=GetItem", "Mozilla/5.0+(Windows)")
            }
        };
        let _ = writeln!(
            s,
            "{d} 10.0.0.1 POST {stem} {query} 443 - 10.1.0.{} {agent} - 200",
            i % 200
        );
        if i == 2000 {
            s.push_str(second_header);
            s.push_str("2021-03-04 x\n");
        }
    }
    s
}

fn same(path: &Path, source: LogSource) {
    let opts = LogScanOptions::default();
    let one = scan_log(path, source, &opts);
    assert!(!one.findings.is_empty());
    let len = std::fs::metadata(path).unwrap().len();
    for size in [97, 4096, 65_536, 1 << 20] {
        let split = Split { min: 0, size };
        let r = scan(path, source, &opts, split);
        if len <= size {
            assert!(r.is_none(), "one range: read whole");
            continue;
        }
        let r = r.expect("split is safe");
        assert_eq!(format!("{:?}", r.findings), format!("{:?}", one.findings));
        assert_eq!(format!("{:?}", r.coverage), format!("{:?}", one.coverage));
        assert_eq!(format!("{:?}", r.errors), format!("{:?}", one.errors));
    }
}

#[test]
fn httpproxy_in_ranges_equals_one_reader() {
    let dir = tempfile::tempdir().unwrap();
    let p =
        write(dir.path(), "HttpProxy/Owa/HttpProxy_1.LOG", &httpproxy_log());
    same(&p, LogSource::HttpProxy);
}

#[test]
fn iis_in_ranges_equals_one_reader_even_with_a_repeated_header() {
    let dir = tempfile::tempdir().unwrap();
    let body = iis_log(&format!("#Software: restart\n{IIS_FIELDS}\n"));
    let p = write(dir.path(), "W3SVC1/u_ex210304.log", &body);
    same(&p, LogSource::Iis);
}

#[test]
fn another_header_inside_the_file_means_one_reader() {
    let dir = tempfile::tempdir().unwrap();
    let body = iis_log("#Fields: time date cs-uri-stem cs(User-Agent)\n");
    let p = write(dir.path(), "W3SVC1/u_ex210304.log", &body);
    let split = Split { min: 0, size: 4096 };
    let opts = LogScanOptions::default();
    assert!(scan(&p, LogSource::Iis, &opts, split).is_none());
    // A file without any header is never split either.
    let p = write(dir.path(), "W3SVC1/u_ex210305.log", "a b\nc d\n");
    let split = Split { min: 0, size: 2 };
    assert!(scan(&p, LogSource::Iis, &opts, split).is_none());
}

/// An EVTX file of `n` chunks taken in turn from the real fixtures.
fn grown_evtx(n: usize) -> Vec<u8> {
    let real = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/real/evtx-to-mitre"
    );
    let mut files: Vec<Vec<u8>> = std::fs::read_dir(real)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    files.sort();
    let mut out = files[0][..4096].to_vec();
    for i in 0..n {
        out.extend_from_slice(&files[i % files.len()][4096..4096 + 65536]);
    }
    out
}

#[test]
fn evtx_in_chunk_ranges_equals_one_reader() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = grown_evtx(40);
    let opts = LogScanOptions::default();
    for cut in [false, true] {
        if cut {
            data.extend_from_slice(&[0; 1000]);
        }
        let p = write_bytes(dir.path(), "Logs/Application.evtx", &data);
        let one = scan_log(&p, LogSource::Evtx, &opts);
        assert_eq!(one.coverage.records, 14 + 13 * 15 + 13 * 4);
        // One error for the records dated 1601 (a zero FILETIME: an
        // implausible time), one more for the cut.
        assert_eq!(one.errors.len(), 1 + usize::from(cut), "{:?}", one.errors);
        assert!(one.errors[0].message.contains("1601-01-01"));
        for chunks in [1, 3, 7, 39] {
            let split = Split { min: 0, size: chunks * 65536 };
            let r = scan_evtx(&p, &opts, split).expect("split");
            let sorted = |r: &LogScanResult| {
                let mut v: Vec<_> =
                    r.findings.iter().map(|f| format!("{f:?}")).collect();
                v.sort();
                v
            };
            assert_eq!(sorted(&r), sorted(&one));
            assert_eq!(
                format!("{:?}", r.coverage),
                format!("{:?}", one.coverage)
            );
            assert_eq!(format!("{:?}", r.errors), format!("{:?}", one.errors));
        }
        // One range holding every chunk: read whole.
        let split = Split { min: 0, size: 40 * 65536 };
        assert!(scan_evtx(&p, &opts, split).is_none());
    }
}

#[test]
fn evtx_with_a_bad_header_is_read_whole_for_one_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = grown_evtx(8);
    data[..8].copy_from_slice(b"NotEvtx\0");
    let p = write_bytes(dir.path(), "Logs/System.evtx", &data);
    let split = Split { min: 0, size: 65536 };
    assert!(scan_evtx(&p, &LogScanOptions::default(), split).is_none());
    let one = scan_log(&p, LogSource::Evtx, &LogScanOptions::default());
    assert_eq!(one.errors.len(), 1);
}

fn write_bytes(dir: &Path, rel: &str, body: &[u8]) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body).unwrap();
    p
}
