//! The tantivy index on disk: its declared [`schema`], the conversion of a [`Document`] into
//! index fields, and one generation of it opened for reading and writing (the data directory
//! and its generations are [`crate::store`]'s).

pub mod facet_names;
mod live;
pub mod relations;
pub mod schema;
mod stored;

pub use facet_names::FacetNames;
pub use live::LiveIndex;
pub use stored::StoredValues;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use tantivy::collector::TopDocs;
use tantivy::directory::OwnedBytes;
use tantivy::index::{SegmentId, SegmentMeta};
use tantivy::indexer::{LogMergePolicy, MergeCandidate, MergePolicy, NoMergePolicy};
use tantivy::query::TermQuery;
use tantivy::schema::{Facet, IndexRecordOption, Value};
use tantivy::{DateTime, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analysis;
use crate::lang::{fold, vocab};
use crate::model::{CitationKind, Document, IsoDate};
use crate::store::{DataDir, Lock, StoreError};
use schema::{Fields, SchemaError, SchemaSpec};

/// The file in an index directory that records the schema version it was built with.
const VERSION_FILE: &str = "gongwen-index.json";

/// Why the index could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The index was built with another schema version.
    #[error(
        "the index at {path} was built with schema version {found}, this gongwen uses version {expected}: run `gongwen reindex` to rebuild it from the archive"
    )]
    SchemaVersion {
        path: PathBuf,
        found: String,
        expected: u32,
    },
    /// The data directory failed (or another writer holds it).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No index exists where one was expected.
    #[error("no index at {0}: import documents first (`gongwen import`)")]
    Missing(PathBuf),
    /// The declared schema is unusable.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// tantivy failed.
    #[error("index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// A stored document could not be read back.
    #[error("stored document is corrupt: {0}")]
    Corrupt(String),
}

/// An open index: tantivy's index and reader, and the field handles. It holds its generation
/// (see [`crate::store`]), so no clean-up removes it while it is open.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    dir: PathBuf,
    version: u32,
    analyzed: analysis::Meter,
    facet_names: FacetNames,
    relations: relations::RelationsCache,
    stores: stored::StoreReaders,
    _held: Lock,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("dir", &self.dir)
            .finish()
    }
}

