//! `--live` (hunt and check): the Windows server vigie runs on. Discovery
//! is `vigie-live`'s; here it is announced on stderr, and, when vigie is
//! not elevated, what could not be read for lack of rights is said once.

use vigie_live::Layout;
use vigie_model::ItemError;

/// Refused before any I/O where there is no live Windows server to read.
pub fn ensure_supported(what: &str) -> anyhow::Result<()> {
    if cfg!(windows) {
        return Ok(());
    }
    anyhow::bail!(
        "{what} --live reads the Windows server vigie runs on; on this system, copy \
         the server's C:\\ (or mount its image) and give its path instead"
    )
}

/// The live server's layout, each place announced on stderr.
#[cfg(windows)]
pub fn layout(what: &str) -> Layout {
    let layout = Layout::discover(&vigie_live::windows::Live);
    for note in layout.notes() {
        eprintln!("{what}: {}", vigie_model::terminal_safe(&note));
    }
    layout
}

/// Never called off Windows ([`ensure_supported`] refuses first).
#[cfg(not(windows))]
pub fn layout(_what: &str) -> Layout {
    unreachable!("--live is refused off Windows before discovery")
}

/// Whether vigie runs elevated (`None`: unknown, or not Windows).
pub fn elevated() -> Option<bool> {
    #[cfg(windows)]
    return vigie_live::windows::elevated();
    #[cfg(not(windows))]
    None
}

/// Without administrator rights, one sentence naming what could not be
/// read because access was denied (at most five, then a count).
pub fn rights_note(
    what: &str,
    elevated: Option<bool>,
    errors: &[ItemError],
) -> Option<String> {
    if elevated != Some(false) {
        return None;
    }
    let denied: Vec<&str> = errors
        .iter()
        .filter(|e| {
            let m = e.message.to_ascii_lowercase();
            m.contains("denied") || m.contains("os error 5)")
        })
        .map(|e| e.subject.as_str())
        .collect();
    let what_failed = match denied.len() {
        0 => "everything it looked for was readable".to_string(),
        n => {
            let shown: Vec<&str> = denied.iter().take(5).copied().collect();
            let more = if n > 5 {
                format!(" and {} more", n - 5)
            } else {
                String::new()
            };
            format!("could not read {}{more}", shown.join(", "))
        }
    };
    Some(format!(
        "{what}: not running as administrator: {what_failed}; run it from an elevated \
         prompt (Run as administrator) to read every log"
    ))
}

#[cfg(test)]
mod tests {
    use vigie_model::ItemErrorKind;

    use super::*;

    #[test]
    fn rights_note_only_when_not_elevated_and_names_denied_items() {
        let errs = vec![
            ItemError::new(
                r"C:\Windows\System32\winevt\Logs\Security.evtx",
                ItemErrorKind::Io,
                "cannot open: Access is denied. (os error 5)",
            ),
            ItemError::new("x.log", ItemErrorKind::Parse, "bad line"),
        ];
        assert_eq!(rights_note("vigie hunt", Some(true), &errs), None);
        assert_eq!(rights_note("vigie hunt", None, &errs), None);
        let note = rights_note("vigie hunt", Some(false), &errs).unwrap();
        assert!(note.contains("Security.evtx"), "{note}");
        assert!(!note.contains("x.log"), "{note}");
        let many: Vec<_> = (0..7)
            .map(|i| {
                ItemError::new(
                    format!("f{i}"),
                    ItemErrorKind::Io,
                    "Access is denied.",
                )
            })
            .collect();
        let note = rights_note("vigie check", Some(false), &many).unwrap();
        assert!(note.contains("f4 and 2 more"), "{note}");
    }
}
