//! The data directory (default `./data`):
//!
//! ```text
//! data/archive/ab/abcdef….orig    original bytes, named by their SHA-256, never modified
//! data/archive/catalog.jsonl      one line per complete entry: hash, name imported under, size
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
/// never sees half a file, and syncs both to disk.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), IndexError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{:?}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id(),
        std::thread::current().id()
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

    /// The archive of original files.
    pub fn archive(&self) -> Archive {
        Archive {
            dir: self.root.join("archive"),
            catalog: std::sync::Mutex::new(Catalog::default()),
        }
    }

    fn index_root(&self) -> PathBuf {
        self.root.join("index")
    }

    /// Takes the data directory's write lock: one import, reindex or upload at a time, across
    /// processes. A reindex reads the archive once, so a file imported while it runs would be
    /// missing from the index it publishes; the lock rules that out.
    pub fn lock_writes(&self) -> Result<WriteLock, IndexError> {
        std::fs::create_dir_all(&self.root).map_err(io_error(&self.root))?;
        let path = self.root.join(".write.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: `file` is open for the duration of the call.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                return Err(IndexError::Busy(self.root.clone()));
            }
        }
        Ok(WriteLock { _file: file })
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

    /// A fresh, empty directory for the next generation, numbered above every existing one
    /// (two processes starting a reindex at once get different directories).
    pub fn new_generation_dir(&self) -> Result<PathBuf, IndexError> {
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
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => next += 1,
                Err(source) => return Err(IndexError::Io { path: dir, source }),
            }
        }
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

    /// Removes the generations older than the live one, except those in `in_use`. Newer ones
    /// may be a reindex under way; one left by a crash goes with the next published reindex.
    pub fn remove_unused_generations(&self, in_use: &[PathBuf]) -> Result<usize, IndexError> {
        let Some(live) = self.live_index_dir()? else {
            return Ok(0);
        };
        let live_number = generation_number(&live).unwrap_or(0);
        let mut removed = 0;
        for dir in self.generations()? {
            let older = generation_number(&dir).is_some_and(|n| n < live_number);
            if !older || in_use.contains(&dir) {
                continue;
            }
            std::fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
            removed += 1;
        }
        Ok(removed)
    }
}

/// Held while writing; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct WriteLock {
    _file: std::fs::File,
}

fn generation_number(dir: &Path) -> Option<u64> {
    dir.file_name()?
        .to_str()?
        .strip_prefix(GENERATION_PREFIX)?
        .parse()
        .ok()
}

/// The archive of original files, content-addressed.
///
/// Each file's bytes are kept in `<sha256>.orig`; `catalog.jsonl` lists the complete entries,
/// one JSON line each, appended once the bytes are written. An entry exists if and only if its
/// line does, so a crash mid-write leaves at most an orphan `.orig` that the next import of the
/// same bytes overwrites. Several processes may append to the catalog (each line is one
/// `O_APPEND` write).
#[derive(Debug)]
pub struct Archive {
    dir: PathBuf,
    catalog: std::sync::Mutex<Catalog>,
}

/// What the archive knows of one entry besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveEntry {
    pub sha256: String,
    /// The name the file was first imported under (its extension and words guide decoding).
    pub path: String,
    pub size: u64,
}

/// The catalog lines read so far.
#[derive(Debug, Default)]
struct Catalog {
    entries: std::collections::HashMap<String, ArchiveEntry>,
    /// Bytes of `catalog.jsonl` already read.
    read_to: u64,
}

const CATALOG: &str = "catalog.jsonl";

impl Archive {
    fn bytes_path(&self, sha256: &str) -> PathBuf {
        self.dir
            .join(&sha256[..2.min(sha256.len())])
            .join(format!("{sha256}.orig"))
    }

