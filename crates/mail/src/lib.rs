//! Owner notices as mail, for `vigie notify`.
//!
//! A [`Letter`] (recipient, subject, plain text, HTML, a CSV attachment)
//! becomes a MIME message (`multipart/mixed` holding a
//! `multipart/alternative` text + HTML part and the attachment) with
//! `lettre`'s builder, which encodes every header and body: owner names
//! and server-controlled text cannot inject headers or MIME parts. The
//! message is either written as an `.eml` file (the dry run) or sent to an
//! SMTP server ([`Smtp`]: `smtp://` in clear or with `?tls=required`
//! STARTTLS, `smtps://` for implicit TLS; rustls, no OpenSSL), one
//! connection per message, paced by a [`Pace`].
//!
//! Credentials never appear in a URL, an error or a `Debug` output.

use std::path::Path;
use std::time::{Duration, Instant};

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};

/// Errors of mail building and sending.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address could not be read.
    #[error("bad mail address {address:?}: {reason}")]
    Address {
        /// The address as given.
        address: String,
        /// What was wrong.
        reason: String,
    },
    /// The message could not be built.
    #[error("cannot build the message to {to}: {reason}")]
    Build {
        /// Recipient.
        to: String,
        /// What was wrong.
        reason: String,
    },
    /// The SMTP URL is not usable.
    #[error("SMTP URL: {0}")]
    Url(String),
    /// The server refused the message or the connection failed.
    #[error("SMTP to {server}: {reason}")]
    Send {
        /// `host:port` of the server.
        server: String,
        /// What the server or the connection said.
        reason: String,
    },
    /// Writing an `.eml` file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The system error.
        source: std::io::Error,
    },
}

/// One notice to one owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// Recipient address.
    pub to: String,
    /// Recipient display name (the owner).
    pub to_name: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body (already escaped).
    pub html: String,
    /// File name of the CSV attachment.
    pub csv_name: String,
    /// The CSV attachment (already neutralised against formulas).
    pub csv: String,
    /// `Message-ID` (with angle brackets), stable per owner and run so a
    /// receiving system can tell a repeat.
    pub message_id: String,
}

/// Who the notices are from.
#[derive(Debug, Clone)]
pub struct Sender {
    from: Mailbox,
    reply_to: Option<Mailbox>,
}

fn mailbox(text: &str) -> Result<Mailbox, MailError> {
    text.parse::<Mailbox>().map_err(|e| MailError::Address {
        address: text.chars().take(200).collect(),
        reason: e.to_string(),
    })
}

/// Control characters (newlines included) out of a header text.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

impl Sender {
    /// `From` and optional `Reply-To` (`Name <addr>` or `addr`).
    pub fn new(
        from: &str,
        reply_to: Option<&str>,
    ) -> Result<Sender, MailError> {
        Ok(Sender {
            from: mailbox(from)?,
            reply_to: reply_to.map(mailbox).transpose()?,
        })
    }
}

/// Build the MIME message of a letter.
pub fn compose(
    letter: &Letter,
    sender: &Sender,
) -> Result<Message, MailError> {
    let addr = mailbox(&letter.to)?;
    let to = Mailbox::new(Some(one_line(&letter.to_name)), addr.email);
    let build = |e: &dyn std::fmt::Display| MailError::Build {
        to: letter.to.clone(),
        reason: e.to_string(),
    };
    let mut builder = Message::builder()
        .from(sender.from.clone())
        .to(to)
        .subject(one_line(&letter.subject))
        .message_id(Some(letter.message_id.clone()));
    if let Some(r) = &sender.reply_to {
        builder = builder.reply_to(r.clone());
    }
    let csv_type = ContentType::parse("text/csv; charset=utf-8")
        .map_err(|e| build(&e))?;
    let body = MultiPart::mixed()
        .multipart(MultiPart::alternative_plain_html(
            letter.text.clone(),
            letter.html.clone(),
        ))
        .singlepart(
            Attachment::new(letter.csv_name.clone())
                .body(letter.csv.clone(), csv_type),
        );
    builder.multipart(body).map_err(|e| build(&e))
}

