//! The one write path: everything that changes a data directory goes through [`Writes`] —
//! `gongwen import`, `POST /api/documents`, `DELETE /api/documents/{id}`, `gongwen reindex`
//! and `POST /api/reindex`, and the first start's import of the bundled corpus.
//!
//! ```text
//! inputs ─ read + hash ─ known whole? ─ pipeline ─ archive ─► bounded channel ─► index writer
//!          (staged if      (skip, before   (all cores,          (back-pressure)    commit ─►
//!           large)          any work)       rayon)                                  publish
//! ```
//!
//! - Writes are serialised by the data directory's write lock, across processes; under it the
//!   live generation cannot change, so a write always lands in the published generation
//!   ([`LiveIndex::refresh`] under the lock).
//! - Crash safety: the original bytes are in the archive before any of their documents can be
//!   committed; a file is whole in the index once its last document (which carries the file's
//!   completion mark) is committed; a file found partly indexed is deleted and indexed again;
//!   ids depend only on the bytes and the position. Killed at any moment and run again, an
//!   import ends with every file indexed exactly once.
//! - A reindex builds a new generation from the archive without holding the write lock, so
//!   imports, uploads and deletes go on meanwhile; it then takes the lock, replays what they
//!   committed, and publishes.
//! - Progress is a [`Progress`] the caller passes in; the library draws nothing.

mod inputs;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;
use tantivy::IndexWriter;
use utoipa::ToSchema;

use crate::index::{FileState, IndexError, LiveIndex, SearchIndex, add, delete_file, file_state};
use crate::ingest::{Pipeline, Prepared};
use crate::model::Document;
use crate::store::{Archive, DataDir, StoreError};
use inputs::{Input, Load, collect_inputs, read_input};

/// Default memory budget of the index writer, in bytes.
pub const DEFAULT_HEAP_BYTES: usize = 256 * 1024 * 1024;
/// Documents between commits by default (a commit makes progress survive a crash).
pub const DEFAULT_COMMIT_EVERY: usize = 20_000;
/// Longest time between commits.
const COMMIT_EVERY: Duration = Duration::from_secs(60);
/// Text handed to the index writer but not yet analysed by its threads, at most: what bounds
/// the documents waiting in memory.
const MAX_BYTES_IN_FLIGHT: u64 = 16 * 1024 * 1024;
/// The writer budget of a single upload or delete.
const SMALL_WRITE_HEAP_BYTES: usize = 50 * 1024 * 1024;

/// Write settings.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    pub pipeline: Pipeline,
    /// Memory budget of the index writer of an import or reindex.
    pub heap_bytes: usize,
    /// Worker threads for the pipeline and the writer (0: one per core).
    pub threads: usize,
    /// Documents between commits.
    pub commit_every: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            pipeline: Pipeline::default(),
            heap_bytes: DEFAULT_HEAP_BYTES,
            threads: 0,
            commit_every: DEFAULT_COMMIT_EVERY,
        }
    }
}

impl WriteOptions {
    fn threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        }
    }
}

/// What a write reports as it goes.
pub trait Progress: Sync {
    /// `files` inputs are about to be read.
    fn start(&self, _files: usize) {}
    /// One more input is done; `report` is the running total.
    fn advance(&self, _report: &ImportReport) {}
    /// The write is done.
    fn finish(&self, _report: &ImportReport) {}
}

/// Progress nobody watches.
pub struct Quiet;

impl Progress for Quiet {}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ImportReport {
    /// Files (and archive members) looked at, skipped ones included.
    pub files_seen: usize,
    /// Documents added to the index by this run.
    pub documents_indexed: usize,
    /// Files whose bytes were already indexed.
    pub duplicates: usize,
    /// Hidden files, files that are not documents (images, programs …), links out of the
    /// import, directories reached twice.
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
    /// `not_found`, `unreadable`, `too_large`, `empty`, `not_text`, `no_text`, or `internal`
    /// for a fault of gongwen's (the archive failed).
    pub code: &'static str,
}

/// A document a write added, as an upload reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Added {
    pub id: String,
    pub title: Option<String>,
    /// Warnings of the document (damage that could not be repaired …).
    pub warnings: usize,
}

