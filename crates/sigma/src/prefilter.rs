//! Which texts a record must hold for a rule to match it.
//!
//! Most records of a web server log match no rule; splitting each one
//! into fields and running every rule on it would cost far more than
//! vigie's own detectors. So each rule is reduced, when it can be, to a
//! set of literals at least one of which any matching record holds
//! (ASCII case ignored): its condition is walked (`and` needs one side,
//! `or` both, `not` gives up), each selection's field values give the
//! longest literal run of their patterns. One Aho-Corasick pass over a
//! record then names the rules worth evaluating; rules that cannot be
//! reduced (regular expressions, `not` alone, transforms such as
//! `base64offset`) are evaluated on every record. The literal is only a
//! necessary condition: `sigma-rust` still decides.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde_norway::{Mapping, Value};

/// Literals one of which a matching record holds; `None`: unknown, so
/// every record is evaluated.
pub(crate) type Literals = Option<Vec<String>>;

/// The literals of a (normalised) detection.
pub(crate) fn literals(detection: &Value) -> Literals {
    let Value::Mapping(m) = detection else { return None };
    let cond = m.get("condition")?.as_str()?;
    let tokens = lex(cond)?;
    let mut p = Parser { tokens: &tokens, pos: 0, sel: m };
    let lits = p.or()?;
    if p.pos != tokens.len() {
        return None;
    }
    lits.map(with_variants)
}

/// Spaces also as IIS writes them (`+`) and percent-encoded; quotes also
/// doubled, as in CSV.
fn with_variants(lits: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(lits.len());
    for l in lits {
        if l.contains(' ') {
            out.push(l.replace(' ', "+"));
            out.push(l.replace(' ', "%20"));
        }
        if l.contains('"') {
            out.push(l.replace('"', "\"\""));
        }
        out.push(l);
    }
    out.sort();
    out.dedup();
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Not,
    OneOf(String),
    AllOf(String),
    Name(String),
}

fn lex(cond: &str) -> Option<Vec<Tok>> {
    let spaced = cond.replace('(', " ( ").replace(')', " ) ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let lw = w.to_ascii_lowercase();
        let tok = match lw.as_str() {
            "(" => Tok::Open,
            ")" => Tok::Close,
            "and" => Tok::And,
            "or" => Tok::Or,
            "not" => Tok::Not,
            "1" | "any" | "all" if words.get(i + 1) == Some(&"of") => {
                let target = words.get(i + 2)?.to_string();
                i += 2;
                if lw == "all" {
                    Tok::AllOf(target)
                } else {
                    Tok::OneOf(target)
                }
            }
            "|" => return None, // Sigma 1 aggregations
            _ => Tok::Name(w.to_string()),
        };
        out.push(tok);
        i += 1;
    }
    Some(out)
}

/// Recursive descent over the condition; each level gives the literals
/// of its sub-expression (`Ok(None)`: unbounded). `None` from the
/// parser itself: not understood.
struct Parser<'a> {
    tokens: &'a [Tok],
    pos: usize,
    sel: &'a Mapping,
}

impl Parser<'_> {
    fn or(&mut self) -> Option<Literals> {
        let mut acc = self.and()?;
        while self.tokens.get(self.pos) == Some(&Tok::Or) {
            self.pos += 1;
            let rhs = self.and()?;
            acc = union(acc, rhs);
        }
        Some(acc)
    }

    fn and(&mut self) -> Option<Literals> {
        let mut acc = self.not()?;
        while self.tokens.get(self.pos) == Some(&Tok::And) {
            self.pos += 1;
            let rhs = self.not()?;
            acc = best(acc, rhs);
        }
        Some(acc)
    }

    fn not(&mut self) -> Option<Literals> {
        if self.tokens.get(self.pos) == Some(&Tok::Not) {
            self.pos += 1;
            self.not()?;
            return Some(None);
        }
        self.atom()
    }

    fn atom(&mut self) -> Option<Literals> {
        let tok = self.tokens.get(self.pos)?.clone();
        self.pos += 1;
        match tok {
            Tok::Open => {
                let inner = self.or()?;
                if self.tokens.get(self.pos) != Some(&Tok::Close) {
                    return None;
                }
                self.pos += 1;
                Some(inner)
            }
            Tok::Name(n) => Some(self.sel.get(n.as_str()).and_then(selection)),
            Tok::OneOf(p) => {
                let mut acc: Literals = Some(Vec::new());
                let mut any = false;
                for v in self.matching(&p) {
                    any = true;
                    acc = union(acc, selection(v));
                }
                Some(if any { acc } else { None })
            }
            Tok::AllOf(p) => {
                Some(self.matching(&p).map(selection).fold(None, best))
            }
            _ => None,
        }
    }

    /// Selections named by `them` or a `name*` pattern.
    fn matching<'b>(
        &'b self,
        pat: &'b str,
    ) -> impl Iterator<Item = &'b Value> {
        self.sel.iter().filter_map(move |(k, v)| {
            let k = k.as_str()?;
            if k == "condition" || k == "timeframe" {
                return None;
            }
            let hit = if pat == "them" {
                true
            } else if let Some(prefix) = pat.strip_suffix('*') {
                k.starts_with(prefix)
            } else {
                k == pat
            };
            hit.then_some(v)
        })
    }
}

