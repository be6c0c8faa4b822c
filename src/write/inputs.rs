//! What a write reads: files and directories walked (with `.zip` members), uploaded bytes,
//! and archive entries for a reindex; each read into memory when small, or through a copy in
//! the archive's staging area when large, and hashed on the way.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{FailedFile, ImportReport};
use crate::index::{FileState, IndexError};
use crate::ingest::{IngestError, sha256_hex};
use crate::store::{Archive, FileBytes, IN_MEMORY_BYTES, StageError, Staged, copy_hashing};

/// Extensions of files that are never documents: skipped and counted, not failed.
const NOT_DOCUMENTS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp", "ico", "svg", "mp3", "mp4", "wav",
    "avi", "mov", "wmv", "flv", "exe", "dll", "so", "dylib", "o", "a", "class", "jar", "pyc",
    "css", "js", "woff", "woff2", "ttf", "otf", "db", "sqlite", "lock", "ds_store", "json",
    "jsonl", "yaml", "yml", "toml",
];

/// One thing to import.
#[derive(Debug, Clone)]
pub(super) enum Input {
    File(PathBuf),
    /// A member of a zip file, by index, with its decoded name.
    ZipMember {
        zip: PathBuf,
        index: usize,
        name: String,
        size: u64,
    },
    /// A file already in the archive (reindex).
    Archived {
        sha256: String,
        name: String,
    },
    /// Bytes that came in an upload.
    Bytes {
        name: String,
        bytes: Arc<[u8]>,
    },
}

impl Input {
    pub(super) fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::ZipMember { zip, name, .. } => format!("{}!/{name}", zip.display()),
            Input::Archived { name, .. } | Input::Bytes { name, .. } => name.clone(),
        }
    }
}

/// An input read, unless the index holds it whole already.
pub(super) enum Load {
    Complete { size: u64, sha256: String },
    New(Loaded),
}

/// The bytes of one input, their hash, and how much of them the index holds.
pub(super) struct Loaded {
    pub(super) bytes: FileBytes,
    pub(super) sha256: String,
    pub(super) state: FileState,
    /// The copy in the archive's staging area a large input was read through.
    pub(super) staged: Option<Staged>,
}

/// Expands paths into inputs: directories recursively (sorted), zip files into their members.
pub(super) fn collect_inputs(paths: &[PathBuf], report: &mut ImportReport) -> Vec<Input> {
    let mut inputs = Vec::new();
    for path in paths {
        walk(path, &mut inputs, report);
    }
    inputs
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with("__MACOSX") || name == "Thumbs.db"
}

fn extension(name: &str) -> String {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Adds the files under `root` (or `root` itself) to `inputs`, in name order. Symbolic links
/// are followed only to files and directories inside `root` (an import never reaches outside
/// what it was given), and every directory is walked once however many links lead to it, so
/// link loops end.
fn walk(root: &Path, inputs: &mut Vec<Input>, report: &mut ImportReport) {
    let base = match std::fs::canonicalize(root) {
        Ok(base) => base,
        Err(e) => {
            report.files_seen += 1;
            let missing = e.kind() == std::io::ErrorKind::NotFound;
            let error = if missing {
                "no such file (or a link to nothing)".to_string()
            } else {
                format!("cannot be read: {e}")
            };
            report.failed.push(FailedFile {
                path: root.display().to_string(),
                error,
                code: if missing { "not_found" } else { "unreadable" },
            });
            return;
        }
    };
    let mut visited: HashSet<(u64, u64)> = HashSet::new();
    let left_out = std::cell::Cell::new(0);
    let entries = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            let keep = entry.depth() == 0
                || !is_hidden(&entry.file_name().to_string_lossy())
                    && (!entry.path_is_symlink()
                        || std::fs::canonicalize(entry.path())
                            .is_ok_and(|target| target.starts_with(&base)));
            let first_visit = !entry.file_type().is_dir()
                || entry
                    .metadata()
                    .is_ok_and(|m| visited.insert(file_identity(&m)));
            if !(keep && first_visit) {
                left_out.set(left_out.get() + 1);
            }
            keep && first_visit
        });
    for entry in entries {
        match entry {
            Ok(entry) if entry.file_type().is_dir() => {}
            Ok(entry) => add_file(entry.path(), inputs, report),
            // A link back to a directory being walked.
            Err(e) if e.loop_ancestor().is_some() => left_out.set(left_out.get() + 1),
            Err(e) => {
                report.files_seen += 1;
                let missing = e
                    .io_error()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound);
                report.failed.push(FailedFile {
                    path: e.path().unwrap_or(root).display().to_string(),
                    code: if missing { "not_found" } else { "unreadable" },
                    error: match e.io_error() {
                        Some(io) if io.kind() == std::io::ErrorKind::NotFound => {
                            "no such file (or a link to nothing)".to_string()
                        }
                        Some(io) => format!("cannot be read: {io}"),
                        None => e.to_string(),
                    },
                });
            }
        }
    }
    report.files_seen += left_out.get();
    report.skipped += left_out.get();
}

