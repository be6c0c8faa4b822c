//! The archive of original files: every file imported, byte for byte, under its SHA-256, so
//! that a reindex can run the whole pipeline again and `GET …/original` returns what came in.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Lock, StoreError, io_error};

/// The archive of original files, content-addressed.
///
/// Files up to [`IN_MEMORY_BYTES`] are appended to pack files (`pack-000001.dat`, …, each
/// filled to about [`PACK_BYTES`]), so a bulk import of many small files creates a handful of
/// files, not one per input; larger files, staged on their way in, are kept whole in
/// `<sha256>.orig`. `catalog.jsonl` lists the complete entries, one JSON line each, written by
/// [`Archive::sync`] only after the bytes it points to are on disk: an entry exists if and only
/// if its line does, so a crash or a power loss leaves at most unreferenced bytes at the end of
/// a pack (the next append goes after them, never into bytes an entry points to) or an orphan
/// `.orig` that the next import of the same bytes overwrites. Until then an entry is pending:
/// seen by this process only. Several processes may append: to a pack under the exclusive lock
/// of `packs.lock`, to the catalog one `O_APPEND` write per line.
#[derive(Debug)]
pub struct Archive {
    dir: PathBuf,
    catalog: std::sync::Mutex<Catalog>,
    packing: std::sync::Mutex<Packing>,
    pack_bytes: u64,
}

/// What the archive knows of one entry besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveEntry {
    pub sha256: String,
    /// The name the file was first imported under (its extension and words guide decoding).
    pub path: String,
    pub size: u64,
    /// The pack file holding the bytes, and where in it they start; absent for files kept
    /// whole in `<sha256>.orig` (large ones, and every file archived before packs existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack: Option<String>,
    #[serde(default)]
    pub offset: u64,
}

/// A pack file is not appended to once it holds this many bytes.
pub const PACK_BYTES: u64 = 1 << 30;

const PACK_LOCK: &str = "packs.lock";
const PACK_PREFIX: &str = "pack-";
const PACK_SUFFIX: &str = ".dat";

/// The pack this process appends to, and the lock file that serialises appends across
/// processes; opened at the first append.
#[derive(Debug, Default)]
struct Packing {
    lock: Option<std::fs::File>,
    current: Option<(u32, std::fs::File)>,
}

fn pack_name(number: u32) -> String {
    format!("{PACK_PREFIX}{number:06}{PACK_SUFFIX}")
}

fn pack_number(name: &str) -> Option<u32> {
    name.strip_prefix(PACK_PREFIX)?
        .strip_suffix(PACK_SUFFIX)?
        .parse()
        .ok()
}

/// The catalog lines read so far.
#[derive(Debug, Default)]
struct Catalog {
    entries: std::collections::HashMap<String, ArchiveEntry>,
    /// Bytes of `catalog.jsonl` already read.
    read_to: u64,
    /// Entries whose bytes are written but not yet known durable: their lines are written by
    /// the next sync.
    pending: Vec<ArchiveEntry>,
}

const CATALOG: &str = "catalog.jsonl";

impl Archive {
    pub(super) fn new(dir: PathBuf) -> Archive {
        Archive::with_pack_bytes(dir, PACK_BYTES)
    }

    fn with_pack_bytes(dir: PathBuf, pack_bytes: u64) -> Archive {
        Archive {
            dir,
            catalog: std::sync::Mutex::new(Catalog::default()),
            packing: std::sync::Mutex::new(Packing::default()),
            pack_bytes,
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
            if let Ok(entry) = serde_json::from_str::<ArchiveEntry>(line.trim_end())
                && is_sha256(&entry.sha256)
                && entry
                    .pack
                    .as_deref()
                    .is_none_or(|p| pack_number(p).is_some())
            {
                catalog.entries.insert(entry.sha256.clone(), entry);
            }
        }
        Ok(())
    }

    /// Whether `sha256` is in the archive.
    pub fn contains(&self, sha256: &str) -> Result<bool, StoreError> {
        Ok(self.entry(sha256)?.is_some())
    }

    /// Stores `bytes` under their hash unless they are already there: appended to a pack, or
    /// kept whole when they are larger than [`IN_MEMORY_BYTES`] (an upload). Returns whether
    /// they were new. Entries are durable, and seen by other processes, after
    /// [`Archive::sync`]: bulk imports sync once before each index commit instead of once per
    /// file.
    pub fn put(&self, sha256: &str, path: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        if self.contains(sha256)? {
            return Ok(false);
        }
        if bytes.len() as u64 > IN_MEMORY_BYTES {
            return self.put_whole(sha256, path, bytes);
        }
        let mut packing = self
            .packing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Another thread may have stored the same bytes while this one waited: entries are
        // added before the packing lock is released.
        if self.contains(sha256)? {
            return Ok(false);
        }
        let (pack, offset) = self.append(&mut packing, bytes)?;
        self.add_entry(ArchiveEntry {
            sha256: sha256.to_string(),
            path: path.to_string(),
            size: bytes.len() as u64,
            pack: Some(pack),
            offset,
        });
        Ok(true)
    }