/// Either side may hold: both needed.
fn union(a: Literals, b: Literals) -> Literals {
    let mut a = a?;
    a.extend(b?);
    Some(a)
}

/// Both sides hold: either will do; take the more selective.
fn best(a: Literals, b: Literals) -> Literals {
    match (a, b) {
        (Some(a), Some(b)) => Some(if score(&b) > score(&a) { b } else { a }),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Shortest literal first (a short one matches many records), then
/// fewer literals.
fn score(l: &[String]) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = l.iter().map(String::len).min().unwrap_or(0);
    (shortest, std::cmp::Reverse(l.len()))
}

/// A selection: a keyword list (any), a field map (all fields), or a
/// list of field maps (any).
fn selection(v: &Value) -> Literals {
    match v {
        Value::Sequence(items) if items.iter().all(Value::is_mapping) => {
            items.iter().map(selection).fold(Some(Vec::new()), union)
        }
        Value::Sequence(items) => {
            items.iter().map(value_literal).fold(Some(Vec::new()), union)
        }
        Value::Mapping(m) => m
            .iter()
            .map(|(k, v)| field(k.as_str().unwrap_or(""), v))
            .fold(None, best),
        other => value_literal(other),
    }
}

/// One `field|modifiers: values` line.
fn field(key: &str, values: &Value) -> Literals {
    let mut all = false;
    for m in key.split('|').skip(1) {
        match m {
            "contains" | "startswith" | "endswith" | "cased" => {}
            "all" => all = true,
            _ => return None, // re, cidr, base64*, windash, exists, ...
        }
    }
    match values {
        Value::Sequence(items) if all => {
            items.iter().map(value_literal).fold(None, best)
        }
        Value::Sequence(items) => {
            items.iter().map(value_literal).fold(Some(Vec::new()), union)
        }
        v => value_literal(v),
    }
}

/// The longest literal run of a Sigma pattern (`*`, `?` are wildcards,
/// `\` escapes them), if it is ASCII and not empty.
fn value_literal(v: &Value) -> Literals {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    let mut best = String::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('*' | '?' | '\\')) => {
                cur.extend(chars.next());
            }
            '*' | '?' => {
                if cur.len() > best.len() {
                    best = std::mem::take(&mut cur);
                }
                cur.clear();
            }
            c => cur.push(c),
        }
    }
    if cur.len() > best.len() {
        best = cur;
    }
    (!best.is_empty() && best.is_ascii()).then(|| vec![best])
}

/// The rules for one kind of record, with their prefilter.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Rules evaluated on every record.
    pub always: Vec<usize>,
    /// Literal automaton (none when no rule has literals).
    ac: Option<AhoCorasick>,
    /// For each pattern of `ac`, the rules it stands for.
    pattern_rules: Vec<Vec<usize>>,
    /// Rules in all.
    pub len: usize,
}

impl Plan {
    /// Build for the rules `rules` (indexes into the rule set) with their
    /// literals.
    pub fn new<'a>(
        rules: impl Iterator<Item = (usize, &'a Literals)>,
    ) -> Plan {
        let mut always = Vec::new();
        let mut pats: Vec<String> = Vec::new();
        let mut pattern_rules: Vec<Vec<usize>> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut len = 0;
        for (i, lits) in rules {
            len += 1;
            match lits {
                None => always.push(i),
                Some(l) => {
                    for lit in l {
                        let lower = lit.to_ascii_lowercase();
                        let at =
                            *index.entry(lower.clone()).or_insert_with(|| {
                                pats.push(lower);
                                pattern_rules.push(Vec::new());
                                pats.len() - 1
                            });
                        if pattern_rules[at].last() != Some(&i) {
                            pattern_rules[at].push(i);
                        }
                    }
                }
            }
        }
        let ac = if pats.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&pats)
                .ok()
        };
        if ac.is_none() {
            // Could not build (never seen): evaluate everything.
            for r in pattern_rules.drain(..) {
                always.extend(r);
            }
            always.sort_unstable();
            always.dedup();
        }
        Plan { always, ac, pattern_rules, len }
    }

    /// Whether no rule applies.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Push into `out` the rules whose literals `hay` holds (each once:
    /// `seen` is scratch space, stamped with `stamp`).
    pub fn candidates(
        &self,
        hay: &[u8],
        seen: &mut Stamps,
        out: &mut Vec<usize>,
    ) {
        out.clear();
        seen.next();
        out.extend(self.always.iter().copied());
        let Some(ac) = &self.ac else { return };
        for m in ac.find_overlapping_iter(hay) {
            for &r in &self.pattern_rules[m.pattern().as_usize()] {
                if seen.mark(r) {
                    out.push(r);
                }
            }
        }
    }
}

/// "Already listed" marks without clearing an array per record.
#[derive(Debug, Default)]
pub(crate) struct Stamps {
    marks: Vec<u32>,
    stamp: u32,
}

impl Stamps {
    fn next(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.marks.iter_mut().for_each(|m| *m = 0);
            self.stamp = 1;
        }
    }

    /// Mark `i`; `true` if it was not marked yet.
    fn mark(&mut self, i: usize) -> bool {
        if i >= self.marks.len() {
            self.marks.resize(i + 1, 0);
        }
        let fresh = self.marks[i] != self.stamp;
        self.marks[i] = self.stamp;
        fresh
    }
}
