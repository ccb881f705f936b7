//! Walking the evidence: one producer thread lists folders and sends each
//! regular file through a bounded channel to the checking threads, so the
//! tree is never held in memory and a huge image costs no more than a
//! small one.
//!
//! Evidence is read-only: folders are listed and files handed on, nothing
//! is ever opened for writing. Symbolic links (and Windows junctions) are
//! never followed: following them could leave the evidence (a link to
//! `/` on a mounted image) or loop forever. A link that points back at
//! one of its own parent folders is reported as a loop; other links are
//! counted. Sockets, FIFOs and devices are skipped (opening a FIFO would
//! block). A folder that cannot be listed is an [`ItemError`], and the
//! walk goes on.

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded};
use vigie_model::{ItemError, ItemErrorKind};

use crate::discover::{Landmarks, Root, RootKind};
use crate::place::{WinPath, windows_path};

/// Paths in flight between the walker and the checkers.
pub const CHANNEL_CAP: usize = 256;

/// One regular file met by the walk.
#[derive(Debug)]
pub struct WalkedFile {
    /// Where it is on this machine.
    pub path: PathBuf,
    /// Where it was on the server.
    pub win: WinPath,
    /// Its metadata (not following links).
    pub meta: Metadata,
}

/// What the walker sends.
#[derive(Debug)]
pub enum WalkItem {
    /// A regular file to check.
    File(Box<WalkedFile>),
    /// A problem with one folder or entry.
    Error(ItemError),
}

/// Counters and landmarks of a finished walk.
#[derive(Debug, Clone, Default)]
pub struct WalkSummary {
    /// Folders listed.
    pub dirs: u64,
    /// Regular files sent.
    pub files: u64,
    /// Symbolic links and junctions not followed.
    pub links_not_followed: u64,
    /// Sockets, FIFOs and devices skipped.
    pub special_skipped: u64,
    /// Where the folders that matter sit.
    pub landmarks: Landmarks,
}

/// Start walking `roots` on a thread of its own. Folders equal to one of
/// `skip` are not entered (an `--exchange-root` inside another input is
/// walked once, as its own root).
pub fn spawn(
    roots: Vec<Root>,
    skip: Vec<PathBuf>,
) -> std::io::Result<(Receiver<WalkItem>, JoinHandle<WalkSummary>)> {
    let (tx, rx) = bounded(CHANNEL_CAP);
    let handle = std::thread::Builder::new().name("vigie-walk".into()).spawn(
        move || {
            let mut w = Walker { tx, skip, summary: WalkSummary::default() };
            for root in &roots {
                if !w.root(root) {
                    break;
                }
            }
            w.summary
        },
    )?;
    Ok((rx, handle))
}

struct Walker {
    tx: Sender<WalkItem>,
    skip: Vec<PathBuf>,
    summary: WalkSummary,
}

