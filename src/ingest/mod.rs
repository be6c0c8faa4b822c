//! The ingestion pipeline: bytes → [`Document`]s.
//!
//! ```text
//! bytes ─ plan ─ lines ─ (HTML → text) ─ sections ─┬─ repair ─ extract ─ fold ─► Document 1
//!        (which   (decoded      (cut at headers,    └─ repair ─ extract ─ fold ─► Document n
//!       encoding)  one by one)   and at a size limit)
//! ```
//!
//! A file is read in two passes over its bytes, each a line at a time: the first learns what
//! the repair needs from the whole file (the annotation tool's characters), counts decoding
//! errors and looks at the head to tell plain text, HTML and Markdown apart; the second cuts
//! the lines into sections and hands each document on as soon as it is complete. So the memory
//! a file needs does not grow with the file: at most one section of [`MAX_DOCUMENT_BYTES`] is
//! held at a time. A compilation is split before repair, so each document's audit trail counts
//! its own repairs and no repair reaches across two documents. Nothing here touches the index:
//! the output is plain data.
pub mod decode;
pub mod extract;
pub mod html;
pub mod repair;
pub mod split;

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::lang::fold;
use crate::model::{Document, Source, Warning, WarningKind};
use decode::DecodeError;
use split::Sectioner;

/// Files larger than this are refused unless configured otherwise.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// The most text one document holds. A section longer than this (a dump, a whole yearbook;
/// the longest laws are a third of it) is cut at line breaks into parts, each a document with
/// a [`WarningKind::DocumentSplit`] warning; nothing is dropped.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Decoded text looked at to tell HTML and Markdown from plain text.
const HEAD_BYTES: usize = 4096;

/// Why a file yielded no documents.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The path does not exist.
    #[error("{path}: no such file")]
    NotFound { path: String },
    /// The file exists but could not be read.
    #[error("{path}: cannot be read: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than the configured limit.
    #[error("{path}: {size} bytes is over the limit of {limit} bytes")]
    TooLarge { path: String, size: u64, limit: u64 },
    /// The bytes are not text.
    #[error("{path}: {source}")]
    Decode {
        path: String,
        #[source]
        source: DecodeError,
    },
    /// Markup (HTML, Markdown) or punctuation without any text in it.
    #[error("{path}: no text in it once the markup is removed")]
    NoText { path: String },
}

impl IngestError {
    /// A short machine-readable name for reports.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::NotFound { .. } => "not_found",
            IngestError::Read { .. } => "unreadable",
            IngestError::TooLarge { .. } => "too_large",
            IngestError::Decode {
                source: DecodeError::Empty,
                ..
            } => "empty",
            IngestError::Decode { .. } => "not_text",
            IngestError::NoText { .. } => "no_text",
        }
    }
}

/// The pipeline's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pipeline {
    pub max_file_bytes: u64,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// SHA-256 of `bytes`, lower-case hex: the archive key of a file.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What a file is, told by its name and its first lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Html,
    Markdown,
}

/// What the first pass learns about a file.
struct Survey {
    learned: repair::AnnotatedChars,
    replacements: usize,
    kind: Kind,
}

impl Pipeline {
    /// Reads and ingests the file at `path`, refusing it before reading if it is too large.
    pub fn ingest_path(&self, path: &Path) -> Result<Vec<Document>, IngestError> {
        let name = path.display().to_string();
        let metadata = std::fs::metadata(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => IngestError::NotFound { path: name.clone() },
            _ => IngestError::Read {
                path: name.clone(),
                source,
            },
        })?;
        self.check_size(&name, metadata.len())?;
        let bytes = std::fs::read(path).map_err(|source| IngestError::Read {
            path: name.clone(),
            source,
        })?;
        self.ingest_bytes(&name, &bytes)
    }

    fn check_size(&self, path: &str, size: u64) -> Result<(), IngestError> {
        if size > self.max_file_bytes {
            return Err(IngestError::TooLarge {
                path: path.to_string(),
                size,
                limit: self.max_file_bytes,
            });
        }
        Ok(())
    }

    /// Ingests `bytes`, known as `path`, into a list of documents.
    pub fn ingest_bytes(&self, path: &str, bytes: &[u8]) -> Result<Vec<Document>, IngestError> {
        let mut documents = Vec::new();
        self.ingest_each(path, bytes, &sha256_hex(bytes), |doc| documents.push(doc))?;
        Ok(documents)
    }

    /// Ingests `bytes`, known as `path` and hashing to `sha256`, handing each document to
    /// `emit` as soon as it is complete, in order. Returns how many there were.
    pub fn ingest_each(
        &self,
        path: &str,
        bytes: &[u8],
        sha256: &str,
        emit: impl FnMut(Document),
    ) -> Result<usize, IngestError> {
        self.prepare(path, bytes)?.run(sha256, emit)
    }

    /// The first pass over `bytes`, known as `path`: whether they are text, and what the
    /// second pass needs to know. Every error but [`IngestError::NoText`] comes from here.
    pub fn prepare<'a>(&self, path: &'a str, bytes: &'a [u8]) -> Result<Prepared<'a>, IngestError> {
        self.check_size(path, bytes.len() as u64)?;
        let plan = decode::plan(bytes, path).map_err(|source| IngestError::Decode {
            path: path.to_string(),
            source,
        })?;
        let survey = survey(&plan, bytes, path);
        Ok(Prepared {
            path,
            bytes,
            plan,
            survey,
        })
    }
}

