//! Facet counts over the matching documents, from the facet fields' ordinals.
//!
//! A segment stores each document's facet values as ordinals into the segment's sorted
//! dictionary of values. Counting is an array increment per value of each matching document;
//! the names of the ordinals come from a table read once per segment and field
//! ([`FacetNames`]), never per query, and only the values with a count are named. tantivy's
//! `FacetCollector` instead walks the whole dictionary of every segment for every query,
//! which grows with the number of distinct issuers.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::fastfield::FacetReader;
use tantivy::schema::Field;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::index::FacetNames;

/// Counts the values of some facet fields over the documents collected.
pub struct FacetCounts<'a> {
    /// The fields, with their names in the schema.
    pub fields: Vec<(Field, String)>,
    pub names: &'a FacetNames,
}

/// Per field, the count of each value.
pub type Counts = Vec<HashMap<String, u64>>;

pub struct SegmentCounts {
    readers: Vec<FacetReader>,
    counts: Vec<Vec<u32>>,
    tables: Vec<Arc<Vec<String>>>,
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
        for (field, name) in &self.fields {
            let facets = reader.facet_reader(name)?;
            tables.push(self.names.table(reader, *field, &facets)?);
            readers.push(facets);
        }
        let counts = tables.iter().map(|t| vec![0u32; t.len()]).collect();
        Ok(SegmentCounts {
            readers,
            counts,
            tables,
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
        for (facets, counts) in self.readers.iter().zip(&mut self.counts) {
            for ord in facets.facet_ords(doc) {
                if let Some(count) = counts.get_mut(ord as usize) {
                    *count += 1;
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
