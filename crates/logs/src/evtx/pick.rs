//! One pass over a record's rendered JSON that builds only the flat
//! fields a caller asks for (the hunt's event rules read a dozen), with
//! exactly the values [`super::flatten`] gives them: no tree, no string
//! copied unless it is kept, every other value only checked and skipped.
//!
//! The pass gives up (`None`) on anything it does not handle the way
//! `serde_json` would, and the caller then takes the tree path: invalid
//! or odd JSON (duplicate or escaped keys, surrogate escapes, floats,
//! deep nesting), so the result is the same whatever the input.

use serde_json::{Map, Value};

/// Nesting depth past which the pass leaves the record to the tree path
/// (serde_json's own limit is 128).
const MAX_DEPTH: u32 = 100;

/// The fields of `keep` that [`super::flatten`] would give `json`, or
/// `None` when the pass cannot tell (then use the tree path).
pub fn pick(json: &[u8], keep: &[&str]) -> Option<Map<String, Value>> {
    // serde_json rejects invalid UTF-8 anywhere, kept or skipped.
    std::str::from_utf8(json).ok()?;
    // The crate's compact JSON holds no byte below 0x20 at all (escaped in
    // strings, no layout): then strings need no check for them.
    let controls = json.iter().fold(false, |any, &c| any | (c < 0x20));
    let mut p =
        Pass { b: json, i: 0, depth: 0, keys: Vec::new(), keep, controls };
    let mut out = Out::default();
    p.ws();
    if p.peek()? == b'{' {
        p.root(&mut out)?;
    } else {
        // Not an object: no `Event`, no `System`, no data.
        p.skip()?;
    }
    p.ws();
    (p.i == json.len()).then_some(())?;
    Some(out.finish(keep))
}

/// What the record gives, by part: `flatten` writes the System fields,
/// then EventData's, then UserData's, then `Message`, whatever order the
/// JSON holds them in.
#[derive(Default)]
struct Out {
    system: Vec<(&'static str, Value)>,
    data: [Part; 2],
}

/// The fields and message texts of `EventData` or `UserData`.
#[derive(Default)]
struct Part {
    fields: Vec<(String, Value)>,
    message: Vec<String>,
}

impl Out {
    fn finish(self, keep: &[&str]) -> Map<String, Value> {
        let mut map = Map::new();
        for (k, v) in self.system {
            if keep.contains(&k) {
                map.insert(k.to_string(), v);
            }
        }
        let mut message = Vec::new();
        for part in self.data {
            for (k, v) in part.fields {
                map.insert(k, v);
            }
            message.extend(part.message);
        }
        if !message.is_empty() && keep.contains(&"Message") {
            map.insert("Message".into(), message.join("\n").into());
        }
        map
    }
}

struct Pass<'a, 'k> {
    b: &'a [u8],
    i: usize,
    depth: u32,
    /// Keys of the objects being read (raw), to catch duplicates.
    keys: Vec<&'a [u8]>,
    keep: &'k [&'k str],
    /// Whether the text holds bytes below 0x20 (strings must not).
    controls: bool,
}

/// Where the event's parts lie when the root object is the event itself.
#[derive(Default)]
struct Spans {
    system: Option<usize>,
    data: [Option<usize>; 2],
}