    /// Stores large `bytes` in `<sha256>.orig`, through a staging file.
    fn put_whole(&self, sha256: &str, path: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        let data = self.whole_path(sha256)?;
        self.staging_file(".part", bytes)?
            .persist(&data)
            .map_err(|e| io_error(&data)(e.error))?;
        self.add_entry(ArchiveEntry {
            sha256: sha256.to_string(),
            path: path.to_string(),
            size: bytes.len() as u64,
            pack: None,
            offset: 0,
        });
        Ok(true)
    }

    /// Where an entry kept whole goes, its shard directory created.
    fn whole_path(&self, sha256: &str) -> Result<PathBuf, StoreError> {
        let data = self.bytes_path(sha256);
        if let Some(shard) = data.parent() {
            std::fs::create_dir_all(shard).map_err(io_error(shard))?;
        }
        Ok(data)
    }

    /// Appends `bytes` to the pack being filled, under the pack lock. Returns the pack's name
    /// and the offset the bytes start at.
    fn append(&self, packing: &mut Packing, bytes: &[u8]) -> Result<(String, u64), StoreError> {
        std::fs::create_dir_all(&self.dir).map_err(io_error(&self.dir))?;
        let lock_path = self.dir.join(PACK_LOCK);
        if packing.lock.is_none() {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(io_error(&lock_path))?;
            packing.lock = Some(file);
        }
        let lock = packing.lock.as_ref().expect("opened above");
        lock.lock().map_err(io_error(&lock_path))?;
        let appended = self.append_locked(&mut packing.current, bytes);
        let unlocked = lock.unlock().map_err(io_error(&lock_path));
        let appended = appended?;
        unlocked?;
        Ok(appended)
    }

    fn append_locked(
        &self,
        current: &mut Option<(u32, std::fs::File)>,
        bytes: &[u8],
    ) -> Result<(String, u64), StoreError> {
        let len = |n: u32, file: &std::fs::File| {
            file.metadata()
                .map(|m| m.len())
                .map_err(io_error(&self.dir.join(pack_name(n))))
        };
        if let Some((n, file)) = current.as_ref()
            && len(*n, file)? >= self.pack_bytes
        {
            // Filled, by this process or another: look for the last pack again.
            *current = None;
        }
        if current.is_none() {
            let mut n = self.last_pack()?.unwrap_or(1);
            loop {
                let path = self.dir.join(pack_name(n));
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(io_error(&path))?;
                if len(n, &file)? < self.pack_bytes {
                    *current = Some((n, file));
                    break;
                }
                n += 1;
            }
        }
        let (n, file) = current.as_mut().expect("opened above");
        // Under the lock nobody else appends: the end of the file is where these bytes go
        // (after whatever a crash left unreferenced).
        let offset = len(*n, file)?;
        file.write_all(bytes)
            .map_err(io_error(&self.dir.join(pack_name(*n))))?;
        Ok((pack_name(*n), offset))
    }

