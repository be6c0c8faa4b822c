//! Stored values read straight from the doc store's bytes, for the hits of a search.
//!
//! tantivy's `Searcher::doc` turns every stored value of a document into an owned `String`,
//! checking that it is UTF-8: for a hit that shows a few metadata fields and a window of 120
//! characters, the whole text (10–20 KB) and the whole document JSON were copied and checked
//! (a profile of searches under load: 17% of the server in reading stored documents, most of
//! it `from_utf8` and copies). [`StoredValues`] finds the values in the decompressed bytes a
//! store reader returns and lends them as byte slices; the caller checks what it shows.
//!
//! The layout read is tantivy's binary document (doc store version 2, tantivy 0.22 onwards):
//! a VInt count of values, then per value its field (u32, little-endian), a type code (u8)
//! and the value (text: a VInt length and the bytes; a 64-bit number: 8 bytes). Only the value
//! types gongwen stores are read, anything else is an error, and a test compares what is read
//! here with tantivy's own deserialisation.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use tantivy::directory::OwnedBytes;
use tantivy::index::SegmentId;
use tantivy::schema::Field;
use tantivy::store::StoreReader;
use tantivy::{DocAddress, Searcher, SegmentReader};

use super::IndexError;

/// tantivy's type codes of the stored values gongwen writes.
const TEXT_CODE: u8 = 0;
const U64_CODE: u8 = 1;
const I64_CODE: u8 = 2;

/// Decompressed store blocks each segment's reader keeps (as many as tantivy's searcher
/// keeps for its own).
const CACHED_BLOCKS: usize = 100;

/// The stored values of one document.
pub struct StoredValues {
    bytes: OwnedBytes,
    texts: Vec<(Field, Range<usize>)>,
}

impl StoredValues {
    /// Reads the values of the serialised document `bytes`.
    fn parse(bytes: OwnedBytes) -> Result<StoredValues, IndexError> {
        let corrupt = |what: &str| IndexError::Corrupt(format!("stored values: {what}"));
        let data = bytes.as_slice();
        let mut at = 0;
        let count = vint(data, &mut at).ok_or_else(|| corrupt("no value count"))?;
        let mut texts = Vec::new();
        for _ in 0..count {
            let header = data
                .get(at..at + 5)
                .ok_or_else(|| corrupt("a value is cut short"))?;
            let field = Field::from_field_id(u32::from_le_bytes([
                header[0], header[1], header[2], header[3],
            ]));
            at += 5;
            match header[4] {
                TEXT_CODE => {
                    let len = vint(data, &mut at).ok_or_else(|| corrupt("no text length"))?;
                    let end = usize::try_from(len)
                        .ok()
                        .and_then(|len| at.checked_add(len))
                        .filter(|&end| end <= data.len())
                        .ok_or_else(|| corrupt("a text runs past the document"))?;
                    texts.push((field, at..end));
                    at = end;
                }
                U64_CODE | I64_CODE if at + 8 <= data.len() => at += 8,
                code => return Err(corrupt(&format!("value type {code} is not read here"))),
            }
        }
        Ok(StoredValues { bytes, texts })
    }

    /// The bytes of the first text value of `field`.
    pub fn text(&self, field: Field) -> Option<&[u8]> {
        self.range(field).map(|range| &self.bytes.as_slice()[range])
    }

    /// The bytes of the first text value of `field`, owned (they share the block's buffer).
    pub fn into_text(self, field: Field) -> Option<OwnedBytes> {
        self.range(field).map(|range| self.bytes.slice(range))
    }

    fn range(&self, field: Field) -> Option<Range<usize>> {
        self.texts
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, range)| range.clone())
    }
}

/// A VInt as tantivy writes it (7 bits a byte, low first, the last byte's high bit set).
fn vint(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 != 0 {
            return Some(value);
        }
    }
    None
}