    fn catalog(&self) -> std::sync::MutexGuard<'_, Catalog> {
        self.catalog
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads the catalog lines appended since the last read (by this or another process).
    fn refresh(&self, catalog: &mut Catalog) -> Result<(), IndexError> {
        use std::io::{BufRead, Seek, SeekFrom};
        let path = self.dir.join(CATALOG);
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(IndexError::Io { path, source }),
        };
        file.seek(SeekFrom::Start(catalog.read_to))
            .map_err(io_error(&path))?;
        let mut reader = std::io::BufReader::new(file);
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader.read_line(&mut line).map_err(io_error(&path))?;
            // A line without its newline is being written, or was cut by a crash.
            if n == 0 || !line.ends_with('\n') {
                break;
            }
            catalog.read_to += n as u64;
            if let Ok(entry) = serde_json::from_str::<ArchiveEntry>(line.trim_end()) {
                catalog.entries.insert(entry.sha256.clone(), entry);
            }
        }
        Ok(())
    }

    /// Whether `sha256` is in the archive.
    pub fn contains(&self, sha256: &str) -> Result<bool, IndexError> {
        Ok(self.entry(sha256)?.is_some())
    }

    /// Stores `bytes` under their hash unless they are already there. Returns whether they
    /// were new. Entries are durable after [`Archive::sync`]: bulk imports sync once before
    /// each index commit instead of once per file.
    pub fn put(&self, sha256: &str, path: &str, bytes: &[u8]) -> Result<bool, IndexError> {
        if self.contains(sha256)? {
            return Ok(false);
        }
        let data = self.bytes_path(sha256);
        if let Some(shard) = data.parent() {
            std::fs::create_dir_all(shard).map_err(io_error(shard))?;
        }
        std::fs::write(&data, bytes).map_err(io_error(&data))?;
        self.add_entry(sha256, path, bytes.len() as u64)?;
        Ok(true)
    }

    fn staging_dir(&self) -> PathBuf {
        self.dir.join("staging")
    }

    /// Copies what `reader` yields into the archive's staging area, hashing it on the way, so
    /// a large file is never held in memory; refuses more than `limit` bytes. The copy is
    /// removed when the [`Staged`] is dropped, unless [`Archive::commit`] made it an entry.
    pub fn stage(&self, reader: impl std::io::Read, limit: u64) -> Result<Staged, StageError> {
        let dir = self.staging_dir();
        std::fs::create_dir_all(&dir).map_err(StageError::Io)?;
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.join(format!("{}-{n}.part", std::process::id()));
        let mut staged = Staged {
            path,
            sha256: String::new(),
            size: 0,
        };
        let mut file = std::fs::File::create(&staged.path).map_err(StageError::Io)?;
        let (sha256, size) = copy_hashing(reader, &mut file, limit)?;
        staged.sha256 = sha256;
        staged.size = size;
        Ok(staged)
    }

    /// Makes a staged copy the entry for its bytes (unless they are there already), under the
    /// name `path`.
    pub fn commit(&self, mut staged: Staged, path: &str) -> Result<bool, IndexError> {
        if self.contains(&staged.sha256)? {
            return Ok(false);
        }
        let data = self.bytes_path(&staged.sha256);
        if let Some(shard) = data.parent() {
            std::fs::create_dir_all(shard).map_err(io_error(shard))?;
        }
        std::fs::rename(&staged.path, &data).map_err(io_error(&data))?;
        staged.path = PathBuf::new();
        self.add_entry(&staged.sha256, path, staged.size)?;
        Ok(true)
    }

    /// Removes copies a killed import left in the staging area. Only the holder of the data
    /// directory's write lock may call it: nobody else stages.
    pub fn clear_staging(&self, _lock: &WriteLock) -> Result<(), IndexError> {
        let dir = self.staging_dir();
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(&dir)(e)),
            _ => Ok(()),
        }
    }

    /// Appends the catalog line that makes an entry exist.
    fn add_entry(&self, sha256: &str, path: &str, size: u64) -> Result<(), IndexError> {
        let entry = ArchiveEntry {
            sha256: sha256.to_string(),
            path: path.to_string(),
            size,
        };
        let mut line =
            serde_json::to_vec(&entry).map_err(|e| IndexError::Corrupt(e.to_string()))?;
        line.push(b'\n');
        let mut catalog = self.catalog();
        let catalog_path = self.dir.join(CATALOG);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&catalog_path)
            .map_err(io_error(&catalog_path))?;
        if !ends_with_newline(&mut file).map_err(io_error(&catalog_path))? {
            // A line cut by a crash: end it, so it cannot swallow this one.
            line.insert(0, b'\n');
        }
        file.write_all(&line).map_err(io_error(&catalog_path))?;
        catalog.entries.insert(entry.sha256.clone(), entry);
        Ok(())
    }

    /// Makes every entry written so far durable: one `syncfs` of the archive's file system on
    /// Linux, a sync of each file elsewhere.
    pub fn sync(&self) -> Result<(), IndexError> {
        if !self.dir.exists() {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let dir = std::fs::File::open(&self.dir).map_err(io_error(&self.dir))?;
            // SAFETY: `dir` is an open file descriptor for the duration of the call.
            if unsafe { libc::syncfs(dir.as_raw_fd()) } == 0 {
                return Ok(());
            }
        }
        for entry in self.entries()? {
            let path = self.bytes_path(&entry.sha256);
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(io_error(&path))?;
        }
        let catalog = self.dir.join(CATALOG);
        std::fs::File::open(&catalog)
            .and_then(|f| f.sync_all())
            .map_err(io_error(&catalog))
    }

    /// The original bytes stored under `sha256`, mapped from the archive when they are large
    /// (archived files are never modified).
    pub fn open(&self, sha256: &str) -> Result<Option<FileBytes>, IndexError> {
        if self.entry(sha256)?.is_none() {
            return Ok(None);
        }
        let data = self.bytes_path(sha256);
        match FileBytes::open(&data) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(IndexError::Io { path: data, source }),
        }
    }

    /// The original bytes stored under `sha256`.
    pub fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, IndexError> {
        if self.entry(sha256)?.is_none() {
            return Ok(None);
        }
        let data = self.bytes_path(sha256);
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
        let mut catalog = self.catalog();
        if !catalog.entries.contains_key(sha256) {
            self.refresh(&mut catalog)?;
        }
        Ok(catalog.entries.get(sha256).cloned())
    }

    /// Every entry, in a stable order.
    pub fn entries(&self) -> Result<Vec<ArchiveEntry>, IndexError> {
        let mut catalog = self.catalog();
        self.refresh(&mut catalog)?;
        let mut out: Vec<ArchiveEntry> = catalog.entries.values().cloned().collect();
        out.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        Ok(out)
    }
}

