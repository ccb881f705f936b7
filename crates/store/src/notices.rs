//! What `vigie notify --send` mailed, so a crash never mails an owner
//! twice.
//!
//! Each notice has an idempotency key (one per owner and run). It is
//! written as `sending` and committed before the message goes to the
//! SMTP server, and marked `sent` once the server accepted it. A rerun
//! skips `sent` notices, and also `sending` ones, which a crash left
//! between the two writes: the server may have accepted them, so they are
//! listed for a person to check rather than sent again.
//!
//! The table is created by the first command that records a notice
//! (`CREATE TABLE IF NOT EXISTS`, plain SQL both drivers run), not by a
//! schema migration: reading commands and older databases are untouched.

use chrono::Utc;

use crate::{Result, RunId, Store};

const CREATE: &str = "
CREATE TABLE IF NOT EXISTS notices (
  key TEXT PRIMARY KEY,
  run BIGINT NOT NULL,
  owner TEXT NOT NULL,
  contact TEXT NOT NULL,
  state TEXT NOT NULL,
  message_id TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
";

/// Where a notice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeState {
    /// Recorded before sending; not confirmed by the server (a crash
    /// between the two writes leaves it so).
    Sending,
    /// The SMTP server accepted it.
    Sent,
}

impl NoticeState {
    fn as_str(self) -> &'static str {
        match self {
            NoticeState::Sending => "sending",
            NoticeState::Sent => "sent",
        }
    }
}

/// One notice to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Idempotency key (owner and run).
    pub key: String,
    /// The run the notice is about.
    pub run: RunId,
    /// Owner name.
    pub owner: String,
    /// Mail address.
    pub contact: String,
    /// The message's `Message-ID`.
    pub message_id: String,
}

impl Store {
    /// Make sure the notices table exists (for the sending command).
    pub fn notices_ready(&mut self) -> Result<()> {
        self.flush()?;
        self.batch(CREATE)
    }

    /// The state of a notice, `None` when never recorded.
    pub fn notice_state(&mut self, key: &str) -> Result<Option<NoticeState>> {
        self.flush()?;
        let rows = self.query(
            "SELECT state FROM notices WHERE key = ?1",
            vec![key.into()],
        )?;
        let Some(row) = rows.first() else { return Ok(None) };
        let state = row.text(0).map_err(self.err())?;
        Ok(Some(match state.as_str() {
            "sent" => NoticeState::Sent,
            _ => NoticeState::Sending,
        }))
    }

    /// Record that a notice is about to be sent (committed at once).
    pub fn notice_sending(&mut self, n: &Notice) -> Result<()> {
        self.flush()?;
        self.execute(
            "INSERT INTO notices \
             (key, run, owner, contact, state, message_id, updated_at) \
             VALUES (?1,?2,?3,?4,?5,?6,?7)",
            vec![
                n.key.as_str().into(),
                n.run.into(),
                n.owner.as_str().into(),
                n.contact.as_str().into(),
                NoticeState::Sending.as_str().into(),
                n.message_id.as_str().into(),
                Utc::now().to_rfc3339().into(),
            ],
        )?;
        Ok(())
    }

    /// Record that the server accepted a notice (committed at once).
    pub fn notice_sent(&mut self, key: &str) -> Result<()> {
        self.flush()?;
        self.execute(
            "UPDATE notices SET state = ?1, updated_at = ?2 WHERE key = ?3",
            vec![
                NoticeState::Sent.as_str().into(),
                Utc::now().to_rfc3339().into(),
                key.into(),
            ],
        )?;
        Ok(())
    }

    /// Forget a `sending` notice so it is sent again (a person checked
    /// the server's log and found it was not delivered).
    pub fn notice_forget_unsent(&mut self, key: &str) -> Result<()> {
        self.flush()?;
        self.execute(
            "DELETE FROM notices WHERE key = ?1 AND state = ?2",
            vec![key.into(), NoticeState::Sending.as_str().into()],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_goes_sending_then_sent_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let mut store = Store::open(&path).unwrap();
        store.notices_ready().unwrap();
        let n = Notice {
            key: "run:1|owner:a".into(),
            run: 1,
            owner: "A".into(),
            contact: "a@a.test".into(),
            message_id: "<x@vigie.invalid>".into(),
        };
        assert_eq!(store.notice_state(&n.key).unwrap(), None);
        store.notice_sending(&n).unwrap();
        assert!(store.notice_sending(&n).is_err(), "one row per key");
        drop(store);
        let mut store = Store::open(&path).unwrap();
        store.notices_ready().unwrap();
        assert_eq!(
            store.notice_state(&n.key).unwrap(),
            Some(NoticeState::Sending)
        );
        store.notice_sent(&n.key).unwrap();
        assert_eq!(
            store.notice_state(&n.key).unwrap(),
            Some(NoticeState::Sent)
        );
        store.notice_forget_unsent(&n.key).unwrap();
        assert_eq!(
            store.notice_state(&n.key).unwrap(),
            Some(NoticeState::Sent)
        );
    }
}
