//! Warnings the `evtx` crate logs while it reads a file ("Read incorrect
//! amount of data", "EVTX file header CRC32 invalid", "Broken record"),
//! turned into per-file errors instead of lines on stderr.
//!
//! The crate reports through the `log` facade, with no handle on the
//! file being read. vigie reads each EVTX file (or chunk range) on one
//! thread from start to end, so a capture scoped to the reading thread
//! ties each message to its file: [`capture`] opens the scope around a
//! read, and the program's logger hands every message of the crate to
//! [`note`] (the `vigie` binary does so from its tracing layer), which
//! keeps it when a capture is open on the calling thread. The state is
//! thread-local and lives only for the duration of one read.

use std::cell::RefCell;

/// Messages kept per capture; the rest are only counted.
pub const MAX_KEPT: usize = 20;

/// What one capture gathered.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Captured {
    /// The first [`MAX_KEPT`] messages, with their level (`WARN`, ...).
    pub messages: Vec<String>,
    /// Messages seen in all (kept or not).
    pub total: u64,
}

thread_local! {
    static OPEN: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

/// Whether a log target belongs to the `evtx` crate.
pub fn is_evtx_target(target: &str) -> bool {
    target == "evtx" || target.starts_with("evtx::")
}

/// Run `f` with a capture open on this thread; returns its result and
/// what was noted meanwhile. Nested captures keep to the inner one.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Captured) {
    let outer = OPEN.with(|c| c.borrow_mut().replace(Captured::default()));
    let r = f();
    let got = OPEN.with(|c| {
        let mut slot = c.borrow_mut();
        let got = slot.take().unwrap_or_default();
        *slot = outer;
        got
    });
    (r, got)
}

/// Keep `message` (at `level`) in the capture open on this thread;
/// `false` when none is open (the caller logs it as usual).
pub fn note(level: &str, message: &str) -> bool {
    OPEN.with(|c| {
        let mut slot = c.borrow_mut();
        let Some(cap) = slot.as_mut() else { return false };
        cap.total += 1;
        if cap.messages.len() < MAX_KEPT {
            // Attacker-shaped bytes may sit in the message: one line,
            // bounded, control characters left for the report to strip.
            let one: String = message.chars().take(300).collect();
            cap.messages.push(format!("{level} {}", one.replace('\n', " ")));
        }
        true
    })
}

impl Captured {
    /// One error line per kept message, then one for the rest.
    pub fn into_errors(self) -> Vec<String> {
        let rest = self.total.saturating_sub(self.messages.len() as u64);
        let mut out: Vec<String> = self
            .messages
            .into_iter()
            .map(|m| format!("evtx parser: {m}"))
            .collect();
        if rest > 0 {
            out.push(format!("evtx parser: {rest} more warning(s)"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_kept_only_inside_a_capture_on_this_thread() {
        assert!(!note("WARN", "outside"));
        let ((), got) = capture(|| {
            for i in 0..(MAX_KEPT + 3) {
                assert!(note("WARN", &format!("m{i}\nx")));
            }
            let other = std::thread::spawn(|| note("WARN", "elsewhere"));
            assert!(!other.join().unwrap());
        });
        assert_eq!(got.total, MAX_KEPT as u64 + 3);
        assert_eq!(got.messages[0], "WARN m0 x");
        let errors = got.into_errors();
        assert_eq!(errors.len(), MAX_KEPT + 1);
        assert!(errors[MAX_KEPT].contains("3 more"));
        assert!(!note("WARN", "after"));
        assert!(is_evtx_target("evtx::binxml::tokens"));
        assert!(!is_evtx_target("evtxtools"));
    }
}
