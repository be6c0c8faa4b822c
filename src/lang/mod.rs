//! Facts about Chinese text that every stage shares, and nothing else: traditional →
//! simplified and width folding ([`fold`]), the jieba-rs lexicon and how plausible a run of
//! characters is as Chinese ([`lexicon`]), Mandarin readings ([`reading`]), and the words of
//! the 公文 format — document types, organisation endings, numerals, measure words
//! ([`vocab`]).
//!
//! Everything here is loaded once per process and is read-only afterwards; this module
//! depends on no other of the crate.

pub mod fold;
pub mod issuers;
pub mod lexicon;
pub mod reading;
pub mod vocab;
