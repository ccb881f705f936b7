//! XML configuration files read with `roxmltree`: size limit, BOM, and a
//! named error with the line for anything not well-formed (HealthChecker
//! reports such files as "Invalid Configuration File"; so does vigie).

use std::path::{Path, PathBuf};

use roxmltree::{Document, Node, ParsingOptions};

use crate::error::{HealthError, read_limited};

/// Largest configuration file read. Genuine SharedWebConfig.config files
/// are under 2 MB; applicationHost.config on a busy server a few MB.
pub const MAX_CONFIG: u64 = 64 << 20;

/// One configuration file's text, ready to parse.
#[derive(Debug, Clone)]
pub struct ConfigText {
    /// Where it was read.
    pub path: PathBuf,
    /// Its text (BOM removed).
    pub text: String,
}

impl ConfigText {
    /// Read a configuration file.
    pub fn read(path: &Path) -> Result<ConfigText, HealthError> {
        let bytes = read_limited(path, MAX_CONFIG)?;
        Ok(ConfigText::from_bytes(path, &bytes))
    }

    /// Wrap bytes already read (UTF-8, BOM dropped; invalid bytes become
    /// U+FFFD so the parser, not the decoder, names the fault).
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> ConfigText {
        let rest = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
        ConfigText {
            path: path.to_path_buf(),
            text: String::from_utf8_lossy(rest).into_owned(),
        }
    }

    /// Parse it.
    pub fn parse(&self) -> Result<Document<'_>, HealthError> {
        let opt = ParsingOptions {
            allow_dtd: false,
            nodes_limit: 4_000_000,
            ..ParsingOptions::default()
        };
        Document::parse_with_options(&self.text, opt).map_err(|e| {
            HealthError::Xml {
                path: self.path.clone(),
                line: e.pos().row,
                message: e.to_string(),
            }
        })
    }
}

/// Child elements named `name` (case-sensitive, as IIS is).
pub fn children<'a, 'i>(
    node: Node<'a, 'i>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| c.is_element() && c.has_tag_name(name))
}

/// The first element at a `/`-separated path below `node`.
pub fn at<'a, 'i>(node: Node<'a, 'i>, path: &str) -> Option<Node<'a, 'i>> {
    let mut cur = node;
    for part in path.split('/').filter(|p| !p.is_empty()) {
        cur =
            cur.children().find(|c| c.is_element() && c.has_tag_name(part))?;
    }
    Some(cur)
}

/// An attribute at a path (`system.webServer/security/access`, `sslFlags`).
pub fn attr_at<'a>(
    node: Node<'a, '_>,
    path: &str,
    attr: &str,
) -> Option<&'a str> {
    at(node, path)?.attribute(attr)
}
