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
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;
use tantivy::IndexWriter;
use utoipa::ToSchema;

use crate::index::store::DataDir;
use crate::index::{IndexError, SearchIndex, add_new, analyzed_len};
use crate::ingest::{IngestError, Pipeline, document_id, sha256_hex};
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

/// What the workers tell the writer about one input.
enum Outcome {
    Documents {
        sha256: String,
        documents: Vec<Document>,
        bytes: u64,
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

/// Imports files and directories (recursively, `.zip` members included) into the live index.
pub fn import(
    data: &DataDir,
    paths: &[PathBuf],
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let _lock = data.lock_writes()?;
    let mut report = ImportReport::default();
    let inputs = collect_inputs(paths, &mut report);
    let index = data.open_or_create_live()?;
    let archive = data.archive();
    let searcher = index.searcher();
    let id_field = index.fields().id;
    let already_indexed = |sha256: &str| {
        let term = tantivy::Term::from_field_text(id_field, &document_id(sha256, 1));
        searcher.doc_freq(&term).is_ok_and(|n| n > 0)
    };
    let pipeline = options.pipeline;
    let process = |input: &Input| -> Outcome {
        let name = input.name();
        let bytes = match read_input(input, pipeline.max_file_bytes) {
            Ok(bytes) => bytes,
            Err(error) => {
                return Outcome::Failed {
                    path: name,
                    error: error.to_string(),
                    bytes: 0,
                };
            }
        };
        let size = bytes.len() as u64;
        let sha256 = sha256_hex(&bytes);
        if already_indexed(&sha256) {
            return Outcome::Duplicate { bytes: size };
        }
        match pipeline.ingest_bytes(&name, &bytes) {
            Ok(documents) => match archive.put(&sha256, &name, &bytes) {
                Ok(_) => Outcome::Documents {
                    sha256,
                    documents,
                    bytes: size,
                },
                Err(e) => Outcome::Failed {
                    path: name,
                    error: format!("cannot archive: {e}"),
                    bytes: size,
                },
            },
            Err(error) => Outcome::Failed {
                path: name,
                error: error.to_string(),
                bytes: size,
            },
        }
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
    let process = |input: &Input| -> Outcome {
        let Input::Archived { sha256, name } = input else {
            return Outcome::Failed {
                path: input.name(),
                error: "not an archive entry".to_string(),
                bytes: 0,
            };
        };
        match archive.get(sha256) {
            Ok(Some(bytes)) => {
                let size = bytes.len() as u64;
                match pipeline.ingest_bytes(name, &bytes) {
                    Ok(documents) => Outcome::Documents {
                        sha256: sha256.clone(),
                        documents,
                        bytes: size,
                    },
                    Err(e) => Outcome::Failed {
                        path: name.clone(),
                        error: e.to_string(),
                        bytes: size,
                    },
                }
            }
            Ok(None) => Outcome::Failed {
                path: name.clone(),
                error: format!("archive entry {sha256} is missing"),
                bytes: 0,
            },
            Err(e) => Outcome::Failed {
                path: name.clone(),
                error: e.to_string(),
                bytes: 0,
            },
        }
    };
    run(&index, &inputs, options, process, || Ok(()), &mut report)?;
    data.publish(&dir)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok((report, dir))
}

/// Runs `process` over `inputs` on the worker pool and indexes what it yields; `before_commit`
/// makes what the documents refer to durable first.
fn run<F, S>(
    index: &SearchIndex,
    inputs: &[Input],
    options: &ImportOptions,
    process: F,
    before_commit: S,
    report: &mut ImportReport,
) -> Result<(), ImportError>
where
    F: Fn(&Input) -> Outcome + Sync,
    S: Fn() -> Result<(), IndexError>,
{
    let threads = options.threads();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("gongwen-ingest-{i}"))
        .build()
        .map_err(|e| ImportError::Worker(e.to_string()))?;
    let mut writer = index.writer(options.heap_bytes, threads)?;
    let (sender, receiver) = sync_channel::<Outcome>(threads * 4);
    let mut progress = ProgressReporter::new(options.progress, inputs.len() as u64);
    let result = std::thread::scope(|scope| -> Result<(), ImportError> {
        scope.spawn(|| {
            pool.install(|| {
                inputs.par_iter().for_each_with(sender, |sender, input| {
                    // A closed channel means the writer gave up; stop quietly.
                    let _ = sender.send(process(input));
                })
            })
        });
        let mut seen: HashSet<String> = HashSet::new();
        let mut since_commit = 0;
        let mut bytes_since_commit = 0u64;
        // tantivy holds on to memory for every segment flushed since the last commit: commit
        // at least once per writer budget of text, so memory follows the budget, not the corpus.
        let commit_every_bytes = (options.heap_bytes as u64 / 4).max(8 * 1024 * 1024);
        let mut sent = index.analyzed_bytes();
        let mut last_commit = Instant::now();
        for outcome in receiver {
            match outcome {
                Outcome::Documents {
                    sha256,
                    documents,
                    bytes,
                } => {
                    report.bytes += bytes;
                    if !seen.insert(sha256) {
                        report.duplicates += 1;
                    } else {
                        if documents.iter().any(|d| !d.warnings.is_empty()) {
                            report.warnings += 1;
                        }
                        for doc in &documents {
                            // Back-pressure: wait for the writer's threads to catch up.
                            while sent.saturating_sub(index.analyzed_bytes()) > MAX_BYTES_IN_FLIGHT
                            {
                                std::thread::sleep(Duration::from_millis(2));
                            }
                            add_new(&writer, index.fields(), doc)?;
                            sent += analyzed_len(doc);
                            bytes_since_commit += analyzed_len(doc);
                        }
                        report.documents_indexed += documents.len();
                        since_commit += documents.len();
                    }
                }
                Outcome::Duplicate { bytes } => {
                    report.bytes += bytes;
                    report.duplicates += 1;
                }
                Outcome::Failed { path, error, bytes } => {
                    report.bytes += bytes;
                    report.failed.push(FailedFile { path, error });
                }
            }
            progress.tick(report);
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
        walk(path, true, &mut inputs, report);
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

fn walk(path: &Path, explicit: bool, inputs: &mut Vec<Input>, report: &mut ImportReport) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !explicit && is_hidden(name) {
        report.files_seen += 1;
        report.skipped += 1;
        return;
    }
    let metadata = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            report.files_seen += 1;
            let error = if e.kind() == std::io::ErrorKind::NotFound {
                "no such file (or a link to nothing)".to_string()
            } else {
                format!("cannot be read: {e}")
            };
            report.failed.push(FailedFile {
                path: path.display().to_string(),
                error,
            });
            return;
        }
    };
    if metadata.is_dir() {
        match std::fs::read_dir(path) {
            Ok(entries) => {
                let mut children: Vec<PathBuf> =
                    entries.filter_map(Result::ok).map(|e| e.path()).collect();
                children.sort();
                for child in children {
                    walk(&child, false, inputs, report);
                }
            }
            Err(e) => report.failed.push(FailedFile {
                path: path.display().to_string(),
                error: format!("cannot list the directory: {e}"),
            }),
        }
        return;
    }
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

/// Reads an input, refusing it before reading if it is over `limit` bytes.
fn read_input(input: &Input, limit: u64) -> Result<Vec<u8>, IngestError> {
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
    match input {
        Input::File(path) => {
            let metadata = std::fs::metadata(path).map_err(unreadable)?;
            if metadata.len() > limit {
                return Err(too_large(metadata.len()));
            }
            std::fs::read(path).map_err(unreadable)
        }
        Input::ZipMember {
            zip, index, size, ..
        } => {
            if *size > limit {
                return Err(too_large(*size));
            }
            let mut bytes = Vec::with_capacity(*size as usize);
            with_zip(zip, |archive| {
                let member = archive.by_index(*index).map_err(std::io::Error::other)?;
                // The declared size can lie: never read past the limit.
                member.take(limit + 1).read_to_end(&mut bytes)
            })
            .map_err(unreadable)?;
            if bytes.len() as u64 > limit {
                return Err(too_large(bytes.len() as u64));
            }
            Ok(bytes)
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
