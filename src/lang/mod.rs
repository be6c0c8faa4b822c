//! Language resources shared by ingestion and analysis: traditional → simplified and width
//! folding ([`fold`]), the jieba-rs lexicon and a character-plausibility measure ([`lexicon`]),
//! and Mandarin readings ([`reading`]).
//!
//! Everything here is loaded once per process and is read-only afterwards.

pub mod fold;
pub mod lexicon;
pub mod reading;
