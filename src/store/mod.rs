//! The data directory (default `./data`): where everything gongwen keeps lives, and the locks
//! that let several processes (a server, command-line imports) share it. Nothing here knows
//! about tantivy or the pipeline; the index and the write path build on it.
//!
//! ```text
//! data/.write.lock                 held by the one writer at a time (import, upload, delete)
//! data/.reindex.lock               held by the one reindex at a time
//! data/archive/pack-000001.dat     originals up to 16 MiB, appended one after another, never rewritten
//! data/archive/packs.lock          held while a process appends to a pack
//! data/archive/ab/abcdef….orig     a larger original, named by its SHA-256, never modified
//! data/archive/catalog.jsonl       one line per complete entry: hash, name, size, pack and offset
//! data/archive/staging/            large files on their way in
//! data/deleted.jsonl               documents deleted through the API, so a reindex leaves them out
//! data/index/CURRENT               the name of the live index generation
//! data/index/gen-000007/           one tantivy index per generation
//! data/index/gen-000007.lock       shared by every process reading or building that generation
//! ```
//!
//! A generation is published by replacing `CURRENT` with an atomic rename. A generation that is
//! not the live one and that no process holds (its lock file can be taken exclusively) is
//! garbage — an old one every reader has left, or one a killed reindex left half built — and
//! [`DataDir::remove_stale_generations`] removes it.

mod archive;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use archive::{
    Archive, ArchiveEntry, FileBytes, IN_MEMORY_BYTES, StageError, Staged, copy_hashing,
};

const CURRENT: &str = "CURRENT";
const GENERATION_PREFIX: &str = "gen-";
const DELETED: &str = "deleted.jsonl";

/// Why the data directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the lock asked for.
    #[error("another import or reindex is writing to {0}; try again when it has finished")]
    Busy(PathBuf),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file of the data directory holds what it never writes.
    #[error("{0}")]
    Corrupt(String),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// reader (or a crash) never sees half a file; both are synced to disk.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io_error(dir))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .map_err(io_error(path))?;
    file.persist(path).map_err(|e| io_error(path)(e.error))?;
    if let Ok(d) = File::open(dir) {
        // Persist the rename itself; not every platform allows syncing a directory.
        let _ = d.sync_all();
    }
    Ok(())
}

/// The data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// A lock held until dropped (or until the process dies).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// How to take a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Exclusive, or [`StoreError::Busy`] at once.
    TryExclusive,
    /// Exclusive, waiting for the holder.
    Exclusive,
    /// Shared with other readers, waiting for an exclusive holder.
    Shared,
}