impl SearchIndex {
    /// Creates an empty index in the new generation `dir`, which `held` holds.
    pub fn create(dir: &Path, held: Lock) -> Result<SearchIndex, IndexError> {
        let spec = SchemaSpec::bundled()?;
        std::fs::create_dir_all(dir).map_err(|source| IndexError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let index = Index::create_in_dir(dir, spec.build())?;
        let marker = serde_json::json!({ "schema": spec.name, "schema_version": spec.version });
        let marker_path = dir.join(VERSION_FILE);
        std::fs::write(&marker_path, marker.to_string()).map_err(|source| IndexError::Io {
            path: marker_path,
            source,
        })?;
        Self::wrap(index, dir, spec.version, held)
    }

    /// Opens the index in `dir`, refusing one built with another schema version.
    pub fn open(dir: &Path) -> Result<SearchIndex, IndexError> {
        let held = DataDir::hold_generation(dir)?;
        let spec = SchemaSpec::bundled()?;
        if !dir.join("meta.json").exists() {
            return Err(IndexError::Missing(dir.to_path_buf()));
        }
        let found = std::fs::read_to_string(dir.join(VERSION_FILE))
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .and_then(|v| v["schema_version"].as_u64());
        if found != Some(u64::from(spec.version)) {
            return Err(IndexError::SchemaVersion {
                path: dir.to_path_buf(),
                found: found.map_or_else(|| "unknown".to_string(), |v| v.to_string()),
                expected: spec.version,
            });
        }
        let index = Index::open_in_dir(dir)?;
        Self::wrap(index, dir, spec.version, held)
    }

    /// Opens the live generation of `data`.
    pub fn open_live(data: &DataDir) -> Result<SearchIndex, IndexError> {
        loop {
            let Some(dir) = data.live_generation()? else {
                return Err(IndexError::Missing(data.root().join("index")));
            };
            let index = SearchIndex::open(&dir);
            // Held now; if another generation was published meanwhile, open that one.
            if data.live_generation()?.as_ref() == Some(&dir) {
                return index;
            }
        }
    }

    /// Opens the live generation of `data`, creating and publishing an empty one if there is
    /// none.
    pub fn open_or_create_live(data: &DataDir) -> Result<SearchIndex, IndexError> {
        if data.live_generation()?.is_some() {
            return SearchIndex::open_live(data);
        }
        let (dir, held) = data.new_generation()?;
        let index = SearchIndex::create(&dir, held)?;
        data.publish(&dir)?;
        Ok(index)
    }

    fn wrap(index: Index, dir: &Path, version: u32, held: Lock) -> Result<SearchIndex, IndexError> {
        let analyzed = analysis::Meter::default();
        analysis::register(&index, analyzed.clone());
        let fields = Fields::from_schema(&index.schema())?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            dir: dir.to_path_buf(),
            version,
            analyzed,
            facet_names: FacetNames::default(),
            relations: relations::RelationsCache::default(),
            stores: stored::StoreReaders::default(),
            _held: held,
        })
    }

    /// Bytes of text the character analyzer has processed for this index: with what [`add`]
    /// returns, how far the writer's indexing threads have got.
    pub fn analyzed_bytes(&self) -> u64 {
        self.analyzed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A writer with a memory budget of `heap_bytes`, split over `threads` indexing threads.
    pub fn writer(&self, heap_bytes: usize, threads: usize) -> Result<IndexWriter, IndexError> {
        Ok(self
            .index
            .writer_with_num_threads(threads.max(1), heap_bytes)?)
    }

    /// A writer for a bulk write made after the segments `before`: tantivy's default merge
    /// policy applies to the segments the write makes, so they do not pile up while it runs;
    /// the older ones wait for [`SearchIndex::merge_written`].
    pub fn bulk_writer(
        &self,
        heap_bytes: usize,
        threads: usize,
        before: HashSet<SegmentId>,
    ) -> Result<IndexWriter, IndexError> {
        let writer = self.writer(heap_bytes, threads)?;
        writer.set_merge_policy(Box::new(WrittenSince {
            before,
            policy: LogMergePolicy::default(),
        }));
        Ok(writer)
    }

    /// The segments committed now.
    pub fn segment_ids(&self) -> Result<HashSet<SegmentId>, IndexError> {
        Ok(self.index.searchable_segment_ids()?.into_iter().collect())
    }

    /// Merges, with `writer`, the segments committed since `before` (those a bulk write
    /// made) into one, with the older segments that are no larger, smallest first, than all
    /// those taken so far together; waits for it. A search opens its scorers once per
    /// segment, so few segments make it cheaper (a quarter fewer instructions for the same
    /// pasted titles over one segment than over four); a merge rewrites postings without
    /// analysing any text and copies the compressed stored blocks, far less work than the
    /// write. Bulk writes of one size leave segments of doubling sizes, as a binary counter
    /// does: a few segments, each document rewritten about once per doubling of the index.
    pub fn merge_written(
        &self,
        mut writer: IndexWriter,
        before: &HashSet<SegmentId>,
    ) -> Result<(), IndexError> {
        // Ids and sizes only: tantivy deletes a merged segment's files when the merge ends
        // unless a `SegmentMeta` of it is still held.
        type Sizes = Vec<(SegmentId, u32)>;
        let (mut merged, mut older): (Sizes, Sizes) = self
            .index
            .searchable_segment_metas()?
            .iter()
            .map(|meta| (meta.id(), meta.num_docs()))
            .partition(|(id, _)| !before.contains(id));
        let mut total: u64 = merged.iter().map(|(_, docs)| u64::from(*docs)).sum();
        older.sort_by_key(|(_, docs)| *docs);
        for (id, docs) in older {
            if u64::from(docs) > total {
                break;
            }
            total += u64::from(docs);
            merged.push((id, docs));
        }
        if merged.len() < 2 {
            return Ok(());
        }
        writer.set_merge_policy(Box::new(NoMergePolicy));
        let ids: Vec<SegmentId> = merged.iter().map(|(id, _)| *id).collect();
        writer.merge(&ids).wait()?;
        writer.wait_merging_threads()?;
        Ok(())
    }

    /// When and how large `meta.json` (rewritten by every commit) was last written.
    fn meta_stamp(&self) -> Option<(std::time::SystemTime, u64)> {
        let meta = std::fs::metadata(self.dir.join("meta.json")).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }

    /// Makes committed changes visible to searches.
    pub fn reload(&self) -> Result<(), IndexError> {
        self.reader.reload()?;
        let searcher = self.reader.searcher();
        self.facet_names.retain_segments_of(&searcher);
        self.stores.retain_segments_of(&searcher);
        Ok(())
    }

    pub fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The relations between the documents `searcher` sees (built on its first use).
    pub fn relations(
        &self,
        searcher: &tantivy::Searcher,
    ) -> Result<std::sync::Arc<relations::Relations>, IndexError> {
        self.relations.get(searcher, &self.fields)
    }

    /// The names of the facet values of this index's segments.
    pub fn facet_names(&self) -> &FacetNames {
        &self.facet_names
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn schema_version(&self) -> u32 {
        self.version
    }

    pub fn tantivy(&self) -> &Index {
        &self.index
    }

    /// Number of searchable documents.
    pub fn num_docs(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// Bytes the index takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        dir_size(&self.dir)
    }

    /// The stored document with this id.
    pub fn document(&self, id: &str) -> Result<Option<Document>, IndexError> {
        self.document_in(&self.searcher(), id)
    }

    /// The stored document with this id, as `searcher` sees the index.
    pub fn document_in(
        &self,
        searcher: &tantivy::Searcher,
        id: &str,
    ) -> Result<Option<Document>, IndexError> {
        let query = TermQuery::new(
            Term::from_field_text(self.fields.id, id),
            IndexRecordOption::Basic,
        );
        let hits = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        match hits.first() {
            Some((_, address)) => {
                let stored: TantivyDocument = searcher.doc(*address)?;
                Ok(Some(self.stored_document(&stored)?))
            }
            None => Ok(None),
        }
    }

    /// Every document of the file with hash `sha256`, in their order in the file.
    pub fn documents_of_file(&self, sha256: &str) -> Result<Vec<Document>, IndexError> {
        let searcher = self.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields.source_sha256, sha256),
            IndexRecordOption::Basic,
        );
        let limit = (searcher.num_docs() as usize).max(1);
        let mut documents = Vec::new();
        for (_, address) in searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())? {
            let stored: TantivyDocument = searcher.doc(address)?;
            documents.push(self.stored_document(&stored)?);
        }
        documents.sort_by_key(|d| d.source.section);
        Ok(documents)
    }

    /// The [`Document`] kept in a stored tantivy document.
    pub fn stored_document(&self, stored: &TantivyDocument) -> Result<Document, IndexError> {
        let corrupt = |e: serde_json::Error| IndexError::Corrupt(e.to_string());
        let (json, text) = self.stored_parts(stored)?;
        let mut value: serde_json::Value = serde_json::from_str(json).map_err(corrupt)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("text_simplified".into(), fold::to_simplified(text).into());
            object.insert("text".into(), text.into());
        }
        serde_json::from_value(value).map_err(corrupt)
    }

    /// What a hit shows of the document at `address`: its metadata (any type that reads the
    /// fields it needs from the document's JSON) and the bytes of its text, UTF-8 unchecked
    /// (a snippet checks the window it shows).
    pub fn stored_hit<T: serde::de::DeserializeOwned>(
        &self,
        searcher: &tantivy::Searcher,
        address: tantivy::DocAddress,
    ) -> Result<(T, OwnedBytes), IndexError> {
        let values = self.stores.values(searcher, address)?;
        let json = values
            .text(self.fields.document)
            .ok_or_else(|| IndexError::Corrupt("no document field".into()))?;
        let meta = serde_json::from_slice(json).map_err(|e| IndexError::Corrupt(e.to_string()))?;
        let text = values
            .into_text(self.fields.text)
            .ok_or_else(|| IndexError::Corrupt("no text field".into()))?;
        Ok((meta, text))
    }

    fn stored_parts<'a>(
        &self,
        stored: &'a TantivyDocument,
    ) -> Result<(&'a str, &'a str), IndexError> {
        let field = |field, name: &str| {
            stored
                .get_first(field)
                .and_then(|v| v.as_str())
                .ok_or_else(|| IndexError::Corrupt(format!("no {name} field")))
        };
        Ok((
            field(self.fields.document, "document")?,
            field(self.fields.text, "text")?,
        ))
    }
}