impl Added {
    fn of(doc: &Document) -> Added {
        Added {
            id: doc.id.clone(),
            title: doc.title.clone(),
            warnings: doc.warnings.len(),
        }
    }
}

/// What an upload did.
#[derive(Debug, Clone)]
pub struct Upload {
    pub report: ImportReport,
    /// The documents of the upload, new or (for a duplicate) already indexed.
    pub documents: Vec<Added>,
    /// True when these bytes were indexed before: nothing changed.
    pub duplicate: bool,
}

/// Why a write could not run at all (a single bad file never stops an import).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("the write stopped: {0}")]
    Worker(String),
}

impl From<StoreError> for WriteError {
    fn from(e: StoreError) -> Self {
        WriteError::Index(IndexError::Store(e))
    }
}

impl From<tantivy::TantivyError> for WriteError {
    fn from(e: tantivy::TantivyError) -> Self {
        WriteError::Index(IndexError::Tantivy(e))
    }
}

/// The writes to one data directory.
#[derive(Debug, Clone)]
pub struct Writes {
    data: DataDir,
    options: WriteOptions,
}

impl Writes {
    pub fn new(data: DataDir, options: WriteOptions) -> Writes {
        Writes { data, options }
    }

    pub fn data(&self) -> &DataDir {
        &self.data
    }

    /// Imports files and directories (recursively, `.zip` members included) into the live
    /// index of `live`.
    pub fn import(
        &self,
        live: &LiveIndex,
        paths: &[PathBuf],
        progress: &dyn Progress,
    ) -> Result<ImportReport, WriteError> {
        let started = Instant::now();
        let lock = self.data.lock_writes()?;
        let archive = self.data.archive();
        archive.clear_staging(&lock)?;
        let mut report = ImportReport::default();
        let inputs = collect_inputs(paths, &mut report);
        let index = live.refresh()?;
        let run = Run {
            index: &index,
            options: self.options,
            archive: &archive,
            keep_originals: true,
            deleted: self.data.deleted()?,
            collect: false,
            bulk: true,
        };
        run.go(&inputs, &mut report, progress)?;
        report.seconds = started.elapsed().as_secs_f64();
        live.refresh()?;
        Ok(report)
    }

    /// Indexes an uploaded file (a `.zip` is imported member by member). A file indexed
    /// before is answered from the index, without running the pipeline.
    pub fn upload(
        &self,
        live: &LiveIndex,
        name: &str,
        bytes: Arc<[u8]>,
    ) -> Result<Upload, WriteError> {
        let started = Instant::now();
        let lock = self.data.lock_writes()?;
        let archive = self.data.archive();
        let index = live.refresh()?;
        let mut report = ImportReport::default();
        let options = WriteOptions {
            heap_bytes: SMALL_WRITE_HEAP_BYTES,
            threads: 1,
            ..self.options
        };
        let run = Run {
            index: &index,
            options,
            archive: &archive,
            keep_originals: true,
            deleted: self.data.deleted()?,
            collect: true,
            bulk: false,
        };
        let is_zip =
            name.to_ascii_lowercase().ends_with(".zip") || bytes.starts_with(b"PK\x03\x04");
        let documents = if is_zip {
            archive.clear_staging(&lock)?;
            // Its members are what is archived and indexed, as with `gongwen import`.
            let zip = archive.staging_file(".zip", &bytes)?;
            let inputs = collect_inputs(&[zip.path().to_path_buf()], &mut report);
            run.go(&inputs, &mut report, &Quiet)?
        } else {
            report.files_seen = 1;
            let inputs = [Input::Bytes {
                name: name.to_string(),
                bytes,
            }];
            run.go(&inputs, &mut report, &Quiet)?
        };
        let duplicate = report.documents_indexed == 0 && !documents.is_empty();
        report.seconds = started.elapsed().as_secs_f64();
        live.refresh()?;
        Ok(Upload {
            report,
            documents,
            duplicate,
        })
    }