impl<'a> Pass<'a, '_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// The root object: its `Event` member is the event, or, when it has
    /// none, the root is (as `data.get("Event").unwrap_or(data)`).
    fn root(&mut self, out: &mut Out) -> Option<()> {
        let mut spans = Spans::default();
        let mut event = false;
        self.object(|p, key| {
            match key {
                b"Event" => {
                    event = true;
                    p.event(out)?;
                }
                b"System" => spans.system = Some(p.skip_at()?),
                b"EventData" => spans.data[0] = Some(p.skip_at()?),
                b"UserData" => spans.data[1] = Some(p.skip_at()?),
                _ => p.skip()?,
            }
            Some(())
        })?;
        if !event {
            let end = self.i;
            if let Some(at) = spans.system {
                self.i = at;
                self.system(out)?;
            }
            for (n, at) in spans.data.into_iter().enumerate() {
                if let Some(at) = at {
                    self.i = at;
                    self.collect(&mut out.data[n])?;
                }
            }
            self.i = end;
        }
        Some(())
    }

    /// Skip a value, giving where it started.
    fn skip_at(&mut self) -> Option<usize> {
        self.ws();
        let at = self.i;
        self.skip()?;
        Some(at)
    }

    fn event(&mut self, out: &mut Out) -> Option<()> {
        self.ws();
        if self.peek()? != b'{' {
            return self.skip();
        }
        self.object(|p, key| match key {
            b"System" => p.system(out),
            b"EventData" => p.collect(&mut out.data[0]),
            b"UserData" => p.collect(&mut out.data[1]),
            _ => p.skip(),
        })
    }

    fn system(&mut self, out: &mut Out) -> Option<()> {
        self.ws();
        if self.peek()? != b'{' {
            return self.skip();
        }
        self.object(|p, key| {
            match key {
                b"EventID" => {
                    if let Some(id) = p.number_field()? {
                        out.system.push(("EventID", id.into()));
                    }
                }
                b"Level" => {
                    if let Some(level) = p.number_field()? {
                        out.system.push(("Level", level.to_string().into()));
                    }
                }
                b"Channel" => {
                    if let Some(c) = p.string_only()? {
                        out.system.push(("Channel", c.into()));
                    }
                }
                b"Provider" => p.provider(out)?,
                _ => p.skip()?,
            }
            Some(())
        })
    }

    /// `Provider.#attributes.Name` when a string.
    fn provider(&mut self, out: &mut Out) -> Option<()> {
        self.ws();
        if self.peek()? != b'{' {
            return self.skip();
        }
        self.object(|p, key| {
            p.ws();
            if key != b"#attributes" || p.peek()? != b'{' {
                return p.skip();
            }
            p.object(|p, key| {
                if key == b"Name"
                    && let Some(name) = p.string_only()?
                {
                    out.system.push(("SourceName", name.into()));
                    return Some(());
                }
                p.skip()
            })
        })
    }

    /// A System number: the value itself or its `#text`, a non-negative
    /// integer or a string parsing as one. `Some(None)`: none there.
    fn number_field(&mut self) -> Option<Option<u64>> {
        self.ws();
        if self.peek()? != b'{' {
            return self.as_u64();
        }
        let mut got = None;
        let mut text = false;
        self.object(|p, key| {
            if key == b"#text" {
                text = true;
                got = p.as_u64()?;
                Some(())
            } else {
                p.skip()
            }
        })?;
        // An object without `#text` is itself no number.
        Some(got.filter(|_| text))
    }

    fn as_u64(&mut self) -> Option<Option<u64>> {
        self.ws();
        match self.peek()? {
            b'"' => Some(self.string()?.parse().ok()),
            b'0'..=b'9' => {
                let (at, digits) = self.integer()?;
                Some(
                    std::str::from_utf8(&self.b[at..at + digits])
                        .ok()?
                        .parse()
                        .ok(),
                )
            }
            b'-' => self.skip().map(|()| None),
            _ => self.skip().map(|()| None),
        }
    }

    /// A string value, or `Some(None)` for any other value (skipped).
    fn string_only(&mut self) -> Option<Option<String>> {
        self.ws();
        if self.peek()? == b'"' {
            return self.string().map(Some);
        }
        self.skip().map(|()| None)
    }

    /// `collect` of `flatten`: objects are walked, `Data`/`#text` values
    /// go to the message, other members are fields.
    fn collect(&mut self, part: &mut Part) -> Option<()> {
        self.ws();
        if self.peek()? != b'{' {
            return self.push_text(part);
        }
        self.object(|p, key| {
            p.ws();
            if key == b"#attributes" {
                p.skip()
            } else if p.peek()? == b'{' {
                p.collect(part)
            } else if key == b"Data" || key == b"#text" {
                p.push_text(part)
            } else {
                if let Some(&key) = p.keep.iter().find(|k| k.as_bytes() == key)
                {
                    let text = p.text()?;
                    match part.fields.iter_mut().find(|(k, _)| k == key) {
                        Some(slot) => slot.1 = text.into(),
                        None => {
                            part.fields.push((key.to_string(), text.into()))
                        }
                    }
                    Some(())
                } else {
                    p.skip()
                }
            }
        })
    }

    /// Walk the JSON array at the cursor, `each` reading one element at a
    /// time (the array counterpart of `object`).
    fn array(
        &mut self,
        mut each: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.enter()?;
        self.i += 1;
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            each(self)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    break;
                }
                _ => return None,
            }
        }
        self.depth -= 1;
        Some(())
    }

    fn push_text(&mut self, part: &mut Part) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'[' => self.array(|p| p.push_text(part)),
            b'n' => self.skip(),
            _ if self.keep.contains(&"Message") => {
                let text = self.text()?;
                part.message.push(text);
                Some(())
            }
            _ => self.skip(),
        }
    }

    /// `text` of `flatten`: a string as is, any other value as JSON.
    fn text(&mut self) -> Option<String> {
        self.ws();
        match self.peek()? {
            b'"' => self.string(),
            b'0'..=b'9' => {
                let (at, digits) = self.integer()?;
                let s = std::str::from_utf8(&self.b[at..at + digits]).ok()?;
                // Up to 19 digits is a u64 whose text is the same digits.
                if digits <= 19 {
                    Some(s.to_string())
                } else {
                    Some(serde_json::from_str::<Value>(s).ok()?.to_string())
                }
            }
            _ => {
                let at = self.i;
                self.skip()?;
                let v: Value =
                    serde_json::from_slice(&self.b[at..self.i]).ok()?;
                Some(v.to_string())
            }
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// Walk an object, calling `member` with each raw key; `member` must
    /// read the value. Escaped or repeated keys: give up.
    fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        self.enter()?;
        let frame = self.keys.len();
        // Keys seen, by a cheap signature: only a repeat of one is looked
        // for among them.
        let mut seen = 0u64;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
        } else {
            loop {
                self.ws();
                let (key, escaped) = self.raw_string()?;
                let bit = 1u64
                    << ((key.len()
                        + 7 * usize::from(*key.last().unwrap_or(&0)))
                        % 64);
                if escaped
                    || (seen & bit != 0 && self.keys[frame..].contains(&key))
                {
                    return None;
                }
                seen |= bit;
                self.keys.push(key);
                self.eat(b':')?;
                member(self, key)?;
                self.ws();
                match self.peek()? {
                    b',' => self.i += 1,
                    b'}' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.keys.truncate(frame);
        self.depth -= 1;
        Some(())
    }

    /// Check and skip any value.
    fn skip(&mut self) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => self.raw_string().map(drop),
            b'{' => self.object(|p, _| p.skip()),
            b'[' => self.array(Self::skip),
            b'-' => {
                self.i += 1;
                self.integer().map(drop)
            }
            b'0'..=b'9' => self.integer().map(drop),
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            _ => None,
        }
    }

    fn word(&mut self, w: &[u8]) -> Option<()> {
        self.b[self.i..].starts_with(w).then(|| self.i += w.len())
    }

    /// An integer (no fraction or exponent: those are left to serde_json,
    /// which may reject them as out of range): where it starts and its
    /// digit count.
    fn integer(&mut self) -> Option<(usize, usize)> {
        let at = self.i;
        let digits =
            self.b[at..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || (digits > 1 && self.b[at] == b'0') {
            return None;
        }
        self.i += digits;
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some((at, digits))
    }

    /// A string's raw bytes (between the quotes) and whether it holds an
    /// escape; control characters, bad escapes and surrogates give up.
    fn raw_string(&mut self) -> Option<(&'a [u8], bool)> {
        (self.peek()? == b'"').then_some(())?;
        let start = self.i + 1;
        let mut at = start;
        let mut escaped = false;
        loop {
            let n = find_quote_or_escape(&self.b[at..])?;
            if self.controls && self.b[at..at + n].iter().any(|&c| c < 0x20) {
                return None;
            }
            at += n;
            if self.b[at] == b'"' {
                self.i = at + 1;
                return Some((&self.b[start..at], escaped));
            }
            escaped = true;
            match *self.b.get(at + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                    at += 2
                }
                b'u' => {
                    let hex = self.b.get(at + 2..at + 6)?;
                    let hex = std::str::from_utf8(hex).ok()?;
                    let unit = u16::from_str_radix(hex, 16).ok()?;
                    if (0xD800..0xE000).contains(&unit) || hex.starts_with('+')
                    {
                        return None;
                    }
                    at += 6;
                }
                _ => return None,
            }
        }
    }

    /// A string value, unescaped.
    fn string(&mut self) -> Option<String> {
        let (raw, escaped) = self.raw_string()?;
        if !escaped {
            return std::str::from_utf8(raw).ok().map(str::to_string);
        }
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            let c = raw[i];
            if c != b'\\' {
                out.push(c);
                i += 1;
                continue;
            }
            let e = raw[i + 1];
            i += 2;
            let byte = match e {
                b'b' => 8,
                b'f' => 12,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => {
                    let hex = std::str::from_utf8(&raw[i..i + 4]).ok()?;
                    let unit = u32::from_str_radix(hex, 16).ok()?;
                    let ch = char::from_u32(unit)?;
                    let mut buf = [0; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    i += 4;
                    continue;
                }
                other => other,
            };
            out.push(byte);
        }
        String::from_utf8(out).ok()
    }
}

/// Where the first `"` or `\\` is: most strings are short, so a plain loop
/// first, the SIMD search past 16 bytes.
fn find_quote_or_escape(b: &[u8]) -> Option<usize> {
    let head = b.len().min(16);
    if let Some(i) = b[..head].iter().position(|&c| c == b'"' || c == b'\\') {
        return Some(i);
    }
    memchr::memchr2(b'"', b'\\', &b[head..]).map(|i| head + i)
}