fn lock(path: &Path, mode: Mode, busy: &Path) -> Result<Lock, StoreError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_error(path))?;
    match mode {
        Mode::TryExclusive => match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Busy(busy.to_path_buf()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error(path)(e)),
        },
        Mode::Exclusive => file.lock().map_err(io_error(path))?,
        Mode::Shared => file.lock_shared().map_err(io_error(path))?,
    }
    Ok(Lock { _file: file })
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The archive of original files.
    pub fn archive(&self) -> Archive {
        Archive::new(self.root.join("archive"))
    }

    fn index_root(&self) -> PathBuf {
        self.root.join("index")
    }

    fn create_root(&self) -> Result<(), StoreError> {
        std::fs::create_dir_all(&self.root).map_err(io_error(&self.root))
    }

    /// Takes the write lock, or [`StoreError::Busy`]: one import, upload or delete at a time,
    /// across processes.
    pub fn lock_writes(&self) -> Result<Lock, StoreError> {
        self.create_root()?;
        lock(
            &self.root.join(".write.lock"),
            Mode::TryExclusive,
            &self.root,
        )
    }

    /// Takes the write lock, waiting for the writer that holds it.
    pub fn wait_for_writes(&self) -> Result<Lock, StoreError> {
        self.create_root()?;
        lock(&self.root.join(".write.lock"), Mode::Exclusive, &self.root)
    }

    /// Takes the reindex lock, or [`StoreError::Busy`]: one reindex at a time.
    pub fn lock_reindex(&self) -> Result<Lock, StoreError> {
        self.create_root()?;
        lock(
            &self.root.join(".reindex.lock"),
            Mode::TryExclusive,
            &self.root,
        )
    }

    /// The live generation's directory, if an index has been published.
    pub fn live_generation(&self) -> Result<Option<PathBuf>, StoreError> {
        let current = self.index_root().join(CURRENT);
        match std::fs::read_to_string(&current) {
            Ok(name) => Ok(Some(self.index_root().join(name.trim()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io {
                path: current,
                source,
            }),
        }
    }

    /// Holds the generation in `dir` for reading: nobody removes it while the lock lives.
    pub fn hold_generation(dir: &Path) -> Result<Lock, StoreError> {
        lock(&generation_lock(dir), Mode::Shared, dir)
    }

    /// A fresh, empty directory for the next generation, numbered above every existing one,
    /// and held: its lock is taken before the directory exists, so a clean-up never sees it
    /// unheld.
    pub fn new_generation(&self) -> Result<(PathBuf, Lock), StoreError> {
        let root = self.index_root();
        std::fs::create_dir_all(&root).map_err(io_error(&root))?;
        let mut next = self
            .generations()?
            .iter()
            .filter_map(|p| generation_number(p))
            .max()
            .map_or(1, |n| n + 1);
        loop {
            let dir = root.join(format!("{GENERATION_PREFIX}{next:06}"));
            let held = lock(&generation_lock(&dir), Mode::Shared, &dir)?;
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok((dir, held)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => next += 1,
                Err(source) => return Err(StoreError::Io { path: dir, source }),
            }
        }
    }

    /// Makes `dir` the live generation.
    pub fn publish(&self, dir: &Path) -> Result<(), StoreError> {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| StoreError::Corrupt(format!("bad generation dir {}", dir.display())))?;
        write_atomically(&self.index_root().join(CURRENT), name.as_bytes())
    }

    /// Every generation directory.
    fn generations(&self) -> Result<Vec<PathBuf>, StoreError> {
        let root = self.index_root();
        let entries = match std::fs::read_dir(&root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StoreError::Io { path: root, source }),
        };
        Ok(entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir() && generation_number(p).is_some())
            .collect())
    }

    /// Removes every generation that is not the live one and that no process holds: old ones
    /// every reader has left, and ones a killed reindex left unfinished. Returns how many.
    pub fn remove_stale_generations(&self) -> Result<usize, StoreError> {
        let live = self.live_generation()?;
        let mut removed = 0;
        for dir in self.generations()? {
            if live.as_ref() == Some(&dir) {
                continue;
            }
            let lock_path = generation_lock(&dir);
            let Ok(held) = lock(&lock_path, Mode::TryExclusive, &dir) else {
                continue;
            };
            // The live generation may have changed since it was read: never remove that one.
            if self.live_generation()?.as_ref() == Some(&dir) {
                continue;
            }
            std::fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
            drop(held);
            let _ = std::fs::remove_file(&lock_path);
            removed += 1;
        }
        Ok(removed)
    }

    /// The documents deleted through the API, as recorded.
    pub fn deleted(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        let path = self.root.join(DELETED);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        Ok(text
            .lines()
            .filter_map(|line| serde_json::from_str::<Deletion>(line).ok())
            .map(|d| d.id)
            .collect())
    }

    /// Records that document `id` was deleted (durably: the caller commits the index after).
    pub fn record_deletion(&self, id: &str, _writing: &Lock) -> Result<(), StoreError> {
        self.create_root()?;
        let path = self.root.join(DELETED);
        let mut line = serde_json::to_vec(&Deletion { id: id.to_string() })
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        line.push(b'\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_error(&path))?;
        file.write_all(&line)
            .and_then(|()| file.sync_all())
            .map_err(io_error(&path))
    }
}

/// One line of `deleted.jsonl`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Deletion {
    id: String,
}

/// The lock file beside a generation's directory.
fn generation_lock(dir: &Path) -> PathBuf {
    dir.with_extension("lock")
}

fn generation_number(dir: &Path) -> Option<u64> {
    dir.file_name()?
        .to_str()?
        .strip_prefix(GENERATION_PREFIX)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_are_published_atomically_and_only_unheld_ones_removed() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        assert_eq!(data.live_generation().unwrap(), None);
        let (first, first_held) = data.new_generation().unwrap();
        data.publish(&first).unwrap();
        assert_eq!(data.live_generation().unwrap(), Some(first.clone()));
        let (second, second_held) = data.new_generation().unwrap();
        assert_ne!(second, first);
        let (abandoned, abandoned_held) = data.new_generation().unwrap();
        data.publish(&second).unwrap();
        // The old one is still read, the third still built: nothing goes.
        assert_eq!(data.remove_stale_generations().unwrap(), 0);
        drop(first_held);
        // A reindex killed while building: its lock dies with it.
        drop(abandoned_held);
        assert_eq!(data.remove_stale_generations().unwrap(), 2);
        assert!(!first.exists() && !abandoned.exists());
        assert!(second.exists(), "the live generation stays");
        drop(second_held);
        assert_eq!(data.remove_stale_generations().unwrap(), 0, "even unheld");
    }

    #[test]
    fn one_writer_at_a_time_and_deletions_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let lock = data.lock_writes().unwrap();
        assert!(matches!(data.lock_writes(), Err(StoreError::Busy(_))));
        data.record_deletion("abc", &lock).unwrap();
        data.record_deletion("def", &lock).unwrap();
        drop(lock);
        assert!(data.lock_writes().is_ok());
        let deleted = data.deleted().unwrap();
        assert!(deleted.contains("abc") && deleted.contains("def") && deleted.len() == 2);
    }
}
