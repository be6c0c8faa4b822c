//! The data directory (default `./data`):
//!
//! ```text
//! data/archive/ab/abcdef….orig    original bytes, named by their SHA-256, never modified
//! data/archive/ab/abcdef….json    the name the file was imported under
//! data/index/CURRENT              the name of the live index generation
//! data/index/gen-000007/          one tantivy index per generation
//! ```
//!
//! A reindex builds a new generation beside the live one and publishes it by replacing
//! `CURRENT` with an atomic rename; a crash before that leaves the live index untouched, and
//! generations nobody reads any more are removed.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{IndexError, SearchIndex};

const CURRENT: &str = "CURRENT";
const GENERATION_PREFIX: &str = "gen-";

/// The data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> IndexError + '_ {
    move |source| IndexError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader (or a crash)
/// never sees half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), IndexError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let mut file = std::fs::File::create(&tmp).map_err(io_error(&tmp))?;
    file.write_all(bytes).map_err(io_error(&tmp))?;
    file.sync_all().map_err(io_error(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_error(path))?;
    if let Ok(d) = std::fs::File::open(dir) {
        // Persist the rename itself; not every platform allows syncing a directory.
        let _ = d.sync_all();
    }
    Ok(())
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
        Archive {
            dir: self.root.join("archive"),
        }
    }

    fn index_root(&self) -> PathBuf {
        self.root.join("index")
    }

    /// The live generation's directory, if an index has been published.
    pub fn live_index_dir(&self) -> Result<Option<PathBuf>, IndexError> {
        let current = self.index_root().join(CURRENT);
        match std::fs::read_to_string(&current) {
            Ok(name) => Ok(Some(self.index_root().join(name.trim()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(IndexError::Io {
                path: current,
                source,
            }),
        }
    }

    /// Opens the live index.
    pub fn open_live(&self) -> Result<SearchIndex, IndexError> {
        match self.live_index_dir()? {
            Some(dir) => SearchIndex::open(&dir),
            None => Err(IndexError::Missing(self.index_root())),
        }
    }

    /// Opens the live index, creating and publishing an empty one if there is none.
    pub fn open_or_create_live(&self) -> Result<SearchIndex, IndexError> {
        if self.live_index_dir()?.is_some() {
            return self.open_live();
        }
        let dir = self.new_generation_dir()?;
        let index = SearchIndex::create(&dir)?;
        self.publish(&dir)?;
        Ok(index)
    }

    /// A fresh, empty directory for the next generation.
    pub fn new_generation_dir(&self) -> Result<PathBuf, IndexError> {
        let root = self.index_root();
        std::fs::create_dir_all(&root).map_err(io_error(&root))?;
        let next = self
            .generations()?
            .iter()
            .filter_map(|p| generation_number(p))
            .max()
            .map_or(1, |n| n + 1);
        let dir = root.join(format!("{GENERATION_PREFIX}{next:06}"));
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        Ok(dir)
    }

    /// Makes `dir` the live generation.
    pub fn publish(&self, dir: &Path) -> Result<(), IndexError> {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| IndexError::Corrupt(format!("bad generation dir {}", dir.display())))?;
        write_atomically(&self.index_root().join(CURRENT), name.as_bytes())
    }

    /// Every generation directory.
    pub fn generations(&self) -> Result<Vec<PathBuf>, IndexError> {
        let root = self.index_root();
        let entries = match std::fs::read_dir(&root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(IndexError::Io { path: root, source }),
        };
        Ok(entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir() && generation_number(p).is_some())
            .collect())
    }

    /// Removes every generation except the live one and those in `in_use`.
    pub fn remove_unused_generations(&self, in_use: &[PathBuf]) -> Result<usize, IndexError> {
        let live = self.live_index_dir()?;
        let mut removed = 0;
        for dir in self.generations()? {
            if Some(&dir) == live.as_ref() || in_use.contains(&dir) {
                continue;
            }
            std::fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
            removed += 1;
        }
        Ok(removed)
    }
}

fn generation_number(dir: &Path) -> Option<u64> {
    dir.file_name()?
        .to_str()?
        .strip_prefix(GENERATION_PREFIX)?
        .parse()
        .ok()
}

