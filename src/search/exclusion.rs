//! A query for the `MustNot` side of a boolean query that never asks its scorer to seek
//! backwards.
//!
//! tantivy 0.27's exclusion asks the excluded scorer whether each candidate matches with
//! `seek_danger`, in increasing order. A phrase scorer that has run past its last match in a
//! segment (its `doc()` is `TERMINATED`) is then asked about a lower target, which its debug
//! assertions refuse (quickwit-oss/tantivy#2811): `NOT "…"` over an index of several
//! segments aborts a debug build. [`Excluded`] remembers the lower bound its scorer last
//! answered and answers targets below it itself.

use std::fmt;

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SeekDangerResult, SegmentReader};

/// `query`, for excluding documents only: it scores nothing.
pub struct Excluded(Box<dyn Query>);

impl Excluded {
    pub fn new(query: Box<dyn Query>) -> Excluded {
        Excluded(query)
    }
}

impl Clone for Excluded {
    fn clone(&self) -> Self {
        Excluded(self.0.box_clone())
    }
}

impl fmt::Debug for Excluded {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Excluded({:?})", self.0)
    }
}

impl Query for Excluded {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let inner = self.0.weight(enable_scoring)?;
        Ok(Box::new(ExcludedWeight(inner)))
    }
}

struct ExcludedWeight(Box<dyn Weight>);

impl Weight for ExcludedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let inner = self.0.scorer(reader, boost)?;
        let lower_bound = inner.doc();
        Ok(Box::new(Forward { inner, lower_bound }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }
}

/// A scorer that only moves forward.
struct Forward {
    inner: Box<dyn Scorer>,
    /// No document below this one matches (what the inner scorer last said).
    lower_bound: DocId,
}

impl DocSet for Forward {
    fn advance(&mut self) -> DocId {
        let doc = self.inner.advance();
        self.lower_bound = doc;
        doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if target <= self.lower_bound {
            return self.lower_bound;
        }
        let doc = self.inner.seek(target);
        self.lower_bound = doc;
        doc
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        if target < self.lower_bound {
            return SeekDangerResult::SeekLowerBound(self.lower_bound);
        }
        let result = self.inner.seek_danger(target);
        self.lower_bound = match result {
            SeekDangerResult::Found => target,
            SeekDangerResult::SeekLowerBound(bound) => bound,
        };
        result
    }

    fn doc(&self) -> DocId {
        self.inner.doc()
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }
}

impl Scorer for Forward {
    fn score(&mut self) -> Score {
        0.0
    }
}
