//! Bulk import and reindex.
//!
//! ```text
//! paths ─ walk (dirs, .zip members) ─► workers (read, hash, archive, ingest) ─► bounded channel
//!                                       one per core, rayon                      │
//!                              index writer (tokenizes on its own threads) ◄─────┘
//! ```
//!
//! The workers run the whole pipeline on all cores; one tantivy writer with a fixed memory
//! budget receives their documents through a bounded channel, so a slow writer slows the
//! workers down instead of letting documents pile up in memory.
//!
//! Crash safety: the original bytes go to the archive (atomically) before their documents are
//! indexed, a file's documents are always committed together, and a document's id depends only
//! on its bytes and position. Killed at any moment, the index holds whole files from the last
//! commit; running the same import again finds those already indexed (duplicates) and indexes
//! the rest, each exactly once.

use std::collections::HashSet;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;
use tantivy::IndexWriter;
use utoipa::ToSchema;

use crate::index::store::{
    Archive, DataDir, FileBytes, IN_MEMORY_BYTES, StageError, Staged, copy_hashing,
};
use crate::index::{
    FileState, IndexError, SearchIndex, add, analyzed_len, delete_file, file_state,
};
use crate::ingest::{IngestError, Pipeline, Prepared, sha256_hex};
use crate::model::Document;

/// Default memory budget of the index writer, in bytes.
pub const DEFAULT_HEAP_BYTES: usize = 256 * 1024 * 1024;
/// Documents between commits by default (a commit makes progress survive a crash).
pub const DEFAULT_COMMIT_EVERY: usize = 20_000;
/// Longest time between commits.
const COMMIT_EVERY: Duration = Duration::from_secs(60);
/// Text handed to the index writer but not yet analysed by its threads, at most: what bounds
/// the documents waiting in memory (each holds its text about four times over).
const MAX_BYTES_IN_FLIGHT: u64 = 16 * 1024 * 1024;
/// How often progress is logged when there is no terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Extensions of files that are never documents: skipped and counted, not failed.
const NOT_DOCUMENTS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp", "ico", "svg", "mp3", "mp4", "wav",
    "avi", "mov", "wmv", "flv", "exe", "dll", "so", "dylib", "o", "a", "class", "jar", "pyc",
    "css", "js", "woff", "woff2", "ttf", "otf", "db", "sqlite", "lock", "ds_store", "json",
    "jsonl", "yaml", "yml", "toml",
];

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// A bar on a terminal, log lines otherwise.
    #[default]
    Auto,
    /// Nothing.
    Quiet,
}

/// Import settings.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub pipeline: Pipeline,
    /// Memory budget of the index writer.
    pub heap_bytes: usize,
    /// Worker threads for the pipeline and the writer (0: one per core).
    pub threads: usize,
    /// Documents between commits.
    pub commit_every: usize,
    pub progress: Progress,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            pipeline: Pipeline::default(),
            heap_bytes: DEFAULT_HEAP_BYTES,
            threads: 0,
            commit_every: DEFAULT_COMMIT_EVERY,
            progress: Progress::Auto,
        }
    }
}

impl ImportOptions {
    fn threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ImportReport {
    /// Files (and archive members) looked at, skipped ones included.
    pub files_seen: usize,
    /// Documents added to the index by this run.
    pub documents_indexed: usize,
    /// Files whose bytes were already indexed.
    pub duplicates: usize,
    /// Hidden files and files that are not documents (images, programs …).
    pub skipped: usize,
    /// Files indexed with warnings (damage that could not be repaired, replaced bytes …).
    pub warnings: usize,
    /// Files that yielded no documents, and why.
    pub failed: Vec<FailedFile>,
    /// Bytes of the files read.
    pub bytes: u64,
    pub seconds: f64,
}

/// A file that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FailedFile {
    pub path: String,
    pub error: String,
}

/// Why an import could not run at all (a single bad file never stops it).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("the import stopped: {0}")]
    Worker(String),
}

impl From<tantivy::TantivyError> for ImportError {
    fn from(e: tantivy::TantivyError) -> Self {
        ImportError::Index(IndexError::Tantivy(e))
    }
}

/// One thing to import.
#[derive(Debug, Clone)]
enum Input {
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
}