    /// Deletes the document `id` from the live index and records it, so that a reindex leaves
    /// it out; its original stays in the archive. Returns whether there was such a document.
    pub fn delete(&self, live: &LiveIndex, id: &str) -> Result<bool, WriteError> {
        let lock = self.data.lock_writes()?;
        let index = live.refresh()?;
        if index.document(id)?.is_none() {
            return Ok(false);
        }
        self.data.record_deletion(id, &lock)?;
        let mut writer = index.writer(SMALL_WRITE_HEAP_BYTES, 1)?;
        writer.delete_term(tantivy::Term::from_field_text(index.fields().id, id));
        writer.commit()?;
        writer.wait_merging_threads()?;
        live.refresh()?;
        Ok(true)
    }

    /// Rebuilds the index from the archive into a new generation and publishes it. Writes go
    /// on into the live generation meanwhile; once the new one is built the write lock is
    /// taken, what was archived or deleted since the start is replayed into it, and it is
    /// published. Returns the report and the new generation's directory.
    pub fn reindex(
        &self,
        live: Option<&LiveIndex>,
        progress: &dyn Progress,
    ) -> Result<(ImportReport, PathBuf), WriteError> {
        let started = Instant::now();
        let _reindexing = self.data.lock_reindex()?;
        let archive = self.data.archive();
        let mut report = ImportReport::default();
        let entries = archive.entries()?;
        let deleted = self.data.deleted()?;
        let (dir, held) = self.data.new_generation()?;
        let index = SearchIndex::create(&dir, held)?;
        // Everything in the archive was accepted once: the size limit does not apply again.
        let options = WriteOptions {
            pipeline: Pipeline {
                max_file_bytes: u64::MAX,
            },
            ..self.options
        };
        let archived = |entries: &[crate::store::ArchiveEntry]| -> Vec<Input> {
            entries
                .iter()
                .map(|entry| Input::Archived {
                    sha256: entry.sha256.clone(),
                    name: entry.path.clone(),
                })
                .collect()
        };
        report.files_seen = entries.len();
        let build = Run {
            index: &index,
            options,
            archive: &archive,
            keep_originals: false,
            deleted: deleted.clone(),
            collect: false,
            bulk: true,
        };
        build.go(&archived(&entries), &mut report, progress)?;
        // Replay what the writes committed meanwhile, with them held off.
        let _writing = self.data.wait_for_writes()?;
        let known: HashSet<&str> = entries.iter().map(|e| e.sha256.as_str()).collect();
        let since: Vec<_> = archive
            .entries()?
            .into_iter()
            .filter(|e| !known.contains(e.sha256.as_str()))
            .collect();
        let deleted_since: Vec<String> = self
            .data
            .deleted()?
            .into_iter()
            .filter(|id| !deleted.contains(id))
            .collect();
        if !since.is_empty() || !deleted_since.is_empty() {
            report.files_seen += since.len();
            let replay = Run {
                deleted: self.data.deleted()?,
                bulk: false,
                ..build
            };
            replay.go(&archived(&since), &mut report, &Quiet)?;
            let mut writer = index.writer(SMALL_WRITE_HEAP_BYTES, 1)?;
            for id in &deleted_since {
                writer.delete_term(tantivy::Term::from_field_text(index.fields().id, id));
            }
            writer.commit()?;
            writer.wait_merging_threads()?;
        }
        self.data.publish(&dir)?;
        drop(index);
        if let Some(live) = live {
            live.refresh()?;
        } else {
            self.data.remove_stale_generations()?;
        }
        report.seconds = started.elapsed().as_secs_f64();
        Ok((report, dir))
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
    /// A file the index holds whole already (`None`: one whose every document was deleted).
    Duplicate { bytes: u64, sha256: Option<String> },
    Failed {
        path: String,
        error: String,
        code: &'static str,
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

/// One pass of inputs into one index.
#[derive(Clone)]
struct Run<'a> {
    index: &'a SearchIndex,
    options: WriteOptions,
    /// The archive: where large inputs are staged and archive entries read.
    archive: &'a Archive,
    /// Whether the originals are put in the archive (not when they come from it).
    keep_originals: bool,
    /// Documents deleted through the API: never indexed again.
    deleted: HashSet<String>,
    /// Whether to list the documents added.
    collect: bool,
    /// A bulk write: its segments are merged once it is done (see
    /// [`SearchIndex::merge_written`]).
    bulk: bool,
}

impl Run<'_> {
    /// Reads, ingests and indexes `inputs` on the worker pool, committing as it goes and at the
    /// end. Returns the documents added when asked to list them.
    fn go(
        &self,
        inputs: &[Input],
        report: &mut ImportReport,
        progress: &dyn Progress,
    ) -> Result<Vec<Added>, WriteError> {
        let threads = self.options.threads();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("gongwen-ingest-{i}"))
            .build()
            .map_err(|e| WriteError::Worker(e.to_string()))?;
        let (mut writer, before) = if self.bulk {
            let before = self.index.segment_ids()?;
            let writer =
                self.index
                    .bulk_writer(self.options.heap_bytes, threads, before.clone())?;
            (writer, Some(before))
        } else {
            (self.index.writer(self.options.heap_bytes, threads)?, None)
        };
        let (sender, receiver) = sync_channel::<Message>(threads * 4);
        progress.start(inputs.len());
        let mut added = Vec::new();
        let result = std::thread::scope(|scope| -> Result<(), WriteError> {
            scope.spawn(|| {
                pool.install(|| {
                    inputs
                        .par_iter()
                        .enumerate()
                        .for_each_with(sender, |sender, (at, input)| {
                            self.process(at, input, sender)
                        })
                })
            });
            self.index_messages(receiver, &mut writer, report, &mut added, progress)
        });
        progress.finish(report);
        result?;
        writer.wait_merging_threads()?;
        if let Some(before) = &before {
            // Only searches are the slower for a merge that failed: what was written stands.
            let merged = self
                .index
                .writer(SMALL_WRITE_HEAP_BYTES, 1)
                .and_then(|writer| self.index.merge_written(writer, before));
            if let Err(error) = merged {
                tracing::warn!("the segments this write made were left unmerged: {error}");
            }
        }
        self.index.reload()?;
        Ok(added)
    }

