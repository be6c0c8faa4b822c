//! gongwen (公文): a full-text archive and search server for Chinese government policy
//! documents.
//!
//! # Layout
//!
//! Data flows one way, and each module uses only the ones before it:
//!
//! ```text
//! bytes ─► ingest ────────────────────────► analysis ─► index ─► search ─► http ─► cli
//!          decode → split → repair → extract  jieba,     tantivy   query,    axum    the
//!                                              folding    schema    ranking   JSON    commands
//!                      store (data directory, archive) ──► write (the one write path) ──┘
//! ```
//!
//! - [`model`]: plain types every stage passes on: [`model::Document`], [`model::IsoDate`],
//!   [`model::DocNumber`].
//! - [`lang`]: facts about Chinese text: folding, the jieba lexicon, readings, the words of
//!   the 公文 format. Depends on nothing else.
//! - [`config`]: the command line and environment, validated into settings.
//! - [`store`]: the data directory — its locks, the index generations, the archive of
//!   originals, deletions. Knows nothing of tantivy or the pipeline.
//! - [`ingest`]: bytes → documents: decoding, repair, compilation splitting, metadata
//!   extraction. Pure: it touches no file but what it is given.
//! - [`analysis`]: the tantivy tokenizers (jieba words, characters) over folded text.
//! - [`index`]: the declared schema, documents → index fields, a generation opened for
//!   reading and writing, and [`index::LiveIndex`], which follows the published generation.
//! - [`search`]: the query language, ranking, filters, facets and snippets.
//! - [`write`]: every change to a data directory — import, upload, delete, reindex.
//! - [`http`]: the axum router, handlers, JSON errors, OpenAPI, connections, the web page.
//! - [`cli`]: the `gongwen` commands, called by the thin `main.rs`.

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
