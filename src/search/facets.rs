//! Facet counts over the matching documents, from the facet fields' ordinals.
//!
//! A segment stores each document's facet values as ordinals into the segment's sorted
//! dictionary of values. Counting is an array increment per value of each matching document;
//! the names of the ordinals come from a table read once per segment and field
//! ([`FacetNames`]), never per query, and only the values with a count are named. tantivy's
//! `FacetCollector` instead walks the whole dictionary of every segment for every query,
//! which grows with the number of distinct issuers.
//!
//! Issuers are counted by entity ([`Entities`]): each ordinal maps to its entity's canonical
//! name (a map made once per segment, like the names), and a document that prints two forms
//! of one entity counts once. Validity status is
//! counted from the archive's relations ([`StatusCounts`]).

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::fastfield::FacetReader;
use tantivy::schema::Field;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::index::FacetNames;
use crate::index::facet_names::Grouped;
use crate::index::relations::{Relations, SegmentSlot, Status};
use crate::lang::issuers::Entities;

/// Counts the values of some facet fields over the documents collected.
pub struct FacetCounts<'a> {
    /// The fields, with their names in the schema, and whether values group by issuer entity.
    pub fields: Vec<(Field, String, bool)>,
    pub names: &'a FacetNames,
}

/// Per field, the count of each value.
pub type Counts = Vec<HashMap<String, u64>>;

pub struct SegmentCounts {
    readers: Vec<Arc<FacetReader>>,
    counts: Vec<Vec<u32>>,
    /// Per field, what each ordinal counts under: itself, or its entity's slot.
    groups: Vec<Option<Arc<Grouped>>>,
    tables: Vec<Arc<Vec<String>>>,
    /// The slots one document has counted already (grouped fields).
    seen: Vec<u32>,
}

impl Collector for FacetCounts<'_> {
    type Fruit = Counts;
    type Child = SegmentCounts;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentCounts> {
        let mut readers = Vec::new();
        let mut tables = Vec::new();
        let mut groups = Vec::new();
        for (field, name, by_entity) in &self.fields {
            let facets = self.names.reader(reader, *field, name)?;
            if *by_entity {
                let grouped = self.names.grouped(reader, *field, &facets, entity_slots)?;
                tables.push(Arc::clone(&grouped.1));
                groups.push(Some(grouped));
            } else {
                groups.push(None);
                tables.push(self.names.table(reader, *field, &facets)?);
            }
            readers.push(facets);
        }
        let counts = tables.iter().map(|t| vec![0u32; t.len()]).collect();
        Ok(SegmentCounts {
            readers,
            counts,
            groups,
            tables,
            seen: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counts>) -> tantivy::Result<Counts> {
        let mut merged: Counts = vec![HashMap::new(); self.fields.len()];
        for fruit in fruits {
            for (into, from) in merged.iter_mut().zip(fruit) {
                if into.is_empty() {
                    *into = from;
                    continue;
                }
                for (value, count) in from {
                    *into.entry(value).or_insert(0) += count;
                }
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for SegmentCounts {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _: Score) {
        for ((facets, counts), group) in self.readers.iter().zip(&mut self.counts).zip(&self.groups)
        {
            match group {
                None => {
                    for ord in facets.facet_ords(doc) {
                        if let Some(count) = counts.get_mut(ord as usize) {
                            *count += 1;
                        }
                    }
                }
                Some(grouped) => {
                    self.seen.clear();
                    for ord in facets.facet_ords(doc) {
                        if let Some(slot) = grouped.0.get(ord as usize)
                            && !self.seen.contains(slot)
                        {
                            self.seen.push(*slot);
                            counts[*slot as usize] += 1;
                        }
                    }
                }
            }
        }
    }

    fn harvest(self) -> Counts {
        self.counts
            .iter()
            .zip(&self.tables)
            .map(|(counts, table)| {
                counts
                    .iter()
                    .zip(table.iter())
                    .filter(|(count, _)| **count > 0)
                    .map(|(count, name)| (name.clone(), u64::from(*count)))
                    .collect()
            })
            .collect()
    }
}

/// Each ordinal's slot under its entity's canonical name, and the slots' names.
fn entity_slots(table: &[String]) -> Grouped {
    let entities = Entities::bundled();
    let mut names: Vec<String> = Vec::new();
    let mut slot_of: HashMap<String, u32> = HashMap::new();
    let slots = table
        .iter()
        .map(|value| {
            let name = entities.canonical(value);
            *slot_of.entry(name.clone()).or_insert_with(|| {
                names.push(name);
                names.len() as u32 - 1
            })
        })
        .collect();
    (slots, Arc::new(names))
}

/// Counts the validity status of the documents collected.
pub struct StatusCounts {
    pub relations: Arc<Relations>,
}

pub struct SegmentStatusCounts {
    relations: Arc<Relations>,
    segment: Option<SegmentSlot>,
    counts: [u64; 4],
}

impl Collector for StatusCounts {
    type Fruit = [u64; 4];
    type Child = SegmentStatusCounts;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentStatusCounts> {
        Ok(SegmentStatusCounts {
            relations: self.relations.clone(),
            segment: self.relations.segment(reader.segment_id()),
            counts: [0; 4],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<[u64; 4]>) -> tantivy::Result<[u64; 4]> {
        let mut merged = [0; 4];
        for fruit in fruits {
            for (into, from) in merged.iter_mut().zip(fruit) {
                *into += from;
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for SegmentStatusCounts {
    type Fruit = [u64; 4];

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(status) = self
            .segment
            .and_then(|slot| self.relations.status_at(slot, doc))
        {
            let slot = Status::ALL.iter().position(|s| *s == status).unwrap_or(0);
            self.counts[slot] += 1;
        }
    }

    fn harvest(self) -> [u64; 4] {
        self.counts
    }
}
