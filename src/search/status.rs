//! `status:` and the `status` filter: the documents the archive's relations give a status,
//! as a query (the set of each segment, scored by nothing).

use std::fmt;
use std::sync::Arc;

use tantivy::query::{
    BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::{DocId, Score, SegmentReader};

use crate::index::relations::{Relations, Status};

/// The documents with `status` in `relations` (those of the searcher the query runs on).
#[derive(Clone)]
pub struct StatusQuery {
    relations: Arc<Relations>,
    status: Status,
}

impl StatusQuery {
    pub fn new(relations: Arc<Relations>, status: Status) -> StatusQuery {
        StatusQuery { relations, status }
    }
}

impl fmt::Debug for StatusQuery {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "StatusQuery({})", self.status.name())
    }
}

impl Query for StatusQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for StatusQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let set = self
            .relations
            .with_status(reader.segment_id(), reader.max_doc(), self.status);
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(set), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let set = self
            .relations
            .with_status(reader.segment_id(), reader.max_doc(), self.status);
        if !set.contains(doc) {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not have status {}",
                self.status.name()
            )));
        }
        Ok(Explanation::new("status", 1.0))
    }
}