    /// The highest pack number in the archive.
    fn last_pack(&self) -> Result<Option<u32>, StoreError> {
        let entries = std::fs::read_dir(&self.dir).map_err(io_error(&self.dir))?;
        Ok(entries
            .filter_map(Result::ok)
            .filter_map(|e| pack_number(e.file_name().to_str()?))
            .max())
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
        let data = self.whole_path(&staged.sha256)?;
        std::fs::rename(&staged.path, &data).map_err(io_error(&data))?;
        staged.path = PathBuf::new();
        self.add_entry(ArchiveEntry {
            sha256: std::mem::take(&mut staged.sha256),
            path: path.to_string(),
            size: staged.size,
            pack: None,
            offset: 0,
        });
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

    /// Records an entry whose bytes are written: seen by this process at once, written to the
    /// catalog by the next [`Archive::sync`].
    fn add_entry(&self, entry: ArchiveEntry) {
        let mut catalog = self.catalog();
        catalog.entries.insert(entry.sha256.clone(), entry.clone());
        catalog.pending.push(entry);
    }

    /// Makes every entry stored so far durable and visible to other processes: the bytes are
    /// synced first (one `syncfs` of the archive's file system on Linux, a sync of each file
    /// and of the directory elsewhere), then the entries' catalog lines written and synced.
    pub fn sync(&self) -> Result<(), StoreError> {
        let pending = std::mem::take(&mut self.catalog().pending);
        if pending.is_empty() {
            return Ok(());
        }
        let written = self
            .sync_bytes(&pending)
            .and_then(|()| self.write_lines(&pending));
        if written.is_err() {
            // Tried again by the next sync.
            let mut catalog = self.catalog();
            let later = std::mem::replace(&mut catalog.pending, pending);
            catalog.pending.extend(later);
        }
        written
    }

    fn sync_bytes(&self, entries: &[ArchiveEntry]) -> Result<(), StoreError> {
        #[cfg(target_os = "linux")]
        {
            let dir = std::fs::File::open(&self.dir).map_err(io_error(&self.dir))?;
            if rustix::fs::syncfs(&dir).is_ok() {
                return Ok(());
            }
        }
        let mut files: Vec<PathBuf> = entries
            .iter()
            .flat_map(|entry| {
                let file = self.location(entry).0;
                let dir = file.parent().map(Path::to_path_buf);
                [Some(file), dir]
            })
            .flatten()
            .collect();
        files.push(self.dir.clone());
        files.sort();
        files.dedup();
        for path in files {
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(io_error(&path))?;
        }
        Ok(())
    }

    /// Appends the catalog lines that make `entries` exist, and syncs them.
    fn write_lines(&self, entries: &[ArchiveEntry]) -> Result<(), StoreError> {
        let mut lines = Vec::new();
        for entry in entries {
            serde_json::to_writer(&mut lines, entry)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            lines.push(b'\n');
        }
        let catalog_path = self.dir.join(CATALOG);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&catalog_path)
            .map_err(io_error(&catalog_path))?;
        if !ends_with_newline(&mut file).map_err(io_error(&catalog_path))? {
            // A line cut by a crash: end it, so it cannot swallow these.
            lines.insert(0, b'\n');
        }
        file.write_all(&lines)
            .and_then(|()| file.sync_data())
            .map_err(io_error(&catalog_path))
    }

    /// The original bytes stored under `sha256`, mapped from the archive when they are large
    /// (archived files are never modified).
    pub fn open(&self, sha256: &str) -> Result<Option<FileBytes>, StoreError> {
        let Some(entry) = self.entry(sha256)? else {
            return Ok(None);
        };
        let (path, at) = self.location(&entry);
        let opened = match at {
            Some(offset) => read_range(&path, offset, entry.size).map(FileBytes::Heap),
            None => FileBytes::open(&path),
        };
        match opened {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    /// The original bytes stored under `sha256`.
    pub fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.open(sha256)?.map(|bytes| match bytes {
            FileBytes::Heap(bytes) => bytes,
            FileBytes::Mapped(map) => map.to_vec(),
        }))
    }

