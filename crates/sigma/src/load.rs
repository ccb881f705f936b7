//! One rule file to one loaded rule, or to the reason it did not load.
//!
//! The YAML is read once into a tree, classified (correlation and filter
//! rules, rule collections and non-rules are named as such rather than
//! failing inside the engine), adjusted where `sigma-rust` departs from
//! what SigmaHQ's rules expect (see [`normalise`]), then handed to
//! `sigma-rust`, whose errors are sorted into short reasons that can be
//! counted.

use std::path::{Path, PathBuf};

use serde_norway::{Mapping, Value};
use vigie_model::Severity;
use vigie_model::hunt::SkippedSigmaRule;

use crate::MAX_RULE_FILE;
use crate::prefilter::{self, Literals};
use crate::source::Target;

/// A rule that loaded, with what a finding keeps of it.
#[derive(Debug)]
pub struct SigmaRule {
    pub(crate) rule: sigma_rust::Rule,
    /// Metadata for findings.
    pub meta: RuleMeta,
    pub(crate) target: Target,
    /// Texts one of which a record must hold to match (ASCII case
    /// ignored); `None`: every record is evaluated.
    pub(crate) literals: Literals,
}

/// What a finding keeps of its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMeta {
    /// The rule's `id` (the file name when it has none).
    pub id: String,
    /// The rule's `title`.
    pub title: String,
    /// The rule's `author`.
    pub author: Option<String>,
    /// The rule's `level`, lower case (`medium` when absent).
    pub level: String,
    /// The level as vigie's severity.
    pub severity: Severity,
    /// The rule's `references`.
    pub references: Vec<String>,
    /// The rule's `tags`.
    pub tags: Vec<String>,
    /// ATT&CK technique ids from the tags (`attack.t1505.003` ->
    /// `T1505.003`).
    pub attack: Vec<String>,
    /// CVE ids from the tags (`cve.2021-26855` -> `CVE-2021-26855`).
    pub cves: Vec<String>,
    /// The rule file.
    pub path: PathBuf,
}

/// Why a file is skipped: the reason's class and the full message.
struct Skip {
    reason: String,
    detail: String,
}

fn skip(reason: impl Into<String>, detail: impl Into<String>) -> Skip {
    Skip { reason: reason.into(), detail: detail.into() }
}

/// Load one rule file.
pub(crate) fn load_file(path: &Path) -> Result<SigmaRule, SkippedSigmaRule> {
    let listed = |s: Skip, title: Option<String>| SkippedSigmaRule {
        path: path.display().to_string(),
        title,
        reason: s.reason,
        detail: s.detail,
    };
    let text = read_text(path).map_err(|s| listed(s, None))?;
    parse_rule(&text, path).map_err(|(s, title)| SkippedSigmaRule {
        path: path.display().to_string(),
        title,
        reason: s.0,
        detail: s.1,
    })
}

