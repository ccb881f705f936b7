//! The fast flattener must give exactly what `flatten` gives on the
//! parsed `Value`, on real EVTX records and on odd JSON.

use evtx::{EvtxParser, ParserSettings};

use super::*;

const REAL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../hunt/tests/fixtures/real/evtx-to-mitre"
);

/// Fields the hunt's event rules read, and a few more.
const KEEP: &[&str] = &[
    "EventID",
    "Level",
    "Channel",
    "SourceName",
    "Message",
    "Image",
    "CommandLine",
    "TargetUserName",
    "Port",
    "List",
    "Inner",
    "A",
    "Y",
];

fn same(json: &str) {
    let slow = flatten(&serde_json::from_str(json).unwrap());
    assert_eq!(flatten_json(json.as_bytes()).unwrap(), slow, "{json}");
    let only = flatten_only(json.as_bytes(), KEEP).unwrap();
    assert_eq!(only, project(slow, KEEP), "{json}");
}

#[test]
fn real_records_flatten_as_the_value_path() {
    let mut n = 0;
    for e in std::fs::read_dir(REAL).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "evtx") {
            continue;
        }
        let settings = ParserSettings::new().num_threads(1);
        let mut p =
            EvtxParser::from_path(&path).unwrap().with_configuration(settings);
        for r in p.records_json() {
            let json = r.unwrap().data;
            same(&json);
            // The one-pass reader handles every real record itself.
            assert!(pick::pick(json.as_bytes(), KEEP).is_some(), "{json}");
            n += 1;
        }
    }
    assert_eq!(n, 20);
}

#[test]
fn odd_json_flattens_as_the_value_path() {
    for json in [
        r##"{"Event":{"System":{"EventID":{"#text":"4624","#attributes":{}},
            "Level":"4","Channel":"Security",
            "Provider":{"#attributes":{"Name":"Microsoft-Windows-X"}}},
            "EventData":{"Data":["a",null,1.5,{"#text":"b"}],
            "TargetUserName":"ex\u00e9\"q","Port":445,"Ok":true,
            "List":[1,"x"],"Nested":{"Inner":"v","#text":"t"}}}}"##,
        // Duplicate keys: first position, last value.
        r##"{"Event":{"System":{"EventID":1,"EventID":2},
            "EventData":{"A":"1","B":"2","A":"3","Data":"m"}}}"##,
        // No Event wrapper; UserData after EventData; overwrites.
        r##"{"System":{"EventID":7,"Level":2},
            "UserData":{"X":{"EventID":"9","Y":null}},
            "EventData":{"#text":["p","q"],"#attributes":{"Name":"n"}}}"##,
        r##"{"Event":{"EventData":"plain text"}}"##,
        r##"{"Event":{"System":{"EventID":-3,"Level":1e2}}}"##,
        r##"[1,2]"##,
        r##""x""##,
        // Parts out of order, escapes, numbers as text, nested arrays.
        r##"{"Event":{"UserData":{"Image":"u\\v\u00e9\n"},
            "EventData":{"Image":12345678901234567890123,"Data":[[1,{"a":2}],
            "x\"y",false,-0,-7],"Port":"p"},"System":{"Level":{"#text":"07"},
            "EventID":{"#attributes":{"Qualifiers":1}},"Channel":5,
            "Provider":{"#attributes":[1]}}}}"##,
        // No Event: the root is the event; Event not an object.
        r##"{"System":{"Channel":"c"},"EventData":{"Image":"i"}}"##,
        r##"{"Event":[1],"System":{"Channel":"c"}}"##,
        r##"{"Event":{"EventData":{"Message":"m","Data":"d"}}}"##,
        r##"{"Event":{"EventData":{"Message":"m"}}}"##,
        r##"{"Event":{"EventData":{"Image":null,"CommandLine":1.5e3}}}"##,
        r##" { "Event" : { "System" : { "EventID" : "+12" } } } "##,
    ] {
        same(json);
    }
    assert!(flatten_json(b"{\"Event\":").is_err());
    for bad in [&b"{\"Event\":"[..], b"", b"{} x", b"{\"a\":01}", b"\"\x01\""]
    {
        assert!(flatten_only(bad, KEEP).is_err());
    }
}