impl Input {
    fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::ZipMember { zip, name, .. } => format!("{}!/{name}", zip.display()),
            Input::Archived { name, .. } => name.clone(),
        }
    }
}

/// What the workers tell the writer. Messages of different inputs interleave; those of one
/// input come in order: its documents, the last one marked, or a failure, or a duplicate.
enum Message {
    /// A document of input `input`; `first` and `end` mark its first and last.
    Document {
        input: usize,
        doc: Box<Document>,
        first: Option<Begin>,
        end: Option<End>,
    },
    Duplicate {
        bytes: u64,
    },
    Failed {
        path: String,
        error: String,
        bytes: u64,
    },
}

/// What the writer needs to know before the first document of a file.
struct Begin {
    /// An earlier import committed some of the file's documents and stopped: they are deleted
    /// before it is indexed again.
    partial: bool,
}

/// What the writer needs to know with the last document of a file.
struct End {
    bytes: u64,
    warnings: bool,
}

/// An input read, unless the index holds it whole already.
enum Load {
    Complete { size: u64 },
    New(Loaded),
}

/// The bytes of one input, their hash, and how much of them the index holds.
struct Loaded {
    bytes: FileBytes,
    sha256: String,
    state: FileState,
    /// The copy in the archive's staging area a large input was read through.
    staged: Option<Staged>,
}

/// Imports files and directories (recursively, `.zip` members included) into the live index.
pub fn import(
    data: &DataDir,
    paths: &[PathBuf],
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let lock = data.lock_writes()?;
    let mut report = ImportReport::default();
    let inputs = collect_inputs(paths, &mut report);
    let index = data.open_or_create_live()?;
    let archive = data.archive();
    archive.clear_staging(&lock)?;
    let searcher = index.searcher();
    let pipeline = options.pipeline;
    let process = |at: usize, input: &Input, sender: &SyncSender<Message>| {
        let name = input.name();
        let failed = |error: String, bytes: u64| Message::Failed {
            path: name.clone(),
            error,
            bytes,
        };
        let state = |sha256: &str| file_state(&searcher, index.fields(), sha256);
        let loaded = match read_input(input, pipeline.max_file_bytes, &archive, &state) {
            Ok(Load::Complete { size }) => {
                return send(sender, Message::Duplicate { bytes: size });
            }
            Ok(Load::New(loaded)) => loaded,
            Err(error) => return send(sender, failed(error.to_string(), 0)),
        };
        let size = loaded.bytes.len() as u64;
        let partial = loaded.state == FileState::Partial;
        let prepared = match pipeline.prepare(&name, &loaded.bytes) {
            Ok(prepared) => prepared,
            Err(error) => return send(sender, failed(error.to_string(), size)),
        };
        // The original is in the archive before any of its documents can be committed.
        let archived = match loaded.staged {
            Some(staged) => archive.commit(staged, &name),
            None => archive.put(&loaded.sha256, &name, &loaded.bytes),
        };
        if let Err(e) = archived {
            return send(sender, failed(format!("cannot archive: {e}"), size));
        }
        stream(at, &prepared, &loaded.sha256, partial, size, sender, failed);
    };
    run(
        &index,
        &inputs,
        options,
        process,
        || archive.sync(),
        &mut report,
    )?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Sends a message; a closed channel means the writer gave up, and the workers stop quietly.
fn send(sender: &SyncSender<Message>, message: Message) {
    let _ = sender.send(message);
}

/// Runs the second pass of a prepared input and sends its documents as they come, holding
/// each back until the next arrives so that the last one goes out marked.
fn stream(
    input: usize,
    prepared: &Prepared<'_>,
    sha256: &str,
    partial: bool,
    bytes: u64,
    sender: &SyncSender<Message>,
    failed: impl Fn(String, u64) -> Message,
) {
    let mut held: Option<Document> = None;
    let mut first = Some(Begin { partial });
    let mut warnings = false;
    let result = prepared.run(sha256, |doc| {
        warnings |= !doc.warnings.is_empty();
        if let Some(previous) = held.replace(doc) {
            send(
                sender,
                Message::Document {
                    input,
                    doc: Box::new(previous),
                    first: first.take(),
                    end: None,
                },
            );
        }
    });
    match result {
        // `run` counts the documents it emits and fails on none, so one is held here.
        Ok(_) => {
            if let Some(last) = held {
                send(
                    sender,
                    Message::Document {
                        input,
                        doc: Box::new(last),
                        first: first.take(),
                        end: Some(End { bytes, warnings }),
                    },
                );
            }
        }
        // Only before the first document: nothing of the file was sent.
        Err(error) => send(sender, failed(error.to_string(), bytes)),
    }
}

/// Rebuilds the whole index from the archive into a new generation and publishes it. The
/// live index is untouched until the new one is complete; returns the report and the new
/// generation's directory.
pub fn reindex(
    data: &DataDir,
    options: &ImportOptions,
) -> Result<(ImportReport, PathBuf), ImportError> {
    let started = Instant::now();
    let _lock = data.lock_writes()?;
    let mut report = ImportReport::default();
    let archive = data.archive();
    let inputs: Vec<Input> = archive
        .entries()?
        .into_iter()
        .map(|entry| Input::Archived {
            sha256: entry.sha256,
            name: entry.path,
        })
        .collect();
    report.files_seen = inputs.len();
    let dir = data.new_generation_dir()?;
    let index = SearchIndex::create(&dir)?;
    // Everything in the archive was accepted once: the size limit does not apply again.
    let pipeline = Pipeline {
        max_file_bytes: u64::MAX,
    };
    let process = |at: usize, input: &Input, sender: &SyncSender<Message>| {
        let name = input.name();
        let failed = |error: String, bytes: u64| Message::Failed {
            path: name.clone(),
            error,
            bytes,
        };
        let Input::Archived { sha256, .. } = input else {
            return send(sender, failed("not an archive entry".to_string(), 0));
        };
        let bytes = match archive.open(sha256) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                return send(
                    sender,
                    failed(format!("archive entry {sha256} is missing"), 0),
                );
            }
            Err(e) => return send(sender, failed(e.to_string(), 0)),
        };
        let size = bytes.len() as u64;
        match pipeline.prepare(&name, &bytes) {
            Ok(prepared) => stream(at, &prepared, sha256, false, size, sender, failed),
            Err(error) => send(sender, failed(error.to_string(), size)),
        }
    };
    run(&index, &inputs, options, process, || Ok(()), &mut report)?;
    data.publish(&dir)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok((report, dir))
}

