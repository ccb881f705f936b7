//! Where a history lives: an SQLite file (the default) or a PostgreSQL
//! database named by a `postgres://` / `postgresql://` URL, and how it is
//! shown to people: with any password in the URL replaced by `***`, so
//! that no error, log line or progress message ever prints one.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a history database is.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file.
    File(PathBuf),
    /// A PostgreSQL database, by its connection URL (kept whole to
    /// connect; shown only redacted).
    Postgres(String),
}

/// URL schemes that name a PostgreSQL database.
const SCHEMES: [&str; 2] = ["postgres://", "postgresql://"];

impl Location {
    /// What a `--db` argument names: a URL with a PostgreSQL scheme is
    /// a server, anything else a file.
    pub fn parse(given: &Path) -> Location {
        match given.to_str() {
            Some(text) if is_postgres_url(text) => {
                Location::Postgres(text.to_string())
            }
            _ => Location::File(given.to_path_buf()),
        }
    }

    /// The location as it may be shown: the file path, or the URL with
    /// its password redacted.
    pub fn redacted(&self) -> String {
        match self {
            Location::File(p) => p.display().to_string(),
            Location::Postgres(url) => redact_url(url),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for Location {
    // Debug output lands in logs and panics too: redacted as well.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(p) => write!(f, "File({p:?})"),
            Location::Postgres(_) => {
                write!(f, "Postgres({:?})", self.redacted())
            }
        }
    }
}

/// Whether `text` is a PostgreSQL URL (scheme case-insensitive).
pub fn is_postgres_url(text: &str) -> bool {
    SCHEMES.iter().any(|s| {
        text.len() >= s.len()
            && text.is_char_boundary(s.len())
            && text[..s.len()].eq_ignore_ascii_case(s)
    })
}

/// `url` with the password of its user part (`user:secret@`) and any
/// `password=` query parameter replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[start..];
    // The authority ends at the path or the query; its user part ends
    // at the last `@` (a password may itself hold `@` when unescaped).
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let mut out = url[..start].to_string();
    match authority.rfind('@') {
        Some(at) => {
            let user = &authority[..at];
            match user.find(':') {
                Some(colon) => {
                    out.push_str(&user[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(user),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    out.push_str(&redact_query(&rest[end..]));
    out
}

/// `password=...` values of a URL tail (`/db?a=b&password=c`) hidden.
fn redact_query(tail: &str) -> String {
    let Some(q) = tail.find('?') else {
        return tail.to_string();
    };
    let (path, query) = tail.split_at(q + 1);
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => {
                format!("{k}=***")
            }
            _ => p.to_string(),
        })
        .collect();
    format!("{path}{}", params.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_shown() {
        let cases = [
            (
                "postgres://vigie:s3cret@db.example:5432/hist",
                "postgres://vigie:***@db.example:5432/hist",
            ),
            (
                "postgresql://u:p@ss@w0rd@h/db?sslmode=disable",
                "postgresql://u:***@h/db?sslmode=disable",
            ),
            (
                "postgres://u@h/db?password=s3cret&application_name=x",
                "postgres://u@h/db?password=***&application_name=x",
            ),
            ("postgres://h:5432/db", "postgres://h:5432/db"),
            ("postgres://u:pw@h", "postgres://u:***@h"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown);
            let loc = Location::parse(Path::new(url));
            assert_eq!(loc.to_string(), shown);
            assert!(!format!("{loc:?}").contains("s3cret"));
        }
    }

    #[test]
    fn only_postgres_schemes_are_servers() {
        assert!(matches!(
            Location::parse(Path::new("POSTGRESQL://h/db")),
            Location::Postgres(_)
        ));
        for file in ["vigie.db", "postgres", "./postgres://x", "mysql://h/db"]
        {
            assert_eq!(
                Location::parse(Path::new(file)),
                Location::File(file.into())
            );
        }
    }
}
