//! Fuzz the JSON event export reader (JSON Lines or one JSON array):
//! no input panics, every event handed over is an object, and a JSON
//! Lines input read again as the elements of an array gives the same
//! events in the same order.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vigie_logs::json::read_events;

fn events(data: &[u8]) -> (Vec<Value>, bool) {
    let mut out = Vec::new();
    let s = read_events(data, |_, v| out.push(v), |_| {});
    (out, s.array)
}

fuzz_target!(|data: &[u8]| {
    let (evs, array) = events(data);
    assert!(evs.iter().all(Value::is_object));
    if array || evs.is_empty() {
        return;
    }
    let parts: Vec<String> = evs.iter().map(Value::to_string).collect();
    let wrapped = format!("[{}]", parts.join(","));
    let (again, was_array) = events(wrapped.as_bytes());
    assert!(was_array);
    assert_eq!(again, evs);
});
