//! A small reader for PowerShell CLIXML (`Export-Clixml`), built on
//! `quick-xml`'s event reader.
//!
//! No crate reads CLIXML. The format is a tree of `<Obj>` with a type list
//! (`<TN>`, reused through `<TNRef>`), an optional `<ToString>`, properties
//! in `<Props>`/`<MS>` (leaves named by `N`), lists (`<LST>`, `<IE>`),
//! dictionaries (`<DCT><En>`), repeats (`<Ref RefId>`) and control
//! characters escaped as `_xHHHH_`. Only what the judgements need is
//! modelled: every leaf is text. Repeats are expanded under a budget so a
//! hostile file cannot multiply itself.

use std::collections::HashMap;
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::error::{HealthError, read_limited};

/// Largest export read (HealthChecker's own exports stay below 10 MB).
pub const MAX_CLIXML: u64 = 128 << 20;
const MAX_DEPTH: usize = 128;
const MAX_VALUES: usize = 4_000_000;

/// A CLIXML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Any leaf (`S`, `B`, `I32`, `DT`, `G`, ...), decoded.
    Text(String),
    /// `<Nil/>`.
    Nil,
    /// An object.
    Obj(Box<Obj>),
    /// `LST`, `IE`, `STK`, `QUE`.
    List(Vec<Value>),
    /// `DCT`: key/value pairs.
    Dict(Vec<(Value, Value)>),
}

/// A deserialised object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Obj {
    /// Type names, most derived first.
    pub types: Vec<String>,
    /// `<ToString>`.
    pub to_string: Option<String>,
    /// Named properties in document order.
    pub props: Vec<(String, Value)>,
    /// Unnamed content: list items, an enum's number, a dictionary.
    pub items: Vec<Value>,
}

impl Value {
    /// Text of a leaf, or an object's `ToString`.
    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            Value::Obj(o) => o.to_string.as_deref(),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn obj(&self) -> Option<&Obj> {
        match self {
            Value::Obj(o) => Some(o),
            _ => None,
        }
    }

    /// Texts of a list (or of an object wrapping a list, like
    /// `MultiValuedProperty`).
    pub fn texts(&self) -> Vec<String> {
        let items: &[Value] = match self {
            Value::List(v) => v,
            Value::Obj(o) => {
                return o.items.iter().flat_map(Value::texts).collect();
            }
            Value::Text(s) => return vec![s.clone()],
            _ => &[],
        };
        items.iter().filter_map(|v| v.text().map(str::to_string)).collect()
    }
}

impl Obj {
    /// A property by name (case-insensitive, first wins).
    pub fn prop(&self, name: &str) -> Option<&Value> {
        self.props
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// A property's text.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.prop(name).and_then(Value::text)
    }
}

/// Read a CLIXML file: its top-level objects (or values).
pub fn read_file(path: &Path) -> Result<Vec<Value>, HealthError> {
    let bytes = read_limited(path, MAX_CLIXML)?;
    parse(path, &bytes)
}

/// Parse CLIXML bytes (UTF-8 with or without BOM, or UTF-16LE with BOM).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<Value>, HealthError> {
    let text = decode(bytes);
    let err = |reason: String| HealthError::Clixml {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = Reader::from_str(&text);
    let mut state = State::default();
    loop {
        let ev = reader.read_event().map_err(|e| {
            err(format!("at byte {}: {e}", reader.buffer_position()))
        })?;
        match ev {
            Event::Start(e) => state.open(&e).map_err(err)?,
            Event::Empty(e) => {
                state.open(&e).map_err(err)?;
                state.close().map_err(err)?;
            }
            Event::End(_) => state.close().map_err(err)?,
            Event::Text(t) => {
                let s = t.decode().map_err(|e| err(e.to_string()))?;
                state.text(&s);
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| err(e.to_string()))?;
                state.text(&s);
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => {
                        let name =
                            r.decode().map_err(|e| err(e.to_string()))?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| {
                                err(format!("unknown entity &{name};"))
                            })?
                            .to_string()
                    }
                };
                state.text(&c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !state.stack.is_empty() {
        return Err(err("truncated: elements left open at the end".into()));
    }
    if !state.saw_root {
        return Err(err("no <Objs> root element".into()));
    }
    Ok(state.top)
}

fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    let rest = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
    String::from_utf8_lossy(rest).into_owned()
}