/// Copies what `reader` yields to `sink` through a small buffer, hashing it; refuses more than
/// `limit` bytes. Returns the SHA-256 (lower-case hex) and the size.
pub fn copy_hashing(
    mut reader: impl std::io::Read,
    sink: &mut impl Write,
    limit: u64,
) -> Result<(String, u64), StageError> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StageError::Io(e)),
        };
        size += n as u64;
        if size > limit {
            return Err(StageError::TooLarge(size));
        }
        hasher.update(&buf[..n]);
        sink.write_all(&buf[..n]).map_err(StageError::Io)?;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// A file copied into the archive's staging area: its hash and size, and the copy, removed
/// when dropped unless it became an entry.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    pub sha256: String,
    pub size: u64,
}

impl Staged {
    /// The staged bytes.
    pub fn bytes(&self) -> std::io::Result<FileBytes> {
        FileBytes::open(&self.path)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Why a file could not be staged.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("{0} bytes or more, over the limit")]
    TooLarge(u64),
    #[error(transparent)]
    Io(std::io::Error),
}

/// Files up to this size are read into memory; larger ones are mapped.
pub const IN_MEMORY_BYTES: u64 = 16 * 1024 * 1024;

/// The bytes of a file: read into memory when small, mapped when large, so a large file costs
/// page cache, not heap.
pub enum FileBytes {
    Heap(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl FileBytes {
    /// The bytes of a file nobody else modifies (one in the archive or its staging area).
    fn open(path: &Path) -> std::io::Result<FileBytes> {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.len() <= IN_MEMORY_BYTES {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut &file, &mut bytes)?;
            return Ok(FileBytes::Heap(bytes));
        }
        // SAFETY: the file is the archive's own copy, written once and never modified or
        // truncated while it is in use, so the mapping stays valid and unchanging.
        unsafe { memmap2::Mmap::map(&file) }.map(FileBytes::Mapped)
    }
}

impl AsRef<[u8]> for FileBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Heap(bytes) => bytes,
            FileBytes::Mapped(map) => map,
        }
    }
}

/// Whether `file` is empty or ends with a newline.
fn ends_with_newline(file: &mut std::fs::File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
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
        // Another process's view sees the entry, and a cut last line is not an entry.
        let other = DataDir::new(dir.path()).archive();
        assert!(other.contains(&sha).unwrap());
        let catalog = dir.path().join("archive").join(CATALOG);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&catalog)
            .unwrap();
        file.write_all(b"{\"sha256\":\"").unwrap();
        let reopened = DataDir::new(dir.path()).archive();
        assert_eq!(reopened.entries().unwrap().len(), 1);
        let sha2 = crate::ingest::sha256_hex(b"def");
        assert!(reopened.put(&sha2, "d.txt", b"def").unwrap());
        assert_eq!(
            DataDir::new(dir.path()).archive().entries().unwrap().len(),
            2
        );
    }

    #[test]
    fn an_index_of_another_schema_version_is_refused_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let live = data.open_or_create_live().unwrap().dir().to_path_buf();
        std::fs::write(live.join("gongwen-index.json"), r#"{"schema_version": 0}"#).unwrap();
        let error = data.open_live().unwrap_err().to_string();
        assert!(error.contains("schema version 0"), "{error}");
        assert!(error.contains("gongwen reindex"), "{error}");
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
        let under_way = data.new_generation_dir().unwrap();
        assert_eq!(data.remove_unused_generations(&[]).unwrap(), 1);
        let mut left = data.generations().unwrap();
        left.sort();
        assert_eq!(left, vec![second, under_way], "a reindex under way is kept");
    }
}