/// A file that decodes, ready for the second pass.
pub struct Prepared<'a> {
    path: &'a str,
    bytes: &'a [u8],
    plan: decode::Plan,
    survey: Survey,
}

impl Prepared<'_> {
    /// The second pass: hands each document to `emit` as soon as it is complete, in order.
    /// Returns how many there were; a file without any text is [`IngestError::NoText`].
    pub fn run(&self, sha256: &str, mut emit: impl FnMut(Document)) -> Result<usize, IngestError> {
        let (plan, survey, bytes) = (&self.plan, &self.survey, self.bytes);
        let mut builder = Builder {
            path: self.path,
            sha256,
            plan,
            survey,
            file_warnings: decode_warnings(plan, survey.replacements),
            byte_len: bytes.len(),
            section: 0,
            title_of_part_one: None,
        };
        let mut sectioner = Sectioner::new(
            survey.kind != Kind::Markdown,
            MAX_DOCUMENT_BYTES,
            plan.newline_bytes(),
        );
        let mut on_section = |section: Option<split::Section>| {
            if let Some(doc) = section.and_then(|s| builder.document(s)) {
                emit(doc);
            }
        };
        match survey.kind {
            Kind::Html => {
                let mut converter = html::HtmlText::new();
                for line in plan.lines(bytes) {
                    for text in converter.feed(&line.text) {
                        on_section(sectioner.push(&format!("{text}\n"), None));
                    }
                }
                for text in converter.finish() {
                    on_section(sectioner.push(&format!("{text}\n"), None));
                }
            }
            Kind::Plain | Kind::Markdown => {
                for line in plan.lines(bytes) {
                    on_section(sectioner.push(&line.text, Some(line.bytes)));
                }
            }
        }
        on_section(sectioner.finish());
        match builder.section {
            0 => Err(IngestError::NoText {
                path: self.path.to_string(),
            }),
            n => Ok(n as usize),
        }
    }
}

/// The first pass: what the repair learns from the whole file, the decoding errors, the kind.
fn survey(plan: &decode::Plan, bytes: &[u8], path: &str) -> Survey {
    let mut learned = repair::AnnotatedChars::default();
    let mut replacements = 0;
    let mut head = String::new();
    for line in plan.lines(bytes) {
        learned.learn_more(&line.text);
        replacements += line.replacements;
        if head.len() < HEAD_BYTES {
            head.push_str(&line.text);
        }
    }
    Survey {
        learned,
        replacements,
        kind: kind(path, &head),
    }
}

/// What a file is, from its name and its first [`HEAD_BYTES`] of text.
fn kind(path: &str, head: &str) -> Kind {
    if extract::markdown::is_markdown(path, head) {
        Kind::Markdown
    } else if html::looks_like_html(path, head) {
        Kind::Html
    } else {
        Kind::Plain
    }
}