/// The archive of original files, content-addressed.
#[derive(Debug, Clone)]
pub struct Archive {
    dir: PathBuf,
}

/// What the archive knows of one entry besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveEntry {
    pub sha256: String,
    /// The name the file was first imported under (its extension and words guide decoding).
    pub path: String,
    pub size: u64,
}

impl Archive {
    fn paths(&self, sha256: &str) -> (PathBuf, PathBuf) {
        let shard = self.dir.join(&sha256[..2.min(sha256.len())]);
        (
            shard.join(format!("{sha256}.orig")),
            shard.join(format!("{sha256}.json")),
        )
    }

    /// Stores `bytes` under their hash unless they are already there. Returns whether they
    /// were new.
    pub fn put(&self, sha256: &str, path: &str, bytes: &[u8]) -> Result<bool, IndexError> {
        let (data, meta) = self.paths(sha256);
        if data.exists() && meta.exists() {
            return Ok(false);
        }
        write_atomically(&data, bytes)?;
        let entry = ArchiveEntry {
            sha256: sha256.to_string(),
            path: path.to_string(),
            size: bytes.len() as u64,
        };
        let json = serde_json::to_vec(&entry).map_err(|e| IndexError::Corrupt(e.to_string()))?;
        write_atomically(&meta, &json)?;
        Ok(true)
    }

    /// The original bytes stored under `sha256`.
    pub fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, IndexError> {
        if !is_sha256(sha256) {
            return Ok(None);
        }
        let (data, _) = self.paths(sha256);
        match std::fs::read(&data) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(IndexError::Io { path: data, source }),
        }
    }

    /// The entry's description.
    pub fn entry(&self, sha256: &str) -> Result<Option<ArchiveEntry>, IndexError> {
        if !is_sha256(sha256) {
            return Ok(None);
        }
        let (_, meta) = self.paths(sha256);
        match std::fs::read(&meta) {
            Ok(json) => serde_json::from_slice(&json)
                .map(Some)
                .map_err(|e| IndexError::Corrupt(format!("{}: {e}", meta.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(IndexError::Io { path: meta, source }),
        }
    }

    /// Every complete entry (bytes and description both present), in a stable order.
    pub fn entries(&self) -> Result<Vec<ArchiveEntry>, IndexError> {
        let mut out = Vec::new();
        let shards = match std::fs::read_dir(&self.dir) {
            Ok(shards) => shards,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(source) => {
                return Err(IndexError::Io {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        for shard in shards.filter_map(Result::ok) {
            let files = std::fs::read_dir(shard.path()).map_err(io_error(&shard.path()))?;
            for file in files.filter_map(Result::ok) {
                let name = file.file_name();
                let Some(sha) = name.to_str().and_then(|n| n.strip_suffix(".orig")) else {
                    continue;
                };
                if let Some(entry) = self.entry(sha)? {
                    out.push(entry);
                }
            }
        }
        out.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        Ok(out)
    }
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_is_content_addressed_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let archive = DataDir::new(dir.path()).archive();
        let sha = crate::ingest::sha256_hex(b"abc");
        assert!(archive.put(&sha, "a.txt", b"abc").unwrap());
        assert!(!archive.put(&sha, "b.txt", b"abc").unwrap());
        assert_eq!(archive.get(&sha).unwrap().as_deref(), Some(&b"abc"[..]));
        assert_eq!(archive.entry(&sha).unwrap().unwrap().path, "a.txt");
        assert_eq!(archive.entries().unwrap().len(), 1);
        assert_eq!(archive.get("../../etc/passwd").unwrap(), None);
    }

    #[test]
    fn generations_are_published_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        assert_eq!(data.live_index_dir().unwrap(), None);
        let first = data.open_or_create_live().unwrap();
        let live = data.live_index_dir().unwrap().unwrap();
        assert_eq!(first.dir(), live);
        let second = data.new_generation_dir().unwrap();
        assert_ne!(second, live);
        SearchIndex::create(&second).unwrap();
        data.publish(&second).unwrap();
        assert_eq!(data.live_index_dir().unwrap(), Some(second.clone()));
        assert_eq!(data.remove_unused_generations(&[]).unwrap(), 1);
        assert_eq!(data.generations().unwrap(), vec![second]);
    }
}
