//! Which texts a record must hold for a rule to match it.
//!
//! Most records of a web server log match no rule; splitting each one
//! into fields and running every rule on it would cost far more than
//! vigie's own detectors. So each rule is reduced, where it can be, to
//! clauses: sets of literals such that any matching record holds at
//! least one literal of every clause (ASCII case ignored). Its condition
//! is walked: `and` keeps the clauses of both sides, `or` keeps one
//! clause (the union of each side's most selective one), `not` gives
//! nothing; a field gives one clause of its values' longest literal runs
//! (`|all`: one per value). One Aho-Corasick pass over a record marks the
//! clauses present; the rules whose clauses are all marked are evaluated,
//! plus the rules with no clause (regular expressions, transforms such as
//! `base64offset`, a bare `not`). The clauses are only a necessary
//! condition: `sigma-rust` still decides.

use aho_corasick::{
    AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind,
};
use serde_norway::{Mapping, Value};

/// Clauses a matching record satisfies (each: one of its literals is
/// present); none: every record is evaluated.
pub(crate) type Literals = Vec<Vec<String>>;

/// Most clauses kept per rule (the most selective).
const MAX_CLAUSES: usize = 8;

/// The clauses of a (normalised) detection.
pub(crate) fn literals(detection: &Value) -> Literals {
    let Value::Mapping(m) = detection else { return Vec::new() };
    let Some(cond) = m.get("condition").and_then(Value::as_str) else {
        return Vec::new();
    };
    let Some(tokens) = lex(cond) else { return Vec::new() };
    let mut p = Parser { tokens: &tokens, pos: 0, sel: m };
    match p.or() {
        Some(mut clauses) if p.pos == tokens.len() => {
            clauses.sort_by_key(|c| std::cmp::Reverse(score(c)));
            clauses.truncate(MAX_CLAUSES);
            clauses.into_iter().map(with_variants).collect()
        }
        _ => Vec::new(),
    }
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

/// Recursive descent over the condition; each level gives the clauses
/// of its sub-expression. `None`: not understood.
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
            acc = either(acc, rhs);
        }
        Some(acc)
    }

    fn and(&mut self) -> Option<Literals> {
        let mut acc = self.not()?;
        while self.tokens.get(self.pos) == Some(&Tok::And) {
            self.pos += 1;
            acc.extend(self.not()?);
        }
        Some(acc)
    }

    fn not(&mut self) -> Option<Literals> {
        if self.tokens.get(self.pos) == Some(&Tok::Not) {
            self.pos += 1;
            self.not()?;
            return Some(Vec::new());
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
            Tok::Name(n) => Some(
                self.sel.get(n.as_str()).map(selection).unwrap_or_default(),
            ),
            Tok::OneOf(p) => {
                let mut sels = self.matching(&p).map(selection);
                let first = sels.next().unwrap_or_default();
                Some(sels.fold(first, either))
            }
            Tok::AllOf(p) => {
                Some(self.matching(&p).flat_map(selection).collect())
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

/// Either side may hold: one clause, the union of each side's most
/// selective clause; nothing if a side has none.
fn either(a: Literals, b: Literals) -> Literals {
    let (Some(a), Some(b)) = (most_selective(a), most_selective(b)) else {
        return Vec::new();
    };
    let mut c = a;
    c.extend(b);
    vec![c]
}

fn most_selective(c: Literals) -> Option<Vec<String>> {
    c.into_iter().max_by_key(|c| score(c))
}

/// Shortest literal first (a short one is in many records), then fewer
/// literals.
fn score(l: &[String]) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = l.iter().map(String::len).min().unwrap_or(0);
    (shortest, std::cmp::Reverse(l.len()))
}

/// One clause: any of these values' literals; none if one has none.
fn any_of<'a>(values: impl Iterator<Item = &'a Value>) -> Literals {
    let mut clause = Vec::new();
    for v in values {
        match value_literal(v) {
            Some(l) => clause.push(l),
            None => return Vec::new(),
        }
    }
    if clause.is_empty() { Vec::new() } else { vec![clause] }
}

/// A selection: a keyword list (any), a field map (all fields), or a
/// list of field maps (any).
fn selection(v: &Value) -> Literals {
    match v {
        Value::Sequence(items) if items.iter().all(Value::is_mapping) => {
            let mut maps = items.iter().map(selection);
            let first = maps.next().unwrap_or_default();
            maps.fold(first, either)
        }
        Value::Sequence(items) => any_of(items.iter()),
        Value::Mapping(m) => m
            .iter()
            .flat_map(|(k, v)| field(k.as_str().unwrap_or(""), v))
            .collect(),
        other => any_of(std::iter::once(other)),
    }
}

/// One `field|modifiers: values` line.
fn field(key: &str, values: &Value) -> Literals {
    let mut all = false;
    for m in key.split('|').skip(1) {
        match m {
            "contains" | "startswith" | "endswith" | "cased" => {}
            "all" => all = true,
            _ => return Vec::new(), // re, cidr, base64*, windash, exists, ...
        }
    }
    match values {
        Value::Sequence(items) if all => {
            items.iter().flat_map(|v| any_of(std::iter::once(v))).collect()
        }
        Value::Sequence(items) => any_of(items.iter()),
        v => any_of(std::iter::once(v)),
    }
}

/// The longest literal run of a Sigma pattern (`*`, `?` are wildcards,
/// `\` escapes them), if it is ASCII and not empty.
fn value_literal(v: &Value) -> Option<String> {
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
    (!best.is_empty() && best.is_ascii()).then_some(best)
}

/// The rules for one kind of record, with their prefilter.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Rules evaluated on every record.
    pub always: Vec<usize>,
    /// Literal automaton (none when no rule has clauses).
    ac: Option<AhoCorasick>,
    /// For each pattern of `ac`, the (rule, clause bit) it satisfies.
    pattern_clauses: Vec<Vec<(usize, u8)>>,
    /// For each rule (by index in the set), the bits of all its clauses.
    full: Vec<u8>,
    /// Rules in all.
    pub len: usize,
}