    /// The file holding an entry's bytes, and the offset they start at when it is a pack.
    fn location(&self, entry: &ArchiveEntry) -> (PathBuf, Option<u64>) {
        match &entry.pack {
            Some(pack) => (self.dir.join(pack), Some(entry.offset)),
            None => (self.bytes_path(&entry.sha256), None),
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

/// `size` bytes of `path` from `offset`; an error, before anything is allocated, if the file
/// ends before.
fn read_range(path: &Path, offset: u64, size: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let fits = size <= IN_MEMORY_BYTES && offset.checked_add(size).is_some_and(|end| end <= len);
    if !fits {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("{size} bytes at {offset} are not in the pack"),
        ));
    }
    file.seek(SeekFrom::Start(offset))?;
    let len = usize::try_from(size).map_err(std::io::Error::other)?;
    let mut bytes = vec![0; len];
    file.read_exact(&mut bytes)?;
    Ok(bytes)
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
        // Another process sees the entry once it is synced, and a cut last line is not an
        // entry.
        let other = Archive::new(dir.path().join("archive"));
        assert!(!other.contains(&sha).unwrap(), "pending until synced");
        archive.sync().unwrap();
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
        reopened.sync().unwrap();
        assert_eq!(
            Archive::new(dir.path().join("archive"))
                .entries()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn small_files_share_packs_across_instances_threads_and_crashes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("archive");
        // Two instances stand for two processes taking turns; packs hold 1 KiB here.
        let a = Archive::with_pack_bytes(root.clone(), 1024);
        let b = Archive::with_pack_bytes(root.clone(), 1024);
        let mut expected = Vec::new();
        for i in 0..40 {
            let bytes = format!("第{i}号文件 ").repeat(i + 1).into_bytes();
            let sha = sha256_of(&bytes);
            let archive = if i % 2 == 0 { &a } else { &b };
            assert!(archive.put(&sha, &format!("{i}.txt"), &bytes).unwrap());
            archive.sync().unwrap();
            expected.push((sha, bytes));
            if i == 20 {
                // A crash in the middle of an append: bytes no entry refers to.
                let last = a.last_pack().unwrap().unwrap();
                let mut pack = std::fs::OpenOptions::new()
                    .append(true)
                    .open(root.join(pack_name(last)))
                    .unwrap();
                pack.write_all(b"half an append").unwrap();
            }
        }
        // Threads of one process.
        std::thread::scope(|scope| {
            for t in 0..4 {
                let a = &a;
                let expected = &expected;
                scope.spawn(move || {
                    for (i, (sha, known)) in expected.iter().enumerate().take(25) {
                        let bytes = format!("线程{t}第{i}份").into_bytes();
                        a.put(&sha256_of(&bytes), "t.txt", &bytes).unwrap();
                        // A file another thread or instance already stored is not appended.
                        assert!(!a.put(sha, "again.txt", known).unwrap());
                    }
                });
            }
        });
        a.sync().unwrap();
        let fresh = Archive::new(root.clone());
        assert_eq!(fresh.entries().unwrap().len(), 40 + 100);
        for (sha, bytes) in &expected {
            assert_eq!(fresh.get(sha).unwrap().as_ref(), Some(bytes));
        }
        for t in 0..4 {
            for i in 0..25 {
                let bytes = format!("线程{t}第{i}份").into_bytes();
                assert_eq!(fresh.get(&sha256_of(&bytes)).unwrap(), Some(bytes));
            }
        }
        let packs = fresh.last_pack().unwrap().unwrap();
        assert!(packs > 5, "1 KiB packs filled and new ones begun: {packs}");
        let files = std::fs::read_dir(&root).unwrap().count();
        assert!(files < 140 / 2, "{files} files for 140 entries");
    }

    #[test]
    fn the_same_bytes_from_many_threads_are_appended_once() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::new(dir.path().join("archive"));
        for round in 0..50 {
            let bytes = format!("第{round}轮").into_bytes();
            let sha = sha256_of(&bytes);
            let stored: usize = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..4)
                    .map(|_| {
                        scope.spawn(|| usize::from(archive.put(&sha, "x.txt", &bytes).unwrap()))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).sum()
            });
            assert_eq!(stored, 1, "round {round}");
        }
        archive.sync().unwrap();
        let lines = std::fs::read_to_string(dir.path().join("archive").join(CATALOG)).unwrap();
        assert_eq!(lines.lines().count(), 50);
    }

    #[test]
    fn an_entry_beyond_its_pack_is_an_error_not_an_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("archive");
        let archive = Archive::new(root.clone());
        let sha = sha256_of(b"abc");
        archive.put(&sha, "a.txt", b"abc").unwrap();
        archive.sync().unwrap();
        let catalog = std::fs::read_to_string(root.join(CATALOG)).unwrap();
        std::fs::write(
            root.join(CATALOG),
            catalog.replace("\"size\":3", "\"size\":1125899906842624"),
        )
        .unwrap();
        let damaged = Archive::new(root);
        assert!(matches!(damaged.get(&sha), Err(StoreError::Io { .. })));
    }

    #[test]
    fn large_bytes_are_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::new(dir.path().join("archive"));
        let bytes = vec![b'x'; IN_MEMORY_BYTES as usize + 1];
        let sha = sha256_of(&bytes);
        assert!(archive.put(&sha, "big.txt", &bytes).unwrap());
        assert_eq!(archive.entry(&sha).unwrap().unwrap().pack, None);
        assert_eq!(archive.get(&sha).unwrap(), Some(bytes));
    }

    #[test]
    fn files_archived_whole_before_packs_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("archive");
        let bytes = b"an original archived as its own file".to_vec();
        let sha = sha256_of(&bytes);
        std::fs::create_dir_all(root.join(&sha[..2])).unwrap();
        std::fs::write(root.join(&sha[..2]).join(format!("{sha}.orig")), &bytes).unwrap();
        let line = format!(
            "{{\"sha256\":\"{sha}\",\"path\":\"old.txt\",\"size\":{}}}\n",
            bytes.len()
        );
        std::fs::write(root.join(CATALOG), line).unwrap();
        let archive = Archive::new(root);
        assert_eq!(archive.entry(&sha).unwrap().unwrap().pack, None);
        assert_eq!(archive.get(&sha).unwrap(), Some(bytes));
        let newer = b"archived after".to_vec();
        assert!(archive.put(&sha256_of(&newer), "new.txt", &newer).unwrap());
        assert_eq!(archive.get(&sha256_of(&newer)).unwrap(), Some(newer));
    }
}
