//! The index schema, declared in `index-schema/schema.json` and built into a tantivy
//! [`Schema`] here. The file is the single source of truth: the fields the code uses are looked
//! up in it by name ([`Fields`]), and a missing one is an error when the index is opened, not
//! a silent empty field.

use serde::Deserialize;
use tantivy::schema::{
    DateOptions, DateTimePrecision, FacetOptions, Field, IndexRecordOption, NumericOptions, Schema,
    TextFieldIndexing, TextOptions,
};

/// The declared schema, compiled into the binary.
pub const SCHEMA_JSON: &str = include_str!("../../index-schema/schema.json");

/// The parsed declaration.
#[derive(Debug, Clone, Deserialize)]
pub struct SchemaSpec {
    pub name: String,
    pub version: u32,
    pub fields: Vec<FieldSpec>,
}

/// One declared field.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    #[serde(default)]
    pub tokenizer: Option<String>,
    #[serde(default)]
    pub record: Record,
    #[serde(default)]
    pub stored: bool,
    #[serde(default)]
    pub fast: bool,
    #[serde(default = "indexed_by_default")]
    pub indexed: bool,
    #[serde(default)]
    pub description: String,
}

fn indexed_by_default() -> bool {
    true
}

/// What the postings of a text field keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    /// Which documents hold the term.
    #[default]
    Basic,
    /// And how often (BM25 needs it).
    Freqs,
    /// And where (phrases need it).
    Positions,
}

/// The field types the declaration may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    I64,
    Date,
    Facet,
}

/// Why the declaration could not be turned into a schema.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The JSON does not parse.
    #[error("index-schema/schema.json is not valid: {0}")]
    Invalid(#[from] serde_json::Error),
    /// A field the code needs is not declared.
    #[error("index-schema/schema.json does not declare the field `{0}`")]
    Missing(String),
}

/// `options` with the declared indexed / stored / fast flags set (numeric and date options
/// share these methods but no trait).
macro_rules! with_flags {
    ($options:expr, $field:expr) => {{
        let mut options = $options;
        if $field.indexed {
            options = options.set_indexed();
        }
        if $field.stored {
            options = options.set_stored();
        }
        if $field.fast {
            options = options.set_fast();
        }
        options
    }};
}

impl SchemaSpec {
    /// The declaration compiled into this binary.
    pub fn bundled() -> Result<SchemaSpec, SchemaError> {
        Ok(serde_json::from_str(SCHEMA_JSON)?)
    }

    /// The tantivy schema the declaration describes.
    pub fn build(&self) -> Schema {
        let mut builder = Schema::builder();
        for field in &self.fields {
            match field.kind {
                FieldKind::Text => {
                    let mut options = TextOptions::default();
                    if field.indexed {
                        let tokenizer = field.tokenizer.as_deref().unwrap_or("raw");
                        let record = match field.record {
                            Record::Basic => IndexRecordOption::Basic,
                            Record::Freqs => IndexRecordOption::WithFreqs,
                            Record::Positions => IndexRecordOption::WithFreqsAndPositions,
                        };
                        options = options.set_indexing_options(
                            TextFieldIndexing::default()
                                .set_tokenizer(tokenizer)
                                .set_index_option(record),
                        );
                    }
                    if field.stored {
                        options = options.set_stored();
                    }
                    if field.fast {
                        options = options.set_fast("raw");
                    }
                    builder.add_text_field(&field.name, options);
                }
                FieldKind::I64 => {
                    let options = with_flags!(NumericOptions::default(), field);
                    builder.add_i64_field(&field.name, options);
                }
                FieldKind::Date => {
                    let options = DateOptions::default().set_precision(DateTimePrecision::Seconds);
                    builder.add_date_field(&field.name, with_flags!(options, field));
                }
                FieldKind::Facet => {
                    builder.add_facet_field(&field.name, FacetOptions::default());
                }
            }
        }
        builder.build()
    }
}

/// Handles of the fields the code reads and writes.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub title: Field,
    pub title_chars: Field,
    pub title_grams: Field,
    pub body: Field,
    pub body_chars: Field,
    pub body_grams: Field,
    pub issuer: Field,
    pub doc_number: Field,
    pub doc_number_prefix: Field,
    pub doc_number_year: Field,
    pub doc_number_seq: Field,
    pub date: Field,
    pub print_date: Field,
    pub date_days: Field,
    pub year: Field,
    pub doc_type: Field,
    pub subject: Field,
    pub recipients: Field,
    pub cc: Field,
    pub cited_doc_numbers: Field,
    pub cited_titles: Field,
    pub source_sha256: Field,
    pub file_complete: Field,
    pub source_section: Field,
    pub encoding: Field,
    pub issuer_facet: Field,
    pub year_facet: Field,
    pub doc_type_facet: Field,
    pub subject_facet: Field,
    pub document: Field,
    pub text: Field,
}

impl Fields {
    /// Looks every field up in `schema`.
    pub fn from_schema(schema: &Schema) -> Result<Fields, SchemaError> {
        let f = |name: &str| {
            schema
                .get_field(name)
                .map_err(|_| SchemaError::Missing(name.to_string()))
        };
        Ok(Fields {
            id: f("id")?,
            title: f("title")?,
            title_chars: f("title_chars")?,
            title_grams: f("title_grams")?,
            body: f("body")?,
            body_chars: f("body_chars")?,
            body_grams: f("body_grams")?,
            issuer: f("issuer")?,
            doc_number: f("doc_number")?,
            doc_number_prefix: f("doc_number_prefix")?,
            doc_number_year: f("doc_number_year")?,
            doc_number_seq: f("doc_number_seq")?,
            date: f("date")?,
            print_date: f("print_date")?,
            date_days: f("date_days")?,
            year: f("year")?,
            doc_type: f("doc_type")?,
            subject: f("subject")?,
            recipients: f("recipients")?,
            cc: f("cc")?,
            cited_doc_numbers: f("cited_doc_numbers")?,
            cited_titles: f("cited_titles")?,
            source_sha256: f("source_sha256")?,
            file_complete: f("file_complete")?,
            source_section: f("source_section")?,
            encoding: f("encoding")?,
            issuer_facet: f("issuer_facet")?,
            year_facet: f("year_facet")?,
            doc_type_facet: f("doc_type_facet")?,
            subject_facet: f("subject_facet")?,
            document: f("document")?,
            text: f("text")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_declaration_builds_and_has_every_field() {
        let spec = SchemaSpec::bundled().expect("valid JSON");
        assert_eq!(spec.name, "gongwen");
        let schema = spec.build();
        Fields::from_schema(&schema).expect("every field declared");
        assert!(spec.fields.iter().all(|f| !f.description.is_empty()));
    }
}
