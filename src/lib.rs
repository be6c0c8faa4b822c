//! gongwen (公文): a full-text archive and search server for Chinese government policy
//! documents.
//!
//! # Layout
//!
//! Data flows one way:
//!
//! ```text
//! bytes ─► ingest ──────────────────────────► index ─────────► search ─────► http
//!          decode → split → repair → extract   schema, jieba    query, filters  axum JSON API
//! ```
//!
//! - [`model`]: the [`model::Document`] every stage passes on, and validated values
//!   ([`model::IsoDate`], [`model::DocNumber`]).
//! - [`lang`]: language resources: traditional → simplified folding, the jieba lexicon,
//!   Mandarin readings.
//! - [`ingest`]: decoding, repair, compilation splitting and metadata extraction.
//! - [`analysis`]: the tantivy tokenizers (jieba words, characters) over folded text.
//! - [`index`]: the declared schema, documents → index fields, the data directory (archive of
//!   originals, index generations).
//! - [`search`]: the query language, filters, ranking, facets and snippets.
//! - [`import`]: bulk import and reindex on all cores.

pub mod analysis;
pub mod cli;
pub mod config;
pub mod http;
pub mod index;
pub mod ingest;
pub mod lang;
pub mod model;
pub mod search;
pub mod store;
pub mod write;
