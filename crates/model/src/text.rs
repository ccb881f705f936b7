//! Making attacker-controlled text safe for the terminal and for CSV.
//!
//! Log lines, user agents, file names and HTTP headers are chosen by the
//! attacker. On a terminal, control characters could move the cursor or
//! rewrite earlier lines; in a spreadsheet, a cell starting with `=` runs
//! as a formula. HTML escaping lives with the HTML writer.

/// Replace control characters (C0, DEL, C1, and bidi overrides) with
/// visible escapes so the text cannot drive the terminal.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi =
            matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Neutralise a CSV cell that a spreadsheet would run as a formula, and
/// strip control characters.
///
/// Follows OWASP's advice: a cell starting with `=`, `+`, `-`, `@`, tab or
/// carriage return gets a leading single quote.
pub fn csv_safe(text: &str) -> String {
    let cleaned = terminal_safe(text);
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cleaned}"),
        _ => cleaned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escape_sequences_are_neutralised() {
        let s = terminal_safe("ok\x1b[2Jgone\u{202E}x");
        assert!(!s.contains('\x1b'));
        assert!(!s.contains('\u{202E}'));
        assert!(s.starts_with("ok"));
    }

    #[test]
    fn csv_formula_injection_is_neutralised() {
        assert_eq!(csv_safe("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_safe("@SUM(1)"), "'@SUM(1)");
        assert_eq!(csv_safe("plain"), "plain");
    }
}