/// `_x000D__x000A_` → CRLF (PowerShell's escape of control characters).
pub fn unescape_ps(s: &str) -> String {
    if !s.contains("_x") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("_x") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let code = tail
            .get(2..6)
            .filter(|_| tail.as_bytes().get(6) == Some(&b'_'))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32);
        match code {
            Some(c) => {
                out.push(c);
                rest = &tail[7..];
            }
            None => {
                out.push_str("_x");
                rest = &tail[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[derive(Default)]
struct Frame {
    tag: String,
    name: Option<String>,
    ref_id: Option<String>,
    text: String,
    obj: Obj,
    dict: Vec<(Value, Value)>,
    key: Option<Value>,
    val: Option<Value>,
}

#[derive(Default)]
struct State {
    stack: Vec<Frame>,
    top: Vec<Value>,
    objs: HashMap<String, Value>,
    types: HashMap<String, Vec<String>>,
    values: usize,
    saw_root: bool,
}

impl State {
    fn open(&mut self, e: &BytesStart<'_>) -> Result<(), String> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} elements"));
        }
        let tag =
            String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        if self.stack.is_empty() {
            if tag != "Objs" || self.saw_root {
                return Err(format!(
                    "root element is <{tag}>, expected <Objs>"
                ));
            }
            self.saw_root = true;
        }
        let mut frame = Frame { tag, ..Frame::default() };
        for a in e.attributes().flatten() {
            let v =
                a.unescape_value().map_err(|e| e.to_string())?.into_owned();
            match a.key.local_name().as_ref() {
                b"N" => frame.name = Some(unescape_ps(&v)),
                b"RefId" => frame.ref_id = Some(v),
                _ => {}
            }
        }
        self.stack.push(frame);
        Ok(())
    }

    fn text(&mut self, s: &str) {
        if let Some(f) = self.stack.last_mut()
            && f.text.len() < (16 << 20)
        {
            f.text.push_str(s);
        }
    }

    fn close(&mut self) -> Result<(), String> {
        let child = self.stack.pop().ok_or("unbalanced end tag")?;
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(format!("more than {MAX_VALUES} values"));
        }
        let Some(parent) = self.stack.last_mut() else { return Ok(()) };
        match child.tag.as_str() {
            "TN" => {
                if let Some(id) = &child.ref_id {
                    self.types.insert(id.clone(), child.obj.types.clone());
                }
                parent.obj.types = child.obj.types;
                return Ok(());
            }
            "TNRef" => {
                let id = child.ref_id.unwrap_or_default();
                parent.obj.types =
                    self.types.get(&id).cloned().unwrap_or_default();
                return Ok(());
            }
            "T" => {
                parent.obj.types.push(child.text);
                return Ok(());
            }
            "ToString" => {
                parent.obj.to_string = Some(unescape_ps(&child.text));
                return Ok(());
            }
            "Props" | "MS" => {
                parent.obj.props.extend(child.obj.props);
                return Ok(());
            }
            "En" => {
                if let (Some(k), Some(v)) = (child.key, child.val) {
                    parent.dict.push((k, v));
                }
                return Ok(());
            }
            _ => {}
        }
        let name = child.name.clone();
        let value = self.value_of(child)?;
        let parent = self.stack.last_mut().ok_or("unbalanced end tag")?;
        match (parent.tag.as_str(), name) {
            ("Objs", _) => self.top.push(value),
            ("En", Some(n)) if n == "Key" => parent.key = Some(value),
            ("En", Some(_)) => parent.val = Some(value),
            ("Obj" | "Props" | "MS", Some(n)) => {
                parent.obj.props.push((n, value))
            }
            (_, _) => parent.obj.items.push(value),
        }
        Ok(())
    }

    fn value_of(&mut self, child: Frame) -> Result<Value, String> {
        Ok(match child.tag.as_str() {
            "Obj" => {
                let v = Value::Obj(Box::new(child.obj));
                if let Some(id) = child.ref_id {
                    self.objs.insert(id, v.clone());
                }
                v
            }
            "Ref" => {
                let id = child.ref_id.unwrap_or_default();
                let v = self.objs.get(&id).cloned().unwrap_or(Value::Nil);
                self.values += count(&v);
                if self.values > MAX_VALUES {
                    return Err(format!(
                        "more than {MAX_VALUES} values (repeats)"
                    ));
                }
                v
            }
            "LST" | "IE" | "STK" | "QUE" => Value::List(child.obj.items),
            "DCT" => Value::Dict(child.dict),
            "Nil" => Value::Nil,
            _ => Value::Text(unescape_ps(&child.text)),
        })
    }
}

fn count(v: &Value) -> usize {
    match v {
        Value::Obj(o) => {
            1 + o.props.iter().map(|(_, v)| count(v)).sum::<usize>()
                + o.items.iter().map(count).sum::<usize>()
        }
        Value::List(l) => 1 + l.iter().map(count).sum::<usize>(),
        Value::Dict(d) => {
            1 + d.iter().map(|(k, v)| count(k) + count(v)).sum::<usize>()
        }
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_lists_refs_enums_and_escapes() {
        let xml = r#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">
<Obj RefId="0"><TN RefId="0"><T>A.B</T><T>System.Object</T></TN><ToString>x</ToString>
<Props><S N="ComponentName">Cafe</S><Obj N="Parameters" RefId="1"><TNRef RefId="0"/><LST><S>Enabled=False</S></LST></Obj>
<Obj N="Status" RefId="2"><ToString>Accepted</ToString><I32>3</I32></Obj><S N="Raw">a&lt;b_x000D__x000A_c</S><Nil N="Server"/></Props></Obj>
<Ref RefId="0"/></Objs>"#;
        let v = parse(Path::new("t.xml"), xml.as_bytes()).unwrap();
        assert_eq!(v.len(), 2);
        let o = v[0].obj().unwrap();
        assert_eq!(o.types, ["A.B", "System.Object"]);
        assert_eq!(o.text("componentname"), Some("Cafe"));
        assert_eq!(o.prop("Parameters").unwrap().texts(), ["Enabled=False"]);
        assert_eq!(o.text("Status"), Some("Accepted"));
        assert_eq!(o.text("Raw"), Some("a<b\r\nc"));
        assert_eq!(o.prop("Server"), Some(&Value::Nil));
        assert_eq!(v[1], v[0]);
    }

    #[test]
    fn broken_exports_get_named_errors() {
        for bad in
            ["<Objs><Obj>", "<html/>", "", "<Objs><S>&bogus;</S></Objs>"]
        {
            let e = parse(Path::new("bad.xml"), bad.as_bytes()).unwrap_err();
            assert!(
                e.to_string().starts_with("bad.xml: not a PowerShell CLIXML"),
                "{e}"
            );
        }
    }
}