/// What tells two paths to the same file apart from two files.
#[cfg(unix)]
fn file_identity(metadata: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (metadata.dev(), metadata.ino())
}

#[cfg(not(unix))]
fn file_identity(_metadata: &std::fs::Metadata) -> (u64, u64) {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    (0, NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

fn add_file(path: &Path, inputs: &mut Vec<Input>, report: &mut ImportReport) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ext = extension(name);
    if ext == "zip" {
        zip_members(path, inputs, report);
        return;
    }
    report.files_seen += 1;
    if NOT_DOCUMENTS.contains(&ext.as_str()) {
        report.skipped += 1;
        return;
    }
    inputs.push(Input::File(path.to_path_buf()));
}

/// A zip member's name: UTF-8 if flagged or valid, else GBK (what Chinese Windows writes),
/// else the zip crate's CP437 reading.
fn member_name(raw: &[u8], fallback: &str) -> String {
    if let Ok(utf8) = std::str::from_utf8(raw) {
        return utf8.to_string();
    }
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(raw)
        .map_or_else(|| fallback.to_string(), |s| s.into_owned())
}

fn zip_members(path: &Path, inputs: &mut Vec<Input>, report: &mut ImportReport) {
    let opened = std::fs::File::open(path)
        .map_err(|e| e.to_string())
        .and_then(|f| zip::ZipArchive::new(f).map_err(|e| e.to_string()));
    let mut archive = match opened {
        Ok(archive) => archive,
        Err(error) => {
            report.files_seen += 1;
            report.failed.push(FailedFile {
                path: path.display().to_string(),
                error: format!("not a readable zip archive: {error}"),
                code: "unreadable",
            });
            return;
        }
    };
    for index in 0..archive.len() {
        let Ok(member) = archive.by_index(index) else {
            report.files_seen += 1;
            report.failed.push(FailedFile {
                path: format!("{}!/#{index}", path.display()),
                error: "unreadable zip entry".to_string(),
                code: "unreadable",
            });
            continue;
        };
        if member.is_dir() {
            continue;
        }
        let name = member_name(member.name_raw(), member.name());
        report.files_seen += 1;
        let base = name.rsplit('/').next().unwrap_or(&name);
        if name.split('/').any(is_hidden) || NOT_DOCUMENTS.contains(&extension(base).as_str()) {
            report.skipped += 1;
            continue;
        }
        inputs.push(Input::ZipMember {
            zip: path.to_path_buf(),
            index,
            name,
            size: member.size(),
        });
    }
}

/// How much of the file with a hash the index holds.
pub(super) type StateOf<'a> = &'a dyn Fn(&str) -> Result<FileState, IndexError>;

/// Reads an input, refusing it before reading if it is over `limit` bytes: a small one into
/// memory, a large one through a copy in the archive's staging area (never whole in memory),
/// made only once its hash shows the index does not hold it whole already.
pub(super) fn read_input(
    input: &Input,
    limit: u64,
    archive: &Archive,
    state_of: StateOf<'_>,
) -> Result<Load, IngestError> {
    let name = input.name();
    let too_large = |size: u64| IngestError::TooLarge {
        path: name.clone(),
        size,
        limit,
    };
    let unreadable = |source: std::io::Error| IngestError::Read {
        path: name.clone(),
        source,
    };
    let state = |sha256: &str| state_of(sha256).map_err(|e| unreadable(std::io::Error::other(e)));
    let staged = |result: Result<Staged, StageError>| -> Result<Load, IngestError> {
        match result {
            Ok(staged) => {
                let state = state(&staged.sha256)?;
                if state == FileState::Complete {
                    return Ok(Load::Complete {
                        size: staged.size,
                        sha256: staged.sha256.clone(),
                    });
                }
                Ok(Load::New(Loaded {
                    bytes: staged.bytes().map_err(unreadable)?,
                    sha256: staged.sha256.clone(),
                    state,
                    staged: Some(staged),
                }))
            }
            Err(StageError::TooLarge(size)) => Err(too_large(size)),
            Err(StageError::Io(e)) => Err(unreadable(e)),
        }
    };
    let in_memory = |bytes: Vec<u8>| -> Result<Load, IngestError> {
        let sha256 = sha256_hex(&bytes);
        Ok(match state(&sha256)? {
            FileState::Complete => Load::Complete {
                size: bytes.len() as u64,
                sha256,
            },
            state => Load::New(Loaded {
                bytes: FileBytes::Heap(bytes),
                sha256,
                state,
                staged: None,
            }),
        })
    };
    match input {
        Input::File(path) => {
            let metadata = std::fs::metadata(path).map_err(unreadable)?;
            if metadata.len() > limit {
                return Err(too_large(metadata.len()));
            }
            if metadata.len() <= IN_MEMORY_BYTES {
                return in_memory(std::fs::read(path).map_err(unreadable)?);
            }
            // Hash first: a large file imported before is not copied again.
            let file = std::fs::File::open(path).map_err(unreadable)?;
            let (sha256, _) = match copy_hashing(file, &mut std::io::sink(), limit) {
                Ok(hashed) => hashed,
                Err(StageError::TooLarge(size)) => return Err(too_large(size)),
                Err(StageError::Io(e)) => return Err(unreadable(e)),
            };
            if state(&sha256)? == FileState::Complete {
                return Ok(Load::Complete {
                    size: metadata.len(),
                    sha256,
                });
            }
            let file = std::fs::File::open(path).map_err(unreadable)?;
            staged(archive.stage(file, limit))
        }
        Input::ZipMember {
            zip, index, size, ..
        } => {
            if *size > limit {
                return Err(too_large(*size));
            }
            with_zip(zip, |archived| {
                let mut member = archived.by_index(*index).map_err(std::io::Error::other)?;
                // The declared size can lie: read what fits in memory, and stage the member
                // if there is more.
                let mut head = Vec::with_capacity((*size).min(IN_MEMORY_BYTES) as usize);
                (&mut member)
                    .take(IN_MEMORY_BYTES + 1)
                    .read_to_end(&mut head)?;
                if head.len() as u64 <= IN_MEMORY_BYTES {
                    return Ok(in_memory(head));
                }
                Ok(staged(
                    archive.stage(std::io::Cursor::new(head).chain(member), limit),
                ))
            })
            .map_err(unreadable)?
        }
        Input::Bytes { bytes, .. } => {
            if bytes.len() as u64 > limit {
                return Err(too_large(bytes.len() as u64));
            }
            in_memory(bytes.to_vec())
        }
        Input::Archived { sha256, .. } => match archive.open(sha256) {
            Ok(Some(bytes)) => Ok(match state(sha256)? {
                FileState::Complete => Load::Complete {
                    size: bytes.len() as u64,
                    sha256: sha256.clone(),
                },
                state => Load::New(Loaded {
                    bytes,
                    sha256: sha256.clone(),
                    state,
                    staged: None,
                }),
            }),
            Ok(None) => Err(unreadable(std::io::Error::other(format!(
                "archive entry {sha256} is missing"
            )))),
            Err(e) => Err(unreadable(std::io::Error::other(e))),
        },
    }
}

thread_local! {
    /// The zip archive this worker read last: members of one archive come one after another,
    /// and reading an archive's directory again for each of them would be quadratic.
    static OPEN_ZIP: std::cell::RefCell<Option<(PathBuf, zip::ZipArchive<std::fs::File>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `read` on the archive at `path`, opened once per worker.
fn with_zip<T>(
    path: &Path,
    read: impl FnOnce(&mut zip::ZipArchive<std::fs::File>) -> std::io::Result<T>,
) -> std::io::Result<T> {
    OPEN_ZIP.with_borrow_mut(|open| {
        if open.as_ref().is_none_or(|(p, _)| p != path) {
            let file = std::fs::File::open(path)?;
            let archive = zip::ZipArchive::new(file).map_err(std::io::Error::other)?;
            *open = Some((path.to_path_buf(), archive));
        }
        match open {
            Some((_, archive)) => read(archive),
            None => Err(std::io::Error::other("zip archive not open")),
        }
    })
}