/// A merge policy over the segments not in `before` only.
#[derive(Debug)]
struct WrittenSince {
    before: HashSet<SegmentId>,
    policy: LogMergePolicy,
}

impl MergePolicy for WrittenSince {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let written: Vec<SegmentMeta> = segments
            .iter()
            .filter(|meta| !self.before.contains(&meta.id()))
            .cloned()
            .collect();
        self.policy.compute_merge_candidates(&written)
    }
}

/// The ids of the segments `searcher` reads (what per-segment caches keep).
fn segments_read(searcher: &tantivy::Searcher) -> Vec<tantivy::index::SegmentId> {
    searcher
        .segment_readers()
        .iter()
        .map(tantivy::SegmentReader::segment_id)
        .collect()
}

/// Bytes of the files below `dir`.
pub fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// A date as the index's date fields hold it (midnight UTC).
pub fn date_time(date: IsoDate) -> DateTime {
    DateTime::from_timestamp_secs(date.days_since_epoch() * 86_400)
}

/// The facet path for one value (a single path component, `/` in values escaped by tantivy).
pub fn facet(value: &str) -> Facet {
    Facet::from_path([value])
}

/// The year a document is filed under: its date's, else its print date's, else its number's.
pub fn filing_year(doc: &Document) -> Option<i32> {
    doc.date
        .or(doc.print_date)
        .map(IsoDate::year)
        .or(doc.doc_number_parts.as_ref().and_then(|p| p.year))
}