/// A store reader per segment, opened once (the searcher's own are not reachable for raw
/// bytes), forgotten when a merge removes the segment.
#[derive(Default)]
pub struct StoreReaders {
    readers: Mutex<HashMap<SegmentId, Arc<StoreReader>>>,
}

impl StoreReaders {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, Arc<StoreReader>>> {
        self.readers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reader(&self, segment: &SegmentReader) -> Result<Arc<StoreReader>, IndexError> {
        let id = segment.segment_id();
        if let Some(reader) = self.lock().get(&id) {
            return Ok(Arc::clone(reader));
        }
        let reader = Arc::new(
            segment
                .get_store_reader(CACHED_BLOCKS)
                .map_err(|e| IndexError::Tantivy(e.into()))?,
        );
        self.lock().insert(id, Arc::clone(&reader));
        Ok(reader)
    }

    /// The stored values of the document at `address`.
    pub fn values(
        &self,
        searcher: &Searcher,
        address: DocAddress,
    ) -> Result<StoredValues, IndexError> {
        let reader = self.reader(searcher.segment_reader(address.segment_ord))?;
        StoredValues::parse(reader.get_document_bytes(address.doc_id)?)
    }

    /// Forgets the readers of segments `searcher` no longer has.
    pub fn retain_segments_of(&self, searcher: &Searcher) {
        let live = super::segments_read(searcher);
        self.lock().retain(|id, _| live.contains(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::{STORED, Schema, TEXT, Value};
    use tantivy::{Index, TantivyDocument, doc};

    #[test]
    fn values_read_from_bytes_are_what_tantivy_deserialises() {
        let mut builder = Schema::builder();
        let id = builder.add_text_field("id", TEXT | STORED);
        let section = builder.add_i64_field("section", STORED);
        let count = builder.add_u64_field("count", STORED);
        let text = builder.add_text_field("text", STORED);
        let index = Index::create_in_ram(builder.build());
        let mut writer: tantivy::IndexWriter = index.writer(15_000_000).expect("writer");
        let long = "关于做好拥军优属工作的通知。".repeat(2_000);
        let texts = ["", "a", &"x".repeat(127), &"y".repeat(128), &long];
        for (n, body) in texts.iter().enumerate() {
            writer
                .add_document(doc!(
                    id => format!("doc-{n}"),
                    section => -(n as i64) * 1_000_000,
                    count => u64::MAX - n as u64,
                    text => *body,
                ))
                .expect("add");
        }
        writer.commit().expect("commit");
        let searcher = index.reader().expect("reader").searcher();
        let readers = StoreReaders::default();
        let mut seen = 0;
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            for doc_id in 0..segment.max_doc() {
                let address = DocAddress::new(ord as u32, doc_id);
                let expected: TantivyDocument = searcher.doc(address).expect("doc");
                let values = readers.values(&searcher, address).expect("values");
                for field in [id, text] {
                    let want = expected.get_first(field).and_then(|v| v.as_str());
                    let got = values
                        .text(field)
                        .map(|b| std::str::from_utf8(b).expect("utf-8"));
                    assert_eq!(got, want);
                }
                seen += 1;
            }
        }
        assert_eq!(seen, texts.len());
    }

    #[test]
    fn bytes_cut_short_are_an_error_not_a_panic() {
        let whole: Vec<u8> = vec![0x81, 1, 0, 0, 0, TEXT_CODE, 0x83, b'a', b'b', b'c'];
        let values = StoredValues::parse(OwnedBytes::new(whole.clone())).expect("whole");
        assert_eq!(values.text(Field::from_field_id(1)), Some(&b"abc"[..]));
        for cut in 0..whole.len() {
            let bytes = OwnedBytes::new(whole[..cut].to_vec());
            assert!(StoredValues::parse(bytes).is_err(), "cut at {cut}");
        }
        let unknown = vec![0x81, 1, 0, 0, 0, 9, 1];
        assert!(StoredValues::parse(OwnedBytes::new(unknown)).is_err());
    }
}