/// Regression guard: a copy cut inside its last chunk was read as if
/// whole, its lost records unmentioned.
#[test]
fn truncated_file_is_reported() {
    let path = std::fs::read_dir(REAL)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "evtx"))
        .unwrap();
    let data = std::fs::read(&path).unwrap();
    let dir = std::env::temp_dir()
        .join(format!("vigie-logs-evtx-cut-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("cut.evtx");
    std::fs::write(&cut, &data[..40_000]).unwrap();
    let mut errors = Vec::new();
    let _ = read_evtx(&cut, |_| {}, |e| errors.push(e));
    assert!(errors[0].starts_with("file truncated"), "{errors:?}");
    let mut errors = Vec::new();
    read_evtx(&path, |_| {}, |e| errors.push(e)).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A file of `n` chunks taken in turn from the real fixtures, behind the
/// first fixture's header (as `bench/evtx/grow.py` builds them).
fn grown(n: usize) -> Vec<u8> {
    let mut files: Vec<Vec<u8>> = std::fs::read_dir(REAL)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    files.sort();
    let (h, c) = (HEADER_BLOCK as usize, CHUNK as usize);
    let mut out = files[0][..h].to_vec();
    for i in 0..n {
        out.extend_from_slice(&files[i % files.len()][h..h + c]);
    }
    out
}

/// Every record as comparable text, in a stable order.
fn records(read: impl FnOnce(&mut dyn FnMut(EvtxRecord))) -> Vec<String> {
    let mut out = Vec::new();
    read(&mut |r| {
        out.push(format!("{} {:?} {}", r.record_id, r.timestamp, r.value))
    });
    out.sort();
    out
}

#[test]
fn chunk_ranges_give_the_records_of_the_whole_file() {
    let dir = std::env::temp_dir()
        .join(format!("vigie-logs-evtx-ranges-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("grown.evtx");
    std::fs::write(&path, grown(10)).unwrap();
    assert_eq!(chunk_count(&path).unwrap(), 10);
    let whole = records(|f| read_evtx(&path, f, |e| panic!("{e}")).unwrap());
    assert_eq!(whole.len(), 4 + 3 * 15 + 3 * 4);
    for cuts in [vec![0, 10], vec![0, 3, 7, 10], (0..=10).collect()] {
        let parts = records(|f| {
            for w in cuts.windows(2) {
                read_evtx_chunks(&path, w[0]..w[1], &mut *f, |e| {
                    panic!("{e}")
                })
                .unwrap();
            }
        });
        assert_eq!(parts, whole, "{cuts:?}");
    }
    // An empty range reads nothing and is no error.
    let none = records(|f| read_evtx_chunks(&path, 4..4, f, |_| {}).unwrap());
    assert!(none.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Records of the real fixtures as `(id, time, fields)`, in file order.
fn read_with(fields: Fields<'_>) -> Vec<(u64, Option<DateTime<Utc>>, Value)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(REAL)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
        .collect();
    files.sort();
    for path in files {
        read_evtx_fields(
            &path,
            fields,
            |r| out.push((r.record_id, r.timestamp, r.value)),
            |e| panic!("{e}"),
        )
        .unwrap();
    }
    out
}

/// Only the records that may hold a needle are rendered: those holding
/// one in a value come exactly as `Only` gives them, the others come
/// without fields but are still counted, with their ids and times.
#[test]
fn holding_renders_the_records_with_a_needle() {
    let only = read_with(Fields::Only(KEEP));
    assert_eq!(only.len(), 20);
    for (needles, rendered) in [
        // Sysmon's Image, in one record: found in a nested BinXML value.
        (&["NOTEPAD++.exe"][..], 1),
        // A Security record's value, and nothing.
        (&["compliance management"][..], 1),
        (&["no-such-text-anywhere"][..], 0),
        // Literal text of every template (the event namespace).
        (&["schemas.microsoft.com"][..], 20),
        // Letters a number, GUID or time could render: every record.
        (&["0xdeadbeef"][..], 20),
    ] {
        let got = read_with(Fields::Holding { fields: KEEP, needles });
        assert_eq!(got.len(), only.len());
        let mut n = 0;
        for (g, o) in got.iter().zip(&only) {
            assert_eq!((g.0, g.1), (o.0, o.1));
            if g.2 == o.2 && o.2.as_object().is_some_and(|m| !m.is_empty()) {
                n += 1;
            } else {
                assert!(g.2.as_object().unwrap().is_empty(), "{needles:?}");
            }
        }
        assert_eq!(n, rendered, "{needles:?}");
    }
}