fn read_text(path: &Path) -> Result<String, Skip> {
    let meta = std::fs::metadata(path)
        .map_err(|e| skip("unreadable file", e.to_string()))?;
    if meta.len() > MAX_RULE_FILE {
        return Err(skip(
            "file too large",
            format!("{} bytes, more than {MAX_RULE_FILE}", meta.len()),
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| skip("unreadable file", e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| skip("not UTF-8 text", e.to_string()))
}

/// Parse one rule's YAML text (`path` names it in metadata). On failure:
/// `((reason, detail), title)`.
#[allow(clippy::type_complexity)]
pub fn parse_rule(
    text: &str,
    path: &Path,
) -> Result<SigmaRule, ((String, String), Option<String>)> {
    let fail = |s: Skip, t: Option<String>| ((s.reason, s.detail), t);
    let mut value = one_document(text).map_err(|s| fail(s, None))?;
    let title = value.get("title").and_then(Value::as_str).map(str::to_string);
    classify(&value).map_err(|s| fail(s, title.clone()))?;
    if let Some(Value::Mapping(d)) = value.get_mut("detection") {
        normalise(d);
    }
    let detection = value.get("detection").cloned().unwrap_or(Value::Null);
    let meta = meta(&value, path);
    let target = Target::from_logsource(value.get("logsource"));
    let rule: sigma_rust::Rule = serde_norway::from_value(value)
        .map_err(|e| fail(engine_reason(&e.to_string()), title.clone()))?;
    let literals = prefilter::literals(&detection);
    Ok(SigmaRule { rule, meta, target, literals })
}

/// The one YAML document of a file.
fn one_document(text: &str) -> Result<Value, Skip> {
    use serde::Deserialize;
    let mut docs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(text) {
        let v = Value::deserialize(doc)
            .map_err(|e| skip("bad YAML", e.to_string()))?;
        if !v.is_null() {
            docs.push(v);
        }
        if docs.len() > 1 {
            return Err(skip(
                "rule collection (several YAML documents)",
                "Sigma 1 `action: global` collections are not read; \
                 write one rule per file",
            ));
        }
    }
    docs.pop().ok_or_else(|| skip("not a Sigma rule", "empty file"))
}

/// Name what is not a plain detection rule.
fn classify(v: &Value) -> Result<(), Skip> {
    if !v.is_mapping() {
        return Err(skip("not a Sigma rule", "the YAML is not a mapping"));
    }
    if v.get("correlation").is_some() {
        return Err(skip(
            "correlation rule",
            "correlation rules (event_count, value_count, temporal) are not \
             supported by sigma-rust, vigie's Sigma engine",
        ));
    }
    if v.get("filter").is_some() && v.get("detection").is_none() {
        return Err(skip(
            "filter rule",
            "Sigma meta filters (filter:) are not applied; fold the \
             exclusion into the rule it tunes",
        ));
    }
    for key in ["title", "logsource", "detection"] {
        if v.get(key).is_none() {
            return Err(skip("not a Sigma rule", format!("no `{key}` key")));
        }
    }
    Ok(())
}

/// Sort `sigma-rust`'s errors into countable reasons.
fn engine_reason(msg: &str) -> Skip {
    let quoted = |after: &str| {
        msg.split(after)
            .nth(1)
            .and_then(|r| r.split('\'').nth(1))
            .unwrap_or("?")
            .to_string()
    };
    let reason = if msg.contains("Unknown field modifier") {
        format!("unsupported modifier: {}", quoted("Unknown field modifier"))
    } else if msg.contains("regular expression") {
        "regular expression not supported".to_string()
    } else if msg.contains("undefined identifiers") {
        "condition names an undefined selection".to_string()
    } else if msg.contains("in condition")
        || msg.contains("closing parenthesis")
    {
        "condition not understood".to_string()
    } else if msg.contains("unknown variant") {
        "invalid metadata value".to_string()
    } else if msg.contains("missing field") {
        "missing field".to_string()
    } else {
        "invalid detection".to_string()
    };
    skip(reason, msg.to_string())
}

/// Adjust a rule's detection where `sigma-rust` departs from what
/// SigmaHQ's rules expect:
/// - numbers become strings (`EventID: 4688`, `sc-status: 404`):
///   `sigma-rust` compares types strictly, and vigie's records are text;
///   order comparisons (`gt`, `lt`, ...) keep their numbers;
/// - keywords (a selection that is a plain list) match anywhere inside a
///   value, as in Sigma's other tools, where `sigma-rust` would compare
///   whole values: each keyword gets `*` on both ends.
fn normalise(detection: &mut Mapping) {
    for (key, sel) in detection.iter_mut() {
        if matches!(key.as_str(), Some("condition" | "timeframe")) {
            continue;
        }
        match sel {
            Value::Sequence(items)
                if items.iter().all(|i| !i.is_mapping()) =>
            {
                for item in items {
                    keyword(item);
                }
            }
            Value::Sequence(items) => {
                for item in items {
                    if let Value::Mapping(m) = item {
                        fields(m);
                    }
                }
            }
            Value::Mapping(m) => fields(m),
            other => keyword(other),
        }
    }
}

fn fields(m: &mut Mapping) {
    for (key, value) in m.iter_mut() {
        let name = key.as_str().unwrap_or("");
        let ordered = name
            .split('|')
            .skip(1)
            .any(|m| matches!(m, "gt" | "gte" | "lt" | "lte"));
        if ordered {
            continue;
        }
        match value {
            Value::Sequence(items) => items.iter_mut().for_each(stringify),
            v => stringify(v),
        }
    }
}

fn stringify(v: &mut Value) {
    if let Value::Number(n) = v {
        *v = Value::String(n.to_string());
    }
}

fn keyword(v: &mut Value) {
    stringify(v);
    if let Value::String(s) = v {
        let mut out = String::with_capacity(s.len() + 3);
        if !s.starts_with('*') {
            out.push('*');
        }
        out.push_str(s);
        let trailing = s.chars().rev().take_while(|&c| c == '\\').count();
        if !s.ends_with('*') || trailing % 2 == 1 {
            if trailing % 2 == 1 {
                // a lone trailing backslash would escape the added `*`
                out.push('\\');
            }
            out.push('*');
        }
        *s = out;
    }
}

/// The metadata a finding keeps.
fn meta(v: &Value, path: &Path) -> RuleMeta {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let list = |k: &str| -> Vec<String> {
        match v.get(k) {
            Some(Value::Sequence(s)) => s
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    let level = text("level")
        .map(|l| l.to_ascii_lowercase())
        .unwrap_or_else(|| "medium".into());
    let tags = list("tags");
    let id = text("id").unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    RuleMeta {
        id,
        title: text("title").unwrap_or_default(),
        author: text("author"),
        severity: severity(&level),
        level,
        references: list("references"),
        attack: tags.iter().filter_map(|t| attack_id(t)).collect(),
        cves: tags.iter().filter_map(|t| cve_id(t)).collect(),
        tags,
        path: path.to_path_buf(),
    }
}

/// Sigma's level as vigie's severity (the two scales have the same five
/// steps).
pub(crate) fn severity(level: &str) -> Severity {
    match level {
        "informational" => Severity::Info,
        "low" => Severity::Low,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        _ => Severity::Medium,
    }
}

fn attack_id(tag: &str) -> Option<String> {
    let t = tag.to_ascii_lowercase();
    let id = t.strip_prefix("attack.t")?;
    let ok = id.chars().next()?.is_ascii_digit()
        && id.chars().all(|c| c.is_ascii_digit() || c == '.');
    ok.then(|| format!("T{id}"))
}

fn cve_id(tag: &str) -> Option<String> {
    let t = tag.to_ascii_lowercase();
    let id = t.strip_prefix("cve.")?;
    Some(format!("CVE-{}", id.to_ascii_uppercase()))
}