/// Write a message as an `.eml` file (the dry run).
pub fn write_eml(message: &Message, path: &Path) -> Result<(), MailError> {
    std::fs::write(path, message.formatted()).map_err(|source| MailError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// SMTP login read from the environment; never printed.
#[derive(Clone)]
pub struct Login {
    user: String,
    password: String,
}

impl Login {
    /// A login.
    pub fn new(user: String, password: String) -> Login {
        Login { user, password }
    }
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Login(<redacted>)")
    }
}

/// A connection to an SMTP server (one connection per message).
pub struct Smtp {
    transport: SmtpTransport,
    server: String,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp").field("server", &self.server).finish()
    }
}

/// What a usable SMTP URL says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    /// `host:port`, for messages.
    pub server: String,
    /// Whether the connection is encrypted (`smtps://` or
    /// `?tls=required`).
    pub encrypted: bool,
}

/// Check an SMTP URL: `smtp://host[:port][?tls=required|opportunistic]`
/// or `smtps://host[:port]`; credentials in it are refused (they would
/// show in process lists and shell history: use the environment).
pub fn check_url(url: &str) -> Result<SmtpUrl, MailError> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        MailError::Url("expected smtp://HOST:PORT or smtps://HOST:PORT".into())
    })?;
    if !matches!(scheme, "smtp" | "smtps") {
        return Err(MailError::Url(format!(
            "unknown scheme {scheme:?} (smtp or smtps)"
        )));
    }
    let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = authority.trim_end_matches('/');
    if authority.contains('@') {
        return Err(MailError::Url(
            "credentials in the URL are refused: set VIGIE_SMTP_USER and \
             VIGIE_SMTP_PASSWORD instead"
                .into(),
        ));
    }
    if authority.is_empty() {
        return Err(MailError::Url("no host".into()));
    }
    let encrypted =
        scheme == "smtps" || query.split('&').any(|p| p == "tls=required");
    let default_port = if scheme == "smtps" { 465 } else { 587 };
    let server = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:{default_port}")
    };
    Ok(SmtpUrl { server, encrypted })
}

impl Smtp {
    /// Prepare sending through `url`, logging in with `login` when given.
    /// A login over an unencrypted connection is refused.
    pub fn new(
        url: &str,
        login: Option<Login>,
        timeout: Duration,
    ) -> Result<Smtp, MailError> {
        let checked = check_url(url)?;
        if login.is_some() && !checked.encrypted {
            return Err(MailError::Url(
                "a login needs an encrypted connection (smtps:// or \
                 smtp://...?tls=required)"
                    .into(),
            ));
        }
        let mut builder = SmtpTransport::from_url(url)
            .map_err(|e| MailError::Url(e.to_string()))?
            .timeout(Some(timeout));
        if let Some(l) = login {
            builder =
                builder.credentials(Credentials::new(l.user, l.password));
        }
        Ok(Smtp { transport: builder.build(), server: checked.server })
    }

    /// Send one message; the server's reply on success.
    pub fn send(&self, message: &Message) -> Result<String, MailError> {
        match self.transport.send(message) {
            Ok(r) => Ok(format!(
                "{} {}",
                r.code(),
                r.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) => Err(MailError::Send {
                server: self.server.clone(),
                reason: e.to_string(),
            }),
        }
    }
}

/// Paces sending: one message per interval at most.
#[derive(Debug)]
pub struct Pace {
    interval: Duration,
    last: Option<Instant>,
}

impl Pace {
    /// At most one message per `interval`.
    pub fn new(interval: Duration) -> Pace {
        Pace { interval, last: None }
    }

    /// Wait until the next message may go.
    pub fn wait(&mut self) {
        if let Some(last) = self.last {
            let next = last + self.interval;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
        }
        self.last = Some(Instant::now());
    }
}

/// A rate, `N/min`, `N/s` or `N/h` (`N` alone: per minute), as the
/// interval between two messages; `None` when unreadable or zero.
pub fn parse_rate(text: &str) -> Option<Duration> {
    let (n, unit) = text.split_once('/').unwrap_or((text, "min"));
    let n: u32 = n.trim().parse().ok().filter(|&n| n > 0)?;
    let period = match unit.trim() {
        "min" | "m" => 60,
        "s" | "sec" => 1,
        "h" | "hour" => 3600,
        _ => return None,
    };
    Some(Duration::from_secs(period) / n)
}

#[cfg(test)]
mod tests;
