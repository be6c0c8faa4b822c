//! The ingestion pipeline: bytes → [`Document`]s.
//!
//! ```text
//! bytes ─ decode ─ (HTML → text) ─ split ─┬─ repair ─ extract ─ fold ─► Document (section 1)
//!                                          └─ repair ─ extract ─ fold ─► Document (section n)
//! ```
//!
//! A compilation is split on the decoded text, before repair, so that each document's audit
//! trail counts its own repairs and no repair reaches across two documents; what the repair
//! learns from the whole file (the annotation tool's characters) is learned once, up front.
//! Nothing here touches the index: the output is plain data.

pub mod decode;
pub mod extract;
pub mod html;
pub mod repair;
pub mod split;
pub mod vocab;

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::lang::fold;
use crate::model::{Document, Source, Warning, WarningKind};
use decode::{DecodeError, Decoded};

/// Files larger than this are refused unless configured otherwise.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

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
    /// Markup without any text in it.
    #[error("{path}: no text left once the markup is removed")]
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

    /// Ingests `bytes`, known as `path`.
    pub fn ingest_bytes(&self, path: &str, bytes: &[u8]) -> Result<Vec<Document>, IngestError> {
        self.check_size(path, bytes.len() as u64)?;
        let sha256 = sha256_hex(bytes);
        let decoded = decode::decode(bytes, path).map_err(|source| IngestError::Decode {
            path: path.to_string(),
            source,
        })?;
        let file_warnings = decode_warnings(&decoded);
        if extract::markdown::is_markdown(path, &decoded.text) {
            return Ok(vec![markdown_document(
                path,
                &sha256,
                bytes.len(),
                &decoded,
                file_warnings,
            )]);
        }
        let is_html = html::looks_like_html(path, &decoded.text);
        let text = if is_html {
            html::to_text(&decoded.text)
        } else {
            decoded.text.clone()
        };
        if text.trim().is_empty() {
            return Err(IngestError::NoText {
                path: path.to_string(),
            });
        }
        let learned = repair::AnnotatedChars::learn(&text);
        let sections = split::split(&text);
        let mut documents = Vec::with_capacity(sections.len());
        let mut repaired_chars = 0;
        let mut byte_cursor = (0usize, decoded.bom_len);
        for (index, section) in sections.iter().enumerate() {
            let repaired = repair::repair(section.text, &learned);
            let simplified = fold::to_simplified(&repaired.text);
            let extracted = extract::extract(&simplified);
            let char_len = repaired.text.chars().count();
            // Source bytes, measured incrementally: what lies between the previous section and
            // this one, then this one.
            let byte_range = if is_html {
                None
            } else {
                let (prev_text_end, prev_byte_end) = byte_cursor;
                decode::encoded_len(decoded.codec, &text[prev_text_end..section.range.start])
                    .zip(decode::encoded_len(decoded.codec, section.text))
                    .map(|(gap, len)| {
                        let start = prev_byte_end + gap;
                        byte_cursor = (section.range.end, start + len);
                        [start, (start + len).min(bytes.len())]
                    })
            }
            .unwrap_or([0, bytes.len()]);
            let source = Source {
                path: path.to_string(),
                sha256: sha256.clone(),
                encoding: decoded.encoding.clone(),
                encoding_source: decoded.source,
                section: index as u32 + 1,
                byte_range,
                char_range: [repaired_chars, repaired_chars + char_len],
            };
            repaired_chars += char_len + 1;
            let mut warnings = file_warnings.clone();
            warnings.extend(repaired.log.warnings.iter().cloned());
            documents.push(assemble(
                source,
                extracted,
                (repaired.text, simplified),
                repaired.log.counts(),
                warnings,
            ));
        }
        Ok(documents)
    }
}

fn decode_warnings(decoded: &Decoded) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if decoded.replacements > 0 {
        warnings.push(Warning::new(
            WarningKind::DecodeReplacement,
            format!(
                "{} byte sequences are not valid {} and were replaced with U+FFFD",
                decoded.replacements, decoded.encoding
            ),
        ));
    }
    if let Some(declared) = &decoded.ignored_declaration {
        warnings.push(Warning::new(
            WarningKind::DeclaredEncodingIgnored,
            format!(
                "the file declares {declared}, but its bytes are not valid {declared}; decoded as {}",
                decoded.encoding
            ),
        ));
    }
    warnings
}

fn markdown_document(
    path: &str,
    sha256: &str,
    byte_len: usize,
    decoded: &Decoded,
    mut warnings: Vec<Warning>,
) -> Document {
    let repaired = repair::repair(&decoded.text, &repair::AnnotatedChars::learn(&decoded.text));
    warnings.extend(repaired.log.warnings.iter().cloned());
    let extracted = extract::markdown::extract_markdown(&repaired.text);
    let text = extract::markdown::to_text(&repaired.text);
    let simplified = fold::to_simplified(&text);
    let source = Source {
        path: path.to_string(),
        sha256: sha256.to_string(),
        encoding: decoded.encoding.clone(),
        encoding_source: decoded.source,
        section: 1,
        byte_range: [0, byte_len],
        char_range: [0, text.chars().count()],
    };
    assemble(
        source,
        extracted,
        (text, simplified),
        repaired.log.counts(),
        warnings,
    )
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
        text_simplified,
        text,
        source,
        repairs,
        warnings,
    }
}
