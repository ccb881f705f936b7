//! Logging set-up: messages for people on stderr, coloured only when
//! stderr is a terminal, and the `evtx` crate's warnings about the file
//! being read turned into errors of that file in the hunt report (see
//! `vigie_logs::diag`) instead of lines a script reading stderr trips on.

use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Logs go to stderr only: stdout is reserved for data.
pub fn init(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIGIE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        // No colour codes on Windows: cmd.exe on the Server releases
        // Exchange runs on shows them as text unless VT mode is enabled.
        .with_ansi(!cfg!(windows) && std::io::stderr().is_terminal())
        .with_filter(filter)
        .with_filter(NotCaptured);
    // Ignored if a logger is already set (tests calling twice).
    let _ = tracing_subscriber::registry().with(fmt).try_init();
}

/// Lets an event through to stderr unless it is an `evtx` crate warning
/// or error that a capture on this thread took (then it is in the
/// report). Outermost, so it sees the crate's warnings whatever the
/// verbosity.
struct NotCaptured;

impl<S: Subscriber> Filter<S> for NotCaptured {
    fn enabled(
        &self,
        _meta: &tracing::Metadata<'_>,
        _cx: &Context<'_, S>,
    ) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _cx: &Context<'_, S>) -> bool {
        let level = *event.metadata().level();
        if level > tracing::Level::WARN {
            return true; // info, debug, trace: only with -v, for people
        }
        let mut v = LogFields::default();
        event.record(&mut v);
        let from_evtx =
            v.target.as_deref().is_some_and(vigie_logs::diag::is_evtx_target)
                || vigie_logs::diag::is_evtx_target(event.metadata().target());
        if !from_evtx {
            return true;
        }
        !vigie_logs::diag::note(level.as_str(), &v.message)
    }
}

/// The message and, for records of the `log` facade, their target.
#[derive(Default)]
struct LogFields {
    message: String,
    target: Option<String>,
}

impl Visit for LogFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "log.target" => self.target = Some(value.to_string()),
            "message" => self.message = value.to_string(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "log.target" => self.target = Some(format!("{value:?}")),
            _ => {}
        }
    }
}
