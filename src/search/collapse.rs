//! `collapse=versions`: of each regulation's matching versions, only the newest, collected
//! with one entry per regulation (never a ranking of every match).

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::index::relations::{Relations, SegmentSlot};
use crate::model::IsoDate;

/// The newest matching version of a regulation.
#[derive(Debug, Clone, Copy)]
pub struct Newest {
    pub address: DocAddress,
    pub date: Option<IsoDate>,
    pub score: Score,
}

impl Newest {
    /// Whether `self` is newer than `other` (the later date; on a tie, the later address, so
    /// the choice does not depend on the order segments are collected in).
    fn newer_than(&self, other: &Newest) -> bool {
        (self.date, self.address) > (other.date, other.address)
    }
}

/// Per version group, the newest matching version.
pub struct Collapse {
    pub relations: Arc<Relations>,
}

pub struct SegmentCollapse {
    relations: Arc<Relations>,
    slot: Option<SegmentSlot>,
    segment_ord: SegmentOrdinal,
    newest: HashMap<u32, Newest>,
}

fn keep(into: &mut HashMap<u32, Newest>, group: u32, candidate: Newest) {
    match into.get_mut(&group) {
        Some(kept) if !candidate.newer_than(kept) => {}
        Some(kept) => *kept = candidate,
        None => {
            into.insert(group, candidate);
        }
    }
}

impl Collector for Collapse {
    type Fruit = HashMap<u32, Newest>;
    type Child = SegmentCollapse;

    fn for_segment(
        &self,
        segment_ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentCollapse> {
        Ok(SegmentCollapse {
            relations: self.relations.clone(),
            slot: self.relations.segment(reader.segment_id()),
            segment_ord,
            newest: HashMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let mut merged = HashMap::new();
        for fruit in fruits {
            for (group, newest) in fruit {
                keep(&mut merged, group, newest);
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for SegmentCollapse {
    type Fruit = HashMap<u32, Newest>;

    fn collect(&mut self, doc: DocId, score: Score) {
        let Some((group, date)) = self
            .slot
            .and_then(|slot| self.relations.version_group(slot, doc))
        else {
            return;
        };
        let address = DocAddress::new(self.segment_ord, doc);
        keep(
            &mut self.newest,
            group,
            Newest {
                address,
                date,
                score,
            },
        );
    }

    fn harvest(self) -> Self::Fruit {
        self.newest
    }
}
