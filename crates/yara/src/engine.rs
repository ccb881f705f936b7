//! The yara-x side of the crate: compiling sources one by one into
//! namespaces, and scanning with per-thread scanners.

use std::collections::BTreeMap;
use std::time::Duration;

use vigie_model::{ItemError, ItemErrorKind};

use crate::{
    FileContext, GLOBALS, LoadSummary, MAX_SCAN_SIZE, RuleMatch, RuleSource,
    YaraError,
};

/// Compiled rules and where each namespace came from.
pub struct Compiled {
    rules: yara_x::Rules,
    origins: BTreeMap<String, String>,
}

/// Compile each source into its own namespace, so two files may define
/// rules of the same name and one broken file does not spoil the rest.
pub fn compile(
    sources: &[RuleSource],
) -> (Compiled, LoadSummary, Vec<ItemError>) {
    let mut c = yara_x::Compiler::new();
    // Warnings cost compile time on large sets (yara-x#658) and are not
    // shown to users; legacy regex syntax is accepted as libyara did.
    c.switch_all_warnings(false);
    c.relaxed_re_syntax(true);
    for g in GLOBALS {
        // Defining a string global cannot fail for these names.
        let _ = c.define_global(g, "");
    }
    let mut summary = LoadSummary::default();
    let mut errors = Vec::new();
    let mut origins = BTreeMap::new();
    for (i, src) in sources.iter().enumerate() {
        let ns = namespace(i, &src.origin);
        c.new_namespace(&ns);
        let code = yara_x::SourceCode::from(src.text.as_str())
            .with_origin(src.origin.as_str());
        match c.add_source(code) {
            Ok(_) => {
                summary.sources_loaded += 1;
                origins.insert(ns, src.origin.clone());
            }
            Err(e) => {
                summary.sources_failed += 1;
                errors.push(ItemError::new(
                    src.origin.clone(),
                    ItemErrorKind::Config,
                    format!("YARA file not loaded: {}", first_lines(&e)),
                ));
            }
        }
    }
    let rules = c.build();
    summary.rules = rules.iter().len();
    (Compiled { rules, origins }, summary, errors)
}

/// The error's headline and location, without the source excerpt.
fn first_lines(e: &yara_x::errors::CompileError) -> String {
    let text = e.to_string();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|'))
        .take(2)
        .collect();
    lines.join(" ")
}

fn namespace(i: usize, origin: &str) -> String {
    let stem = origin
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("rules")
        .trim_end_matches(".yara")
        .trim_end_matches(".yar");
    let clean: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("f{i}_{clean}")
}

/// One worker's scanner.
pub struct Scanner<'r> {
    inner: yara_x::Scanner<'r>,
    origins: &'r BTreeMap<String, String>,
}

impl<'r> Scanner<'r> {
    pub fn new(compiled: &'r Compiled) -> Self {
        let mut inner = yara_x::Scanner::new(&compiled.rules);
        inner
            .set_timeout(Duration::from_secs(20))
            .max_scan_size(MAX_SCAN_SIZE);
        Scanner { inner, origins: &compiled.origins }
    }

    pub fn scan(
        &mut self,
        data: &[u8],
        file: &FileContext,
    ) -> Result<Vec<RuleMatch>, YaraError> {
        let filetype = file.extension.to_ascii_uppercase();
        let values = [
            ("filename", file.filename.as_str()),
            ("filepath", file.filepath.as_str()),
            ("extension", file.extension.as_str()),
            ("filetype", filetype.as_str()),
            ("owner", ""),
            ("md5", ""),
        ];
        for (name, value) in values {
            self.inner
                .set_global(name, value)
                .map_err(|e| YaraError::Scan(e.to_string()))?;
        }
        let results = self
            .inner
            .scan(data)
            .map_err(|e| YaraError::Scan(e.to_string()))?;
        Ok(results
            .matching_rules()
            .map(|r| {
                let namespace = r.namespace().to_string();
                let origin =
                    self.origins.get(&namespace).cloned().unwrap_or_default();
                RuleMatch {
                    rule: r.identifier().to_string(),
                    tags: r
                        .tags()
                        .map(|t| t.identifier().to_string())
                        .collect(),
                    meta: meta_map(r.metadata()),
                    namespace,
                    origin,
                }
            })
            .collect())
    }
}

fn meta_map(meta: yara_x::Metadata<'_, '_>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, value) in meta {
        let text = match value {
            yara_x::MetaValue::Integer(i) => i.to_string(),
            yara_x::MetaValue::Float(f) => f.to_string(),
            yara_x::MetaValue::Bool(b) => b.to_string(),
            yara_x::MetaValue::String(s) => s.to_string(),
            yara_x::MetaValue::Bytes(b) => {
                String::from_utf8_lossy(b.as_ref()).into_owned()
            }
        };
        // Several `hash` entries are common; keep the first of each key.
        out.entry(key.to_string()).or_insert(text);
    }
    out
}