/// Runs `process` over `inputs` on the worker pool and indexes what it sends; `before_commit`
/// makes what the documents refer to durable first. Commits may fall between two documents of
/// one file: a file is complete in the index once its last document is committed (see
/// [`FileState`]).
fn run<F, S>(
    index: &SearchIndex,
    inputs: &[Input],
    options: &ImportOptions,
    process: F,
    before_commit: S,
    report: &mut ImportReport,
) -> Result<(), ImportError>
where
    F: Fn(usize, &Input, &SyncSender<Message>) + Sync,
    S: Fn() -> Result<(), IndexError>,
{
    let threads = options.threads();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("gongwen-ingest-{i}"))
        .build()
        .map_err(|e| ImportError::Worker(e.to_string()))?;
    let mut writer = index.writer(options.heap_bytes, threads)?;
    let (sender, receiver) = sync_channel::<Message>(threads * 4);
    let mut progress = ProgressReporter::new(options.progress, inputs.len() as u64);
    let result = std::thread::scope(|scope| -> Result<(), ImportError> {
        scope.spawn(|| {
            pool.install(|| {
                inputs
                    .par_iter()
                    .enumerate()
                    .for_each_with(sender, |sender, (at, input)| process(at, input, sender))
            })
        });
        // Files seen in this run, and the inputs whose documents are dropped because another
        // input of the same bytes came first.
        let mut seen: HashSet<String> = HashSet::new();
        let mut ignored: HashSet<usize> = HashSet::new();
        let mut since_commit = 0;
        let mut bytes_since_commit = 0u64;
        // tantivy holds on to memory for every segment flushed since the last commit: commit
        // at least once per writer budget of text, so memory follows the budget, not the corpus.
        let commit_every_bytes = (options.heap_bytes as u64 / 4).max(8 * 1024 * 1024);
        let mut sent = index.analyzed_bytes();
        let mut last_commit = Instant::now();
        for message in receiver {
            let mut file_done = true;
            match message {
                Message::Document {
                    input,
                    doc,
                    first,
                    end,
                } => {
                    if let Some(begin) = first {
                        if !seen.insert(doc.source.sha256.clone()) {
                            ignored.insert(input);
                        } else if begin.partial {
                            delete_file(&writer, index.fields(), &doc.source.sha256);
                        }
                    }
                    let skip = ignored.contains(&input);
                    if !skip {
                        // Back-pressure: wait for the writer's threads to catch up.
                        while sent.saturating_sub(index.analyzed_bytes()) > MAX_BYTES_IN_FLIGHT {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        add(&writer, index.fields(), &doc, end.is_some())?;
                        sent += analyzed_len(&doc);
                        bytes_since_commit += analyzed_len(&doc);
                        report.documents_indexed += 1;
                        since_commit += 1;
                    }
                    match end {
                        Some(end) => {
                            report.bytes += end.bytes;
                            if skip {
                                report.duplicates += 1;
                                ignored.remove(&input);
                            } else if end.warnings {
                                report.warnings += 1;
                            }
                        }
                        None => file_done = false,
                    }
                }
                Message::Duplicate { bytes } => {
                    report.bytes += bytes;
                    report.duplicates += 1;
                }
                Message::Failed { path, error, bytes } => {
                    report.bytes += bytes;
                    report.failed.push(FailedFile { path, error });
                }
            }
            if file_done {
                progress.tick(report);
            }
            if since_commit >= options.commit_every.max(1)
                || bytes_since_commit >= commit_every_bytes
                || (since_commit > 0 && last_commit.elapsed() > COMMIT_EVERY)
            {
                before_commit()?;
                commit(&mut writer)?;
                since_commit = 0;
                bytes_since_commit = 0;
                last_commit = Instant::now();
            }
        }
        before_commit()?;
        commit(&mut writer)?;
        Ok(())
    });
    progress.finish(report);
    result?;
    writer.wait_merging_threads()?;
    index.reload()?;
    Ok(())
}