/// The characters `char_range` of `bytes` (the file known as `path`) as the pipeline read them
/// before any repair — decoded, and for HTML drawn from the markup — which is what a
/// document's [`crate::model::Source::char_range`] counts in: its original text.
pub fn source_text(
    bytes: &[u8],
    path: &str,
    char_range: [usize; 2],
) -> Result<String, IngestError> {
    let plan = decode::plan(bytes, path).map_err(|source| IngestError::Decode {
        path: path.to_string(),
        source,
    })?;
    let [from, to] = char_range;
    let mut out = String::new();
    let mut at = 0;
    // Takes what of `piece` falls in the range; false once past it.
    let mut take = |piece: &str| -> bool {
        let len = piece.chars().count();
        if at + len > from && at < to {
            let skip = from.saturating_sub(at);
            out.extend(piece.chars().skip(skip).take(to.min(at + len) - at - skip));
        }
        at += len;
        at < to
    };
    let mut head = String::new();
    for line in plan.lines(bytes) {
        head.push_str(&line.text);
        if head.len() >= HEAD_BYTES {
            break;
        }
    }
    match kind(path, &head) {
        Kind::Html => {
            let mut converter = html::HtmlText::new();
            'lines: for line in plan.lines(bytes) {
                for text in converter.feed(&line.text) {
                    if !take(&format!("{text}\n")) {
                        break 'lines;
                    }
                }
            }
            for text in converter.finish() {
                if !take(&format!("{text}\n")) {
                    break;
                }
            }
        }
        Kind::Plain | Kind::Markdown => {
            for line in plan.lines(bytes) {
                if !take(&line.text) {
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// Turns the sections of one file into documents, numbering them.
struct Builder<'a> {
    path: &'a str,
    sha256: &'a str,
    plan: &'a decode::Plan,
    survey: &'a Survey,
    file_warnings: Vec<Warning>,
    byte_len: usize,
    /// Documents made so far.
    section: u32,
    /// The title of the first part of the section being cut into parts.
    title_of_part_one: Option<String>,
}

impl Builder<'_> {
    /// The document of `section`, unless it has no text at all (a header and nothing else).
    fn document(&mut self, section: split::Section) -> Option<Document> {
        let repaired = repair::repair(&section.text, &self.survey.learned);
        let markdown = self.survey.kind == Kind::Markdown;
        let text = if markdown {
            extract::markdown::to_text(&repaired.text)
        } else {
            repaired.text.clone()
        };
        let simplified = fold::to_simplified(&text);
        let extracted = if markdown && section.part == 1 {
            extract::markdown::extract_markdown(&repaired.text)
        } else {
            extract::extract(&simplified)
        };
        if !text.chars().any(fold::is_searchable) {
            return None;
        }
        let mut extracted = extracted;
        let mut warnings = self.file_warnings.clone();
        warnings.extend(repaired.log.warnings.iter().cloned());
        if section.part == 1 {
            self.title_of_part_one = extracted.title.clone();
        } else {
            warnings.push(Warning::new(
                WarningKind::DocumentSplit,
                format!(
                    "part {} of a section longer than {} bytes, cut at a line break; the parts follow each other in the file",
                    section.part, MAX_DOCUMENT_BYTES
                ),
            ));
            if extracted.title.is_none() {
                extracted.title = self
                    .title_of_part_one
                    .as_ref()
                    .map(|t| format!("{t}（第{}部分）", section.part));
            }
        }
        self.section += 1;
        let source = Source {
            path: self.path.to_string(),
            sha256: self.sha256.to_string(),
            encoding: self.plan.encoding.clone(),
            encoding_source: self.plan.source,
            section: self.section,
            byte_range: section
                .bytes
                .map_or([0, self.byte_len], |r| [r.start, r.end]),
            char_range: [section.chars.start, section.chars.end],
        };
        Some(assemble(
            source,
            extracted,
            (text, simplified),
            repaired.log.counts(),
            warnings,
        ))
    }
}

fn decode_warnings(plan: &decode::Plan, replacements: usize) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if replacements > 0 {
        warnings.push(Warning::new(
            WarningKind::DecodeReplacement,
            format!(
                "{replacements} byte sequences are not valid {} and were replaced with U+FFFD",
                plan.encoding
            ),
        ));
    }
    if let Some(declared) = &plan.ignored_declaration {
        warnings.push(Warning::new(
            WarningKind::DeclaredEncodingIgnored,
            format!(
                "the file declares {declared}, but its bytes are not valid {declared}; decoded as {}",
                plan.encoding
            ),
        ));
    }
    warnings
}

/// The id of the `section`-th document of the file with hash `sha256`.
pub fn document_id(sha256: &str, section: u32) -> String {
    let digest = Sha256::digest(format!("{sha256}:{section}").as_bytes());
    hex::encode(&digest[..10])
}

/// A document from its parts; `texts` is the text and its simplified form.
fn assemble(
    source: Source,
    extracted: extract::Extracted,
    (text, text_simplified): (String, String),
    repairs: Vec<crate::model::RepairCount>,
    mut warnings: Vec<Warning>,
) -> Document {
    if extracted.title.is_none() {
        warnings.push(Warning::new(
            WarningKind::NoTitle,
            "no title could be found",
        ));
    }
    Document {
        id: document_id(&source.sha256, source.section),
        title: extracted.title,
        issuers: extracted.issuers,
        issuer_aliases: extracted.issuer_aliases,
        doc_number_parts: extracted.doc_number.as_ref().map(|n| n.parts()),
        doc_number: extracted.doc_number.map(|n| n.to_string()),
        date: extracted.date,
        print_date: extracted.print_date,
        copies: extracted.copies,
        doc_type: extracted.doc_type,
        subject_words: extracted.subject_words,
        recipients: extracted.recipients,
        cc: extracted.cc,
        cited_doc_numbers: extracted.cited_doc_numbers,
        citations: extracted.citations,
        repeals: extracted.repeals,
        events: extracted.events,
        valid_until: extracted.valid_until,
        text_simplified,
        text,
        source,
        repairs,
        warnings,
    }
}
