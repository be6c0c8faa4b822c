//! Export: every document a query and filters match, streamed one row at a time as CSV or
//! JSON Lines, in index order, with the exact total known before the first row.
//!
//! Memory stays constant whatever the count: the matching documents are walked segment by
//! segment with the query's scorer, each row written as soon as its document is read (no
//! ranking, no page). The whole export reads one searcher, so a reload meanwhile changes
//! nothing in it.
//!
//! CSV is UTF-8 with a byte-order mark (Excel on Chinese Windows reads UTF-8 only with it),
//! a header row of the field names, lists joined with `；`.

use std::io::Write;
use std::str::FromStr;

use serde_json::{Map, Value};
use tantivy::collector::Count;
use tantivy::query::EnableScoring;
use tantivy::schema::Value as _;
use tantivy::{DocSet, TERMINATED, TantivyDocument};

use super::{SearchError, SearchRequest};
use crate::index::SearchIndex;

/// How rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "csv" => Ok(Format::Csv),
            "jsonl" => Ok(Format::Jsonl),
            other => Err(format!(
                "`{other}` is not an export format: use csv or jsonl"
            )),
        }
    }
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/x-ndjson; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

/// The fields a row may hold: the document's own (by their JSON names), and what the
/// archive's relations add.
pub const FIELDS: &[&str] = &[
    "id",
    "title",
    "issuers",
    "doc_number",
    "date",
    "doc_type",
    "subject_words",
    "recipients",
    "cc",
    "print_date",
    "copies",
    "cited_doc_numbers",
    "valid_until",
    "status",
    "cited_by_count",
    "versions_total",
    "text",
];

/// The fields of a row when the request names none.
pub const DEFAULT_FIELDS: &[&str] = &[
    "id",
    "title",
    "issuers",
    "doc_number",
    "date",
    "doc_type",
    "subject_words",
    "status",
    "cited_by_count",
];

/// The fields of `list` (comma-separated names; empty for the default ones).
pub fn parse_fields(list: &str) -> Result<Vec<&'static str>, String> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let field = FIELDS.iter().find(|f| **f == name).ok_or_else(|| {
            format!(
                "`{name}` is not an export field: use {} (comma-separated)",
                FIELDS.join(", ")
            )
        })?;
        if !out.contains(field) {
            out.push(*field);
        }
    }
    if out.is_empty() {
        out.extend_from_slice(DEFAULT_FIELDS);
    }
    Ok(out)
}

/// An export about to be written: its searcher, query and total.
pub struct Export<'a> {
    index: &'a SearchIndex,
    searcher: tantivy::Searcher,
    relations: std::sync::Arc<crate::index::relations::Relations>,
    query: Box<dyn tantivy::query::Query>,
    fields: Vec<&'static str>,
    format: Format,
    /// The exact number of rows [`Export::write`] writes.
    pub total: usize,
}

/// Prepares the export of what `request` (its query and filters) matches.
pub fn prepare<'a>(
    index: &'a SearchIndex,
    request: &SearchRequest,
    fields: Vec<&'static str>,
    format: Format,
) -> Result<Export<'a>, SearchError> {
    let searcher = index.searcher();
    let relations = index.relations(&searcher)?;
    let built = super::prepare(index, request, &relations)?;
    let total = searcher.search(&*built.query, &Count)?;
    Ok(Export {
        index,
        searcher,
        relations,
        query: built.query,
        fields,
        format,
        total,
    })
}

impl Export<'_> {
    /// Writes the header (CSV) and every row to `out`; returns the rows written. Stops, with
    /// [`ExportError::Abandoned`], at the first row after `abandoned` says nobody reads.
    pub fn write(
        &self,
        out: &mut dyn Write,
        abandoned: &dyn Fn() -> bool,
    ) -> Result<usize, ExportError> {
        let written = match self.format {
            Format::Csv => {
                out.write_all("\u{feff}".as_bytes())?;
                let mut writer = csv::Writer::from_writer(&mut *out);
                writer.write_record(&self.fields)?;
                let written = self.each_row(abandoned, |row| {
                    writer.write_record(row.iter().map(cell))?;
                    Ok(())
                })?;
                writer.flush()?;
                written
            }
            Format::Jsonl => self.each_row(abandoned, |row| {
                let object: Map<String, Value> =
                    self.fields.iter().map(|f| f.to_string()).zip(row).collect();
                serde_json::to_writer(&mut *out, &object)?;
                out.write_all(b"\n")?;
                Ok(())
            })?,
        };
        out.flush()?;
        Ok(written)
    }

    /// Calls `write` with the row of every matching live document, segment by segment.
    fn each_row(
        &self,
        abandoned: &dyn Fn() -> bool,
        mut write: impl FnMut(Vec<Value>) -> Result<(), ExportError>,
    ) -> Result<usize, ExportError> {
        let weight = self
            .query
            .weight(EnableScoring::disabled_from_searcher(&self.searcher))?;
        let mut written = 0;
        for (ord, reader) in self.searcher.segment_readers().iter().enumerate() {
            let mut scorer = weight.scorer(reader, 1.0)?;
            let store = reader.get_store_reader(1)?;
            let segment = reader.segment_id();
            let mut doc = scorer.doc();
            while doc != TERMINATED {
                if abandoned() {
                    return Err(ExportError::Abandoned);
                }
                if !reader.is_deleted(doc) {
                    let stored: TantivyDocument = store.get(doc)?;
                    write(self.row(&stored, segment, doc, ord)?)?;
                    written += 1;
                }
                doc = scorer.advance();
            }
        }
        Ok(written)
    }

    /// The values of the row of one stored document, in field order.
    fn row(
        &self,
        stored: &TantivyDocument,
        segment: tantivy::index::SegmentId,
        doc: tantivy::DocId,
        ord: usize,
    ) -> Result<Vec<Value>, ExportError> {
        let document = self.index.stored_document(stored)?;
        let summary = self.relations.summary(segment, doc).ok_or_else(|| {
            ExportError::Corrupt(format!(
                "document {} of segment {ord} has no relations",
                document.id
            ))
        })?;
        let json = serde_json::to_value(&document)?;
        let text = stored
            .get_first(self.index.fields().text)
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        Ok(self
            .fields
            .iter()
            .map(|field| match *field {
                "status" => Value::from(summary.status.name()),
                "cited_by_count" => Value::from(summary.cited_by_count),
                "versions_total" => Value::from(summary.versions_total),
                "text" => Value::from(text),
                other => json.get(other).cloned().unwrap_or(Value::Null),
            })
            .collect())
    }
}

/// One CSV cell: a string as is, a list joined with `；`, null empty.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join("；"),
        other => other.to_string(),
    }
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing the export failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing a CSV row failed: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing a JSON row failed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
    #[error("stored document is corrupt: {0}")]
    Corrupt(String),
    #[error("the reader of the export went away")]
    Abandoned,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_parse_with_defaults_and_a_named_error() {
        assert_eq!(parse_fields("").unwrap(), DEFAULT_FIELDS);
        assert_eq!(parse_fields("id, title,id").unwrap(), ["id", "title"]);
        let error = parse_fields("id,body").unwrap_err();
        assert!(error.contains("`body`"), "{error}");
        assert!(
            "xml"
                .parse::<Format>()
                .unwrap_err()
                .contains("csv or jsonl")
        );
    }

    #[test]
    fn cells_join_lists_and_leave_nulls_empty() {
        assert_eq!(cell(&serde_json::json!(["甲", "乙"])), "甲；乙");
        assert_eq!(cell(&Value::Null), "");
        assert_eq!(cell(&serde_json::json!(3)), "3");
    }
}