fn commit(writer: &mut IndexWriter) -> Result<(), ImportError> {
    writer.commit()?;
    Ok(())
}

/// Expands paths into inputs: directories recursively (sorted), zip files into their members.
fn collect_inputs(paths: &[PathBuf], report: &mut ImportReport) -> Vec<Input> {
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
            let error = if e.kind() == std::io::ErrorKind::NotFound {
                "no such file (or a link to nothing)".to_string()
            } else {
                format!("cannot be read: {e}")
            };
            report.failed.push(FailedFile {
                path: root.display().to_string(),
                error,
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
                report.failed.push(FailedFile {
                    path: e.path().unwrap_or(root).display().to_string(),
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
type StateOf<'a> = &'a dyn Fn(&str) -> Result<FileState, IndexError>;

/// Reads an input, refusing it before reading if it is over `limit` bytes: a small one into
/// memory, a large one through a copy in the archive's staging area (never whole in memory),
/// made only once its hash shows the index does not hold it whole already.
fn read_input(
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
                    return Ok(Load::Complete { size: staged.size });
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
        Input::Archived { .. } => Err(unreadable(std::io::Error::other(
            "archive entries are read by reindex",
        ))),
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

/// A progress bar on a terminal, a log line every few seconds otherwise.
struct ProgressReporter {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
    total: u64,
    done: u64,
    started: Instant,
    last_log: Instant,
}

impl ProgressReporter {
    fn new(mode: Progress, total: u64) -> ProgressReporter {
        let quiet = mode == Progress::Quiet;
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            let style = indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} files  {msg}  ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        ProgressReporter {
            bar,
            quiet,
            total,
            done: 0,
            started: Instant::now(),
            last_log: Instant::now(),
        }
    }

    fn summary(&self, report: &ImportReport) -> String {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        format!(
            "{} documents, {:.1} MB/s",
            report.documents_indexed,
            report.bytes as f64 / 1e6 / seconds
        )
    }

    fn tick(&mut self, report: &ImportReport) {
        self.done += 1;
        if self.quiet {
            return;
        }
        if let Some(bar) = &self.bar {
            bar.set_position(self.done);
            bar.set_message(self.summary(report));
        } else if self.last_log.elapsed() >= LOG_EVERY {
            self.last_log = Instant::now();
            tracing::info!(
                "imported {}/{} files, {}",
                self.done,
                self.total,
                self.summary(report)
            );
        }
    }

    fn finish(&mut self, report: &ImportReport) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(self.summary(report));
        }
    }
}