/// `text`, in simplified characters already, folded for the analyzers.
fn folded(simplified: &str) -> String {
    simplified.chars().map(fold::fold_char).collect()
}

/// The index fields of `doc`, and the bytes of text the character analyzer will read.
pub fn to_tantivy(doc: &Document, fields: &Fields) -> Result<(TantivyDocument, u64), IndexError> {
    let mut out = TantivyDocument::default();
    let mut analyzed = 0;
    out.add_text(fields.id, &doc.id);
    if let Some(title) = &doc.title {
        let title = folded(title);
        analyzed += title.len();
        out.add_text(fields.title, &title);
        out.add_text(fields.title_grams, &title);
        out.add_text(fields.title_chars, title);
    }
    // Folded once, read by every analyzer.
    let body = folded(&doc.text_simplified);
    analyzed += body.len();
    out.add_text(fields.body, &body);
    out.add_text(fields.body_grams, &body);
    out.add_text(fields.body_chars, body);
    for issuer in doc.issuers.iter().chain(&doc.issuer_aliases) {
        out.add_text(fields.issuer, fold::to_simplified(issuer));
    }
    for issuer in &doc.issuers {
        out.add_facet(fields.issuer_facet, facet(issuer));
    }
    if let (Some(number), Some(parts)) = (&doc.doc_number, &doc.doc_number_parts) {
        out.add_text(fields.doc_number, number);
        out.add_text(fields.doc_number_prefix, &parts.prefix);
        if let Some(year) = parts.year {
            out.add_i64(fields.doc_number_year, i64::from(year));
        }
        out.add_i64(fields.doc_number_seq, i64::from(parts.seq));
    }
    if let Some(date) = doc.date {
        out.add_date(fields.date, date_time(date));
    }
    if let Some(date) = doc.print_date {
        out.add_date(fields.print_date, date_time(date));
    }
    if let Some(date) = doc.date.or(doc.print_date) {
        out.add_i64(fields.date_days, date.days_since_epoch());
    }
    if let Some(year) = filing_year(doc) {
        out.add_i64(fields.year, i64::from(year));
        out.add_facet(fields.year_facet, facet(&year.to_string()));
    }
    if let Some(doc_type) = &doc.doc_type {
        out.add_text(fields.doc_type, doc_type);
        out.add_facet(fields.doc_type_facet, facet(doc_type));
    }
    for word in &doc.subject_words {
        out.add_text(fields.subject, word);
        out.add_facet(fields.subject_facet, facet(word));
    }
    for recipient in &doc.recipients {
        out.add_text(fields.recipients, recipient);
    }
    for cc in &doc.cc {
        out.add_text(fields.cc, cc);
    }
    for number in &doc.cited_doc_numbers {
        out.add_text(fields.cited_doc_numbers, number);
    }
    for citation in doc
        .citations
        .iter()
        .filter(|c| c.kind == CitationKind::Title)
    {
        out.add_text(fields.cited_titles, vocab::title_key(&citation.text));
    }
    out.add_text(fields.source_sha256, &doc.source.sha256);
    out.add_i64(fields.source_section, i64::from(doc.source.section));
    out.add_text(fields.encoding, &doc.source.encoding);
    out.add_text(fields.document, stored_json(doc)?);
    out.add_text(fields.text, &doc.text);
    Ok((out, analyzed as u64))
}