    /// The writer's side: adds what the workers send, commits per budget and at the end.
    fn index_messages(
        &self,
        receiver: std::sync::mpsc::Receiver<Message>,
        writer: &mut IndexWriter,
        report: &mut ImportReport,
        added: &mut Vec<Added>,
        progress: &dyn Progress,
    ) -> Result<(), WriteError> {
        let index = self.index;
        // Files seen in this run, and the inputs whose documents are dropped because another
        // input of the same bytes came first.
        let mut seen: HashSet<String> = HashSet::new();
        let mut ignored: HashSet<usize> = HashSet::new();
        let mut since_commit = 0;
        let mut bytes_since_commit = 0u64;
        // tantivy holds on to memory for every segment flushed since the last commit: commit
        // at least once per writer budget of text, so memory follows the budget, not the corpus.
        let commit_every_bytes = (self.options.heap_bytes as u64 / 4).max(8 * 1024 * 1024);
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
                            delete_file(writer, index.fields(), &doc.source.sha256);
                        }
                    }
                    let skip = ignored.contains(&input);
                    if !skip {
                        // Back-pressure: wait for the writer's threads to catch up.
                        while sent.saturating_sub(index.analyzed_bytes()) > MAX_BYTES_IN_FLIGHT {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        let analyzed = add(writer, index.fields(), &doc, end.is_some())?;
                        sent += analyzed;
                        bytes_since_commit += analyzed;
                        report.documents_indexed += 1;
                        since_commit += 1;
                        if self.collect {
                            added.push(Added::of(&doc));
                        }
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
                Message::Duplicate { bytes, sha256 } => {
                    report.bytes += bytes;
                    report.duplicates += 1;
                    // An upload of known bytes is answered with what the index holds.
                    if self.collect
                        && let Some(sha256) = sha256
                    {
                        added.extend(index.documents_of_file(&sha256)?.iter().map(Added::of));
                    }
                }
                Message::Failed {
                    path,
                    error,
                    code,
                    bytes,
                } => {
                    report.bytes += bytes;
                    report.failed.push(FailedFile { path, error, code });
                }
            }
            if file_done {
                progress.advance(report);
            }
            if since_commit >= self.options.commit_every.max(1)
                || bytes_since_commit >= commit_every_bytes
                || (since_commit > 0 && last_commit.elapsed() > COMMIT_EVERY)
            {
                self.commit(writer)?;
                since_commit = 0;
                bytes_since_commit = 0;
                last_commit = Instant::now();
            }
        }
        self.commit(writer)
    }

    /// Makes what the documents refer to durable (their originals), then commits.
    fn commit(&self, writer: &mut IndexWriter) -> Result<(), WriteError> {
        if self.keep_originals {
            self.archive.sync()?;
        }
        writer.commit()?;
        Ok(())
    }

    /// A worker's side: one input read, skipped if the index holds it whole, run through the
    /// pipeline, archived, and its documents sent as they come.
    fn process(&self, at: usize, input: &Input, sender: &SyncSender<Message>) {
        let name = input.name();
        let failed = |error: String, code: &'static str, bytes: u64| Message::Failed {
            path: name.clone(),
            error,
            code,
            bytes,
        };
        let searcher = self.index.searcher();
        let state = |sha256: &str| file_state(&searcher, self.index.fields(), sha256);
        let pipeline = self.options.pipeline;
        let loaded = match read_input(input, pipeline.max_file_bytes, self.archive, &state) {
            Ok(Load::Complete { size, sha256 }) => {
                return send(
                    sender,
                    Message::Duplicate {
                        bytes: size,
                        sha256: Some(sha256),
                    },
                );
            }
            Ok(Load::New(loaded)) => loaded,
            Err(error) => return send(sender, failed(error.to_string(), error.code(), 0)),
        };
        let size = loaded.bytes.len() as u64;
        let prepared = match pipeline.prepare(&name, &loaded.bytes) {
            Ok(prepared) => prepared,
            Err(error) => return send(sender, failed(error.to_string(), error.code(), size)),
        };
        // The original is in the archive before any of its documents can be committed.
        if self.keep_originals {
            let archived = match loaded.staged {
                Some(staged) => self.archive.commit(staged, &name),
                None => self.archive.put(&loaded.sha256, &name, &loaded.bytes),
            };
            if let Err(e) = archived {
                return send(
                    sender,
                    failed(format!("cannot archive: {e}"), "internal", size),
                );
            }
        }
        let partial = loaded.state == FileState::Partial;
        self.stream(at, &prepared, &loaded.sha256, partial, size, sender, failed);
    }

    /// Runs the second pass of a prepared input and sends its documents as they come, holding
    /// each back until the next arrives so that the last one goes out marked. Documents deleted
    /// through the API are left out.
    #[allow(clippy::too_many_arguments)]
    fn stream(
        &self,
        input: usize,
        prepared: &Prepared<'_>,
        sha256: &str,
        partial: bool,
        bytes: u64,
        sender: &SyncSender<Message>,
        failed: impl Fn(String, &'static str, u64) -> Message,
    ) {
        let mut held: Option<Document> = None;
        let mut first = Some(Begin { partial });
        let mut warnings = false;
        let result = prepared.run(sha256, |doc| {
            if self.deleted.contains(&doc.id) {
                return;
            }
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
        match (result, held) {
            (Ok(_), Some(last)) => send(
                sender,
                Message::Document {
                    input,
                    doc: Box::new(last),
                    first: first.take(),
                    end: Some(End { bytes, warnings }),
                },
            ),
            // Every document of the file was deleted through the API.
            (Ok(_), None) => send(
                sender,
                Message::Duplicate {
                    bytes,
                    sha256: None,
                },
            ),
            // Only before the first document: nothing of the file was sent.
            (Err(error), _) => send(sender, failed(error.to_string(), error.code(), bytes)),
        }
    }
}

/// Sends a message; a closed channel means the writer gave up, and the workers stop quietly.
fn send(sender: &SyncSender<Message>, message: Message) {
    let _ = sender.send(message);
}
