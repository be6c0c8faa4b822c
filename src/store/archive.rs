//! The archive of original files: every file imported, byte for byte, under its SHA-256, so
//! that a reindex can run the whole pipeline again and `GET …/original` returns what came in.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Lock, StoreError, io_error};

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
    pub(super) fn new(dir: PathBuf) -> Archive {
        Archive {
            dir,
            catalog: std::sync::Mutex::new(Catalog::default()),
        }
    }

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
    fn refresh(&self, catalog: &mut Catalog) -> Result<(), StoreError> {
        use std::io::{BufRead, Seek, SeekFrom};
        let path = self.dir.join(CATALOG);
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(StoreError::Io { path, source }),
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
    pub fn contains(&self, sha256: &str) -> Result<bool, StoreError> {
        Ok(self.entry(sha256)?.is_some())
    }

    /// Stores `bytes` under their hash unless they are already there. Returns whether they
    /// were new. Entries are durable after [`Archive::sync`]: bulk imports sync once before
    /// each index commit instead of once per file.
    pub fn put(&self, sha256: &str, path: &str, bytes: &[u8]) -> Result<bool, StoreError> {
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
    pub fn commit(&self, mut staged: Staged, path: &str) -> Result<bool, StoreError> {
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

    /// `bytes` in a temporary file of the staging area, named with `suffix`; removed when
    /// dropped.
    pub fn staging_file(
        &self,
        suffix: &str,
        bytes: &[u8],
    ) -> Result<tempfile::NamedTempFile, StoreError> {
        let dir = self.staging_dir();
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let mut file = tempfile::Builder::new()
            .suffix(suffix)
            .tempfile_in(&dir)
            .map_err(io_error(&dir))?;
        file.write_all(bytes).map_err(io_error(&dir))?;
        Ok(file)
    }

    /// Removes copies a killed import left in the staging area. Only the holder of the data
    /// directory's write lock may call it: nobody else stages.
    pub fn clear_staging(&self, _lock: &Lock) -> Result<(), StoreError> {
        let dir = self.staging_dir();
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(&dir)(e)),
            _ => Ok(()),
        }
    }

    /// Appends the catalog line that makes an entry exist.
    fn add_entry(&self, sha256: &str, path: &str, size: u64) -> Result<(), StoreError> {
        let entry = ArchiveEntry {
            sha256: sha256.to_string(),
            path: path.to_string(),
            size,
        };
        let mut line =
            serde_json::to_vec(&entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
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
    pub fn sync(&self) -> Result<(), StoreError> {
        if !self.dir.exists() {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            let dir = std::fs::File::open(&self.dir).map_err(io_error(&self.dir))?;
            if rustix::fs::syncfs(&dir).is_ok() {
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
    pub fn open(&self, sha256: &str) -> Result<Option<FileBytes>, StoreError> {
        if self.entry(sha256)?.is_none() {
            return Ok(None);
        }
        let data = self.bytes_path(sha256);
        match FileBytes::open(&data) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io { path: data, source }),
        }
    }

    /// The original bytes stored under `sha256`.
    pub fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if self.entry(sha256)?.is_none() {
            return Ok(None);
        }
        let data = self.bytes_path(sha256);
        match std::fs::read(&data) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io { path: data, source }),
        }
    }

    /// The entry's description.
    pub fn entry(&self, sha256: &str) -> Result<Option<ArchiveEntry>, StoreError> {
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
    pub fn entries(&self) -> Result<Vec<ArchiveEntry>, StoreError> {
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

    fn sha256_of(bytes: &[u8]) -> String {
        copy_hashing(bytes, &mut std::io::sink(), u64::MAX)
            .unwrap()
            .0
    }

    #[test]
    fn archive_is_content_addressed_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::new(dir.path().join("archive"));
        let sha = sha256_of(b"abc");
        assert!(archive.put(&sha, "a.txt", b"abc").unwrap());
        assert!(!archive.put(&sha, "b.txt", b"abc").unwrap());
        assert_eq!(archive.get(&sha).unwrap().as_deref(), Some(&b"abc"[..]));
        assert_eq!(archive.entry(&sha).unwrap().unwrap().path, "a.txt");
        assert_eq!(archive.entries().unwrap().len(), 1);
        assert_eq!(archive.get("../../etc/passwd").unwrap(), None);
        // Another process's view sees the entry, and a cut last line is not an entry.
        let other = Archive::new(dir.path().join("archive"));
        assert!(other.contains(&sha).unwrap());
        let catalog = dir.path().join("archive").join(CATALOG);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&catalog)
            .unwrap();
        file.write_all(b"{\"sha256\":\"").unwrap();
        let reopened = Archive::new(dir.path().join("archive"));
        assert_eq!(reopened.entries().unwrap().len(), 1);
        let sha2 = sha256_of(b"def");
        assert!(reopened.put(&sha2, "d.txt", b"def").unwrap());
        assert_eq!(
            Archive::new(dir.path().join("archive"))
                .entries()
                .unwrap()
                .len(),
            2
        );
    }
}
