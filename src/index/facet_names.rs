//! The names of facet ordinals, per segment: what the facet counts of a search look values
//! up in (see [`crate::search`]). A segment never changes, so its table is read once, and
//! forgotten when a merge removes the segment; so are the open readers of the ordinals.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::fastfield::FacetReader;
use tantivy::index::SegmentId;
use tantivy::schema::{Facet, Field};
use tantivy::{Searcher, SegmentReader};

/// Name tables by segment and field.
type Tables = HashMap<(SegmentId, Field), Arc<Vec<String>>>;

/// Ordinals grouped under fewer names: each ordinal's group, and the groups' names (shared
/// with every query that counts them).
pub type Grouped = (Vec<u32>, Arc<Vec<String>>);

/// Per segment and field, the name of each facet ordinal (and, for a field counted in groups,
/// each ordinal's group).
#[derive(Default)]
pub struct FacetNames {
    tables: Mutex<Tables>,
    grouped: Mutex<HashMap<(SegmentId, Field), Arc<Grouped>>>,
    /// The open readers of the fields' ordinals (opening one reads the column's dictionary
    /// and index: done for every query and segment, a quarter of the facets' instructions).
    readers: Mutex<HashMap<(SegmentId, Field), Arc<FacetReader>>>,
}

impl FacetNames {
    /// The reader of the ordinals of `field` (named `name` in the schema) in the segment of
    /// `reader`, opened once.
    pub fn reader(
        &self,
        reader: &SegmentReader,
        field: Field,
        name: &str,
    ) -> tantivy::Result<Arc<FacetReader>> {
        let key = (reader.segment_id(), field);
        let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = readers.get(&key) {
            return Ok(Arc::clone(open));
        }
        let open = Arc::new(reader.facet_reader(name)?);
        readers.insert(key, Arc::clone(&open));
        Ok(open)
    }

    /// The names of the ordinals of `facets`, `field`'s values in the segment of `reader`,
    /// read once.
    pub fn table(
        &self,
        reader: &SegmentReader,
        field: Field,
        facets: &FacetReader,
    ) -> tantivy::Result<Arc<Vec<String>>> {
        let key = (reader.segment_id(), field);
        if let Some(table) = self.lock().get(&key) {
            return Ok(Arc::clone(table));
        }
        let mut table = Vec::with_capacity(facets.num_facets());
        let mut stream = facets.facet_dict().stream()?;
        while stream.advance() {
            let facet = Facet::from_encoded(stream.key().to_vec())
                .map_err(|e| tantivy::TantivyError::InternalError(e.to_string()))?;
            table.push(
                facet
                    .to_path()
                    .last()
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
            );
        }
        let table = Arc::new(table);
        self.lock().insert(key, Arc::clone(&table));
        Ok(table)
    }

    /// The ordinals of `field` in the segment of `reader` grouped by `group` (from their
    /// names), computed once per segment.
    pub fn grouped(
        &self,
        reader: &SegmentReader,
        field: Field,
        facets: &FacetReader,
        group: fn(&[String]) -> Grouped,
    ) -> tantivy::Result<Arc<Grouped>> {
        let key = (reader.segment_id(), field);
        let cached = self
            .grouped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        if let Some(grouped) = cached {
            return Ok(grouped);
        }
        let grouped = Arc::new(group(&self.table(reader, field, facets)?));
        self.grouped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, Arc::clone(&grouped));
        Ok(grouped)
    }

    /// Forgets the tables of segments `searcher` no longer has (merged away).
    pub fn retain_segments_of(&self, searcher: &Searcher) {
        let live = super::segments_read(searcher);
        self.lock().retain(|(segment, _), _| live.contains(segment));
        self.grouped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(segment, _), _| live.contains(segment));
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(segment, _), _| live.contains(segment));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }
}
