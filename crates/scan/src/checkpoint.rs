//! Resume state of a scan, written atomically.
//!
//! Targets are numbered by their place in this shard's order. Results are
//! written first and the checkpoint after, so a target counts as done only
//! once its line is on disk. `next` is the watermark below which every
//! target is done; `done_above` lists the few finished past it (at most
//! the in-flight window). Targets in flight at an interrupt are in neither
//! and are probed again on resume: none lost, none repeated.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What a resumed scan needs to skip the finished targets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Seed of the permutation (must match on resume).
    pub seed: u64,
    /// `K/N` as given.
    pub shard: String,
    /// Number of targets in this shard (must match on resume).
    pub total: u64,
    /// Every target below this place is done.
    pub next: u64,
    /// Done targets at or above `next`.
    pub done_above: BTreeSet<u64>,
    /// Which chunk of a streamed target list this is (every earlier
    /// chunk is done); 0 for a scan read in one piece.
    #[serde(default)]
    pub chunk: u64,
}

/// A checkpoint that cannot be read or does not fit this scan.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The checkpoint file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a checkpoint, or one of another scan.
    #[error("{path}: {reason}")]
    Invalid {
        /// The checkpoint file.
        path: String,
        /// What was wrong.
        reason: String,
    },
}

impl Checkpoint {
    /// Mark one place done and move the watermark.
    pub fn mark_done(&mut self, place: u64) {
        if place < self.next {
            return;
        }
        self.done_above.insert(place);
        while self.done_above.remove(&self.next) {
            self.next += 1;
        }
    }

    /// Whether a place is already done.
    pub fn is_done(&self, place: u64) -> bool {
        place < self.next || self.done_above.contains(&place)
    }

    /// Number of places done.
    pub fn done_count(&self) -> u64 {
        self.next + self.done_above.len() as u64
    }

    /// Read a checkpoint.
    pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            CheckpointError::Io { path: path.display().to_string(), source }
        })?;
        serde_json::from_str(&text).map_err(|e| CheckpointError::Invalid {
            path: path.display().to_string(),
            reason: format!("not a vigie scan checkpoint: {e}"),
        })
    }

    /// Check that this checkpoint belongs to a scan of this shape.
    pub fn check_fits(
        &self,
        path: &Path,
        seed: u64,
        shard: &str,
        total: u64,
    ) -> Result<(), CheckpointError> {
        if self.seed != seed || self.shard != shard || self.total != total {
            return Err(CheckpointError::Invalid {
                path: path.display().to_string(),
                reason: format!(
                    "written for seed {} shard {} with {} targets, \
                     this scan has seed {seed} shard {shard} with {total}",
                    self.seed, self.shard, self.total
                ),
            });
        }
        Ok(())
    }

    /// Write to a temporary file beside `path`, sync, rename over it.
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let io = |source| CheckpointError::Io {
            path: path.display().to_string(),
            source,
        };
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        let json = serde_json::to_vec(self).unwrap_or_default();
        f.write_all(&json).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_moves_past_contiguous_done() {
        let mut c = Checkpoint::default();
        c.mark_done(2);
        c.mark_done(0);
        assert_eq!((c.next, c.done_above.len()), (1, 1));
        c.mark_done(1);
        assert_eq!((c.next, c.done_above.len()), (3, 0));
        assert!(c.is_done(2) && !c.is_done(3));
    }

    #[test]
    fn save_load_round_trip_and_shape_check() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cp.json");
        let mut c = Checkpoint {
            seed: 7,
            shard: "1/2".into(),
            total: 9,
            ..Default::default()
        };
        c.mark_done(4);
        c.save(&p).unwrap();
        let back = Checkpoint::load(&p).unwrap();
        assert_eq!(back, c);
        assert!(back.check_fits(&p, 7, "1/2", 9).is_ok());
        assert!(back.check_fits(&p, 8, "1/2", 9).is_err());
        std::fs::write(&p, "garbage").unwrap();
        assert!(Checkpoint::load(&p).is_err());
    }

    /// Checkpoints written before lists were streamed in chunks have no
    /// `chunk`: they are the first (only) chunk.
    #[test]
    fn checkpoint_without_chunk_is_chunk_zero() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cp.json");
        std::fs::write(
            &p,
            r#"{"seed":1,"shard":"1/1","total":4,"next":2,"done_above":[3]}"#,
        )
        .unwrap();
        let c = Checkpoint::load(&p).unwrap();
        assert_eq!((c.chunk, c.done_count()), (0, 3));
    }
}
