//! Build strings in every form seen in the wild, parsed to integers.
//!
//! Exchange builds are compared as integer tuples, never as text or as
//! floating point numbers: HealthChecker once compared `build.revision` as
//! doubles and read `1913,1` for `1913.10` on some locales.

use std::fmt;

use vigie_model::build::Precision;

use crate::error::BuildError;

/// A parsed build number: 2, 3 or 4 parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParsedBuild {
    /// 14 or 15.
    pub major: u32,
    /// 3 for 2010 SP3; 0, 1, 2 for 2013, 2016, 2019/SE.
    pub minor: u32,
    /// The CU or rollup build (third part), if given.
    pub build: Option<u32>,
    /// The revision (fourth part, moves with SUs), if given.
    pub revision: Option<u32>,
}

impl ParsedBuild {
    /// How much of the build the input revealed.
    pub fn precision(&self) -> Precision {
        match (self.build, self.revision) {
            (Some(_), Some(_)) => Precision::Exact,
            (Some(_), None) => Precision::CuOnly,
            _ => Precision::ProductOnly,
        }
    }

    /// The four parts, when all are known.
    pub fn full(&self) -> Option<[u32; 4]> {
        Some([self.major, self.minor, self.build?, self.revision?])
    }
}

impl fmt::Display for ParsedBuild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if let Some(b) = self.build {
            write!(f, ".{b}")?;
        }
        if let Some(r) = self.revision {
            write!(f, ".{r}")?;
        }
        Ok(())
    }
}

/// Longest input accepted: real build strings are under 40 characters.
const MAX_INPUT: usize = 100;

/// Parse a build string.
///
/// Accepts `15.1.2176.9`, the padded `15.01.2176.009`, the
/// AdminDisplayVersion form `Version 15.1 (Build 2176.9)`, CU-only
/// `15.1.2176`, product-only `15.1`, and Exchange 2010 `14.3.513.0`.
pub fn parse_build(input: &str) -> Result<ParsedBuild, BuildError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(BuildError::Empty);
    }
    if text.len() > MAX_INPUT {
        return Err(syntax("longer than any build number"));
    }
    let dotted = admin_display_version(text)
        .unwrap_or_else(|| strip_prefix(text).to_string());
    let parts = split_parts(&dotted)?;
    let parsed = ParsedBuild {
        major: parts[0],
        minor: parts[1],
        build: parts.get(2).copied(),
        revision: parts.get(3).copied(),
    };
    check_product(&parsed)?;
    Ok(parsed)
}

fn syntax(reason: &str) -> BuildError {
    BuildError::Syntax { reason: reason.to_string() }
}

/// `v15.1.2176.9` and `Version 15.1.2176.9` are seen in scripts' output.
fn strip_prefix(text: &str) -> &str {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("version ") {
        text[8..].trim()
    } else if lower.starts_with('v') {
        &text[1..]
    } else {
        text
    }
}

/// `Version 15.1 (Build 2176.9)` -> `15.1.2176.9`.
fn admin_display_version(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let rest = lower.strip_prefix("version")?.trim_start();
    let (product, tail) = rest.split_once('(')?;
    let inner = tail.trim().strip_suffix(')')?.trim();
    let build = inner.strip_prefix("build")?.trim();
    Some(format!("{}.{}", product.trim(), build))
}

fn split_parts(dotted: &str) -> Result<Vec<u32>, BuildError> {
    let pieces: Vec<&str> = dotted.split('.').collect();
    if !(2..=4).contains(&pieces.len()) {
        return Err(syntax("expected 2 to 4 dot-separated numbers"));
    }
    pieces.iter().map(|p| parse_part(p)).collect()
}

fn parse_part(piece: &str) -> Result<u32, BuildError> {
    if piece.is_empty() || !piece.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax("each part must be a decimal number"));
    }
    // Each part is 16 bits in the PE version resource.
    match piece.parse::<u32>() {
        Ok(n) if n <= u32::from(u16::MAX) => Ok(n),
        _ => Err(syntax("a part is larger than 65535")),
    }
}

fn check_product(p: &ParsedBuild) -> Result<(), BuildError> {
    match (p.major, p.minor) {
        (14, 3) | (15, 0..=2) => Ok(()),
        (major, minor) => Err(BuildError::UnknownProduct { major, minor }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(s: &str) -> Option<[u32; 4]> {
        parse_build(s).unwrap().full()
    }

    #[test]
    fn every_form_seen_in_the_wild_parses() {
        let want = Some([15, 1, 2176, 9]);
        assert_eq!(full("15.1.2176.9"), want);
        assert_eq!(full("15.01.2176.009"), want);
        assert_eq!(full("Version 15.1 (Build 2176.9)"), want);
        assert_eq!(full("  version 15.1 (build 2176.9) "), want);
        assert_eq!(full("v15.1.2176.9"), want);
        assert_eq!(full("14.3.513.0"), Some([14, 3, 513, 0]));
    }

    #[test]
    fn precision_follows_the_number_of_parts() {
        let p = parse_build("15.1.2176").unwrap();
        assert_eq!(p.precision(), Precision::CuOnly);
        assert_eq!(p.to_string(), "15.1.2176");
        let p = parse_build("15.2").unwrap();
        assert_eq!(p.precision(), Precision::ProductOnly);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            "",
            "  ",
            "15",
            "abc",
            "15.1.x.9",
            "15..1",
            "15.1.2176.9.1",
            "15.1.99999.1",
            "16.0.1.1",
            "8.0.685.25",
            "Version 15.1 (Build)",
            "-15.1.1.1",
            "15.1.2176.9 ",
        ] {
            let r = parse_build(bad);
            if bad == "15.1.2176.9 " {
                assert!(r.is_ok());
            } else {
                assert!(r.is_err(), "{bad:?} parsed");
            }
        }
    }
}
