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

pub mod ingest;
pub mod lang;
pub mod model;