impl Walker {
    /// Walk one root; `false` when the receiver is gone.
    fn root(&mut self, root: &Root) -> bool {
        let ex = root.exchange_root();
        if root.kind == RootKind::File {
            return match std::fs::metadata(&root.walk) {
                Ok(meta) => self.file(root, root.walk.clone(), meta),
                Err(e) => self.error(&root.walk, ItemErrorKind::Io, e),
            };
        }
        if ex {
            self.summary.landmarks.merge(Landmarks {
                exchange: vec![root.walk.clone()],
                ..Landmarks::default()
            });
        }
        // Depth-first with an explicit stack: no recursion limit, and
        // memory grows with the depth times the width of open folders,
        // never with the whole tree.
        let mut stack = vec![root.walk.clone()];
        while let Some(dir) = stack.pop() {
            self.summary.dirs += 1;
            let win = windows_path(&dir, &root.base, ex);
            self.summary.landmarks.note_dir(&dir, &win, ex);
            let rd = match std::fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) => {
                    if !self.error(&dir, ItemErrorKind::Io, e) {
                        return false;
                    }
                    continue;
                }
            };
            let mut subdirs = Vec::new();
            for entry in rd {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        if !self.error(&dir, ItemErrorKind::Io, e) {
                            return false;
                        }
                        continue;
                    }
                };
                let path = entry.path();
                let ft = match entry.file_type() {
                    Ok(ft) => ft,
                    Err(e) => {
                        if !self.error(&path, ItemErrorKind::Io, e) {
                            return false;
                        }
                        continue;
                    }
                };
                let ok = if ft.is_symlink() {
                    self.link(&path)
                } else if ft.is_dir() {
                    if !self.skip.contains(&path) {
                        subdirs.push(path);
                    }
                    true
                } else if ft.is_file() {
                    match entry.metadata() {
                        Ok(meta) => self.file(root, path, meta),
                        Err(e) => self.error(&path, ItemErrorKind::Io, e),
                    }
                } else {
                    self.summary.special_skipped += 1;
                    true
                };
                if !ok {
                    return false;
                }
            }
            // Sorted so the walk order (and so error order) is stable.
            subdirs.sort_unstable_by(|a, b| b.cmp(a));
            stack.extend(subdirs);
        }
        true
    }

    fn file(&mut self, root: &Root, path: PathBuf, meta: Metadata) -> bool {
        self.summary.files += 1;
        let win = windows_path(&path, &root.base, root.exchange_root());
        self.tx
            .send(WalkItem::File(Box::new(WalkedFile { path, win, meta })))
            .is_ok()
    }

    fn link(&mut self, path: &Path) -> bool {
        self.summary.links_not_followed += 1;
        let Ok(target) = std::fs::canonicalize(path) else {
            return true; // dangling: nothing to miss
        };
        let parent = path.parent().and_then(|p| std::fs::canonicalize(p).ok());
        if parent.is_some_and(|p| p.starts_with(&target)) {
            let msg = format!(
                "symbolic link loop (points at its own parent folder {}), \
                 not followed",
                target.display()
            );
            let e = ItemError::new(
                path.display().to_string(),
                ItemErrorKind::Other,
                msg,
            );
            return self.tx.send(WalkItem::Error(e)).is_ok();
        }
        true
    }

    fn error(
        &mut self,
        path: &Path,
        kind: ItemErrorKind,
        e: std::io::Error,
    ) -> bool {
        let e = ItemError::new(
            path.display().to_string(),
            kind,
            format!("cannot read: {e}"),
        );
        self.tx.send(WalkItem::Error(e)).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::roots;

    fn walk(dir: &Path) -> (Vec<String>, Vec<ItemError>, WalkSummary) {
        let (r, _) = roots(&[dir.to_path_buf()], None);
        let (rx, h) = spawn(r, Vec::new()).unwrap();
        let mut files = Vec::new();
        let mut errors = Vec::new();
        for item in rx {
            match item {
                WalkItem::File(f) => files.push(f.win.display),
                WalkItem::Error(e) => errors.push(e),
            }
        }
        files.sort();
        (files, errors, h.join().unwrap())
    }

    #[test]
    fn files_are_mapped_and_landmarks_noted() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("C/inetpub/logs/LogFiles/W3SVC1");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(logs.join("u_ex210303.log"), "").unwrap();
        let (files, errors, s) = walk(dir.path());
        assert!(errors.is_empty());
        assert_eq!(files, [r"C:\inetpub\logs\LogFiles\W3SVC1\u_ex210303.log"]);
        assert_eq!(s.landmarks.iis_logs.len(), 1);
        assert_eq!(s.landmarks.volume_roots, [dir.path().join("C")]);
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_errors_and_links_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("f.txt"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path(), sub.join("loop")).unwrap();
        std::os::unix::fs::symlink("/usr", sub.join("out")).unwrap();
        let (files, errors, s) = walk(dir.path());
        assert_eq!(files.len(), 1);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("loop"));
        assert_eq!(s.links_not_followed, 2);
    }
}