/// The document as stored: its JSON without the text, which is stored beside it once (the
/// simplified text is derived from it when the document is read).
fn stored_json(doc: &Document) -> Result<String, IndexError> {
    let corrupt = |e: serde_json::Error| IndexError::Corrupt(e.to_string());
    let mut value = serde_json::to_value(doc).map_err(corrupt)?;
    if let Some(object) = value.as_object_mut() {
        object.remove("text");
        object.remove("text_simplified");
    }
    serde_json::to_string(&value).map_err(corrupt)
}

/// How much of a file the index holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// None of its documents.
    Absent,
    /// Some, from an import that stopped before the file's last document was committed:
    /// they are deleted and the file indexed again.
    Partial,
    /// All of them.
    Complete,
}

/// How much of the file with hash `sha256` `searcher` sees.
pub fn file_state(
    searcher: &tantivy::Searcher,
    fields: &Fields,
    sha256: &str,
) -> Result<FileState, IndexError> {
    let count = |field| searcher.doc_freq(&Term::from_field_text(field, sha256));
    Ok(if count(fields.file_complete)? > 0 {
        FileState::Complete
    } else if count(fields.source_sha256)? > 0 {
        FileState::Partial
    } else {
        FileState::Absent
    })
}

/// Queues the deletion of every document of the file with hash `sha256` (a partial file,
/// before it is indexed again).
pub fn delete_file(writer: &IndexWriter, fields: &Fields, sha256: &str) {
    writer.delete_term(Term::from_field_text(fields.source_sha256, sha256));
}

/// Adds `doc`, which the caller has found not to be indexed yet (see [`file_state`]);
/// `last_of_file` marks the file complete. Returns the bytes of text the index's character
/// analyzer will read for it (see [`SearchIndex::analyzed_bytes`]). No delete is queued for
/// it: tantivy keeps every pending delete in memory until the segments it may touch are
/// merged.
pub fn add(
    writer: &IndexWriter,
    fields: &Fields,
    doc: &Document,
    last_of_file: bool,
) -> Result<u64, IndexError> {
    let (mut fields_of_doc, analyzed) = to_tantivy(doc, fields)?;
    if last_of_file {
        fields_of_doc.add_text(fields.file_complete, &doc.source.sha256);
    }
    writer.add_document(fields_of_doc)?;
    Ok(analyzed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_of_another_schema_version_is_refused_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let live = SearchIndex::open_or_create_live(&data)
            .unwrap()
            .dir()
            .to_path_buf();
        std::fs::write(live.join(VERSION_FILE), r#"{"schema_version": 0}"#).unwrap();
        let error = SearchIndex::open_live(&data).unwrap_err().to_string();
        assert!(error.contains("schema version 0"), "{error}");
        assert!(error.contains("gongwen reindex"), "{error}");
    }
}