impl Plan {
    /// Build for the rules `rules` (indexes into the rule set) with their
    /// clauses.
    pub fn new<'a>(
        rules: impl Iterator<Item = (usize, &'a Literals)>,
    ) -> Plan {
        let mut always = Vec::new();
        let mut pats: Vec<String> = Vec::new();
        let mut pattern_clauses: Vec<Vec<(usize, u8)>> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut full = Vec::new();
        let mut len = 0;
        for (i, clauses) in rules {
            len += 1;
            if clauses.is_empty() {
                always.push(i);
                continue;
            }
            if full.len() <= i {
                full.resize(i + 1, 0);
            }
            for (bit, clause) in clauses.iter().take(MAX_CLAUSES).enumerate() {
                full[i] |= 1 << bit;
                for lit in clause {
                    let lower = lit.to_ascii_lowercase();
                    let at =
                        *index.entry(lower.clone()).or_insert_with(|| {
                            pats.push(lower);
                            pattern_clauses.push(Vec::new());
                            pats.len() - 1
                        });
                    if !pattern_clauses[at].contains(&(i, bit as u8)) {
                        pattern_clauses[at].push((i, bit as u8));
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
                .kind(Some(AhoCorasickKind::DFA))
                .build(&pats)
                .ok()
        };
        if ac.is_none() {
            // Could not build (never seen): evaluate everything.
            for (i, &bits) in full.iter().enumerate() {
                if bits != 0 {
                    always.push(i);
                }
            }
            always.sort_unstable();
            always.dedup();
            pattern_clauses.clear();
        }
        Plan { always, ac, pattern_clauses, full, len }
    }

    /// Whether no rule applies.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Put into `out` the rules to evaluate on `hay`: those with no
    /// clause, and those whose every clause has a literal in `hay`.
    /// `seen` is scratch space.
    pub fn candidates(
        &self,
        hay: &[u8],
        seen: &mut Stamps,
        out: &mut Vec<usize>,
    ) {
        let pats = self.ac.iter().flat_map(|ac| {
            ac.find_overlapping_iter(hay).map(|m| m.pattern().as_usize())
        });
        self.candidates_of(pats, seen, out);
    }

    /// Every literal found in `block` as (start offset, pattern), in
    /// offset order, into `out`.
    pub fn hits(&self, block: &[u8], out: &mut Vec<(usize, usize)>) {
        out.clear();
        let Some(ac) = &self.ac else { return };
        out.extend(
            ac.find_overlapping_iter(block)
                .map(|m| (m.start(), m.pattern().as_usize())),
        );
        out.sort_unstable();
    }

    /// [`Plan::candidates`] from the patterns found in one record.
    pub fn candidates_of(
        &self,
        pats: impl Iterator<Item = usize>,
        seen: &mut Stamps,
        out: &mut Vec<usize>,
    ) {
        out.clear();
        seen.next();
        out.extend(self.always.iter().copied());
        for p in pats {
            for &(r, bit) in &self.pattern_clauses[p] {
                let bits = seen.mark(r, bit);
                if bits == self.full[r] && seen.take(r) {
                    out.push(r);
                }
            }
        }
    }
}

/// Per record, the clause bits seen per rule, without clearing an array
/// per record (each entry is stamped with the record it belongs to).
#[derive(Debug, Default)]
pub(crate) struct Stamps {
    marks: Vec<(u32, u8, bool)>,
    stamp: u32,
}

impl Stamps {
    fn next(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.marks.iter_mut().for_each(|m| *m = (0, 0, false));
            self.stamp = 1;
        }
    }

    fn entry(&mut self, i: usize) -> &mut (u32, u8, bool) {
        if i >= self.marks.len() {
            self.marks.resize(i + 1, (0, 0, false));
        }
        let e = &mut self.marks[i];
        if e.0 != self.stamp {
            *e = (self.stamp, 0, false);
        }
        e
    }

    /// Add clause `bit` of rule `i`; its bits so far.
    fn mark(&mut self, i: usize, bit: u8) -> u8 {
        let e = self.entry(i);
        e.1 |= 1 << bit;
        e.1
    }

    /// `true` the first time rule `i` is taken for this record.
    fn take(&mut self, i: usize) -> bool {
        let e = self.entry(i);
        let fresh = !e.2;
        e.2 = true;
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clauses(yaml: &str) -> Literals {
        let mut v: Literals = literals(&serde_norway::from_str(yaml).unwrap());
        v.iter_mut().for_each(|c| c.sort());
        v.sort();
        v
    }

    #[test]
    fn and_keeps_every_side_or_merges_not_gives_nothing() {
        let d = "sel:\n  cs-method: GET\n  cs-uri-stem|contains: \
                 ['/a.aspx', '*/b?.aspx']\nfilter:\n  sc-status: '404'\n";
        let c = |cond: &str| clauses(&format!("{d}condition: {cond}\n"));
        assert_eq!(
            c("sel and not filter"),
            [vec![".aspx", "/a.aspx"], vec!["GET"]]
        );
        assert_eq!(c("sel or filter"), [vec![".aspx", "/a.aspx", "404"]]);
        assert_eq!(c("not filter"), Vec::<Vec<String>>::new());
        assert_eq!(
            c("all of them"),
            [vec![".aspx", "/a.aspx"], vec!["404"], vec!["GET"]]
        );
    }

    #[test]
    fn regexes_and_transforms_give_no_clause_spaces_get_variants() {
        let c = clauses(
            "a:\n  x|re: 'ab+c'\nb:\n  y|base64offset|contains: zz\n\
             condition: a or b\n",
        );
        assert!(c.is_empty());
        let c = clauses("k:\n  - '*union select*'\ncondition: k\n");
        assert_eq!(
            c,
            [vec!["union select", "union%20select", "union+select"]]
        );
    }
}
